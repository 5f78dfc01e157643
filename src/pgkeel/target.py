"""Which database a command works on: the configured one, or the local cluster.

When no database is configured (no ``--database-url``, ``DATABASE_URL``, ``.env`` or
``pgkeel.toml`` entry), pgkeel uses the project's local cluster (``.pgkeel/``) and
starts it on demand, telling the caller through ``notify`` so the CLI can say so on
stderr.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgkeel.cluster import Cluster
    from pgkeel.config import Settings

__all__ = ["database_url", "local_cluster"]


def local_cluster(settings: Settings) -> Cluster:
    """Return the project's local cluster (it may not exist or run yet)."""
    # Imported here: a command given a database URL never needs the cluster code.
    from pgkeel.cluster import Cluster

    return Cluster(settings.resolve(settings.cluster_dir), postgres_bin=settings.postgres_bin)


def database_url(settings: Settings, notify: Callable[[str], None] | None = None) -> str:
    """Return the URL to work on, starting the local cluster when none is configured.

    ``notify`` receives one human sentence when the local cluster is used. Raises
    ``ClusterError`` when the local cluster cannot start.
    """
    if settings.database_url:
        return settings.database_url
    say = notify or (lambda _msg: None)
    cluster = local_cluster(settings)
    if cluster.relocated_from is not None:
        say(f"the server user cannot enter {cluster.relocated_from}; the local cluster "
            f"lives in {cluster.directory} instead")
    status = cluster.status()
    if status.state != "running":
        say(f"no database configured: starting the local cluster in {cluster.directory} "
            "(set DATABASE_URL or --database-url to use another)")
        status = cluster.start(notify=say)
    else:
        say(f"no database configured: using the local cluster in {cluster.directory}")
    return cluster.url()
