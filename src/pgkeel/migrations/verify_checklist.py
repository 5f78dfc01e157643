"""The checklist item "Migrations are reversible (UP/DOWN)", answered by ``verify``.

``pgkeel check`` asks :func:`checklist_status` when the project has a migrations folder:
every migration is rehearsed up, down and up again on a scratch database
(:func:`pgkeel.migrations.verify.verify`), on the local cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pgkeel.errors import PgkeelError

__all__ = ["ITEM", "checklist_status"]

#: The checklist item this answers (the skill's words, "Validation Checklist").
ITEM = "Migrations are reversible (UP/DOWN)"

Status = Literal["pass", "warn", "fail", "not checked"]


def checklist_status(server_url: str | None, directory: Path) -> tuple[Status, str]:
    """Verify the migrations of ``directory`` on a scratch database of ``server_url``.

    ``server_url`` reaches the server the scratch database is created on (None when
    there is none to use, e.g. the local cluster is not running). Returns ``("pass",
    detail)`` when every migration is reversible, ``("fail", detail)`` naming the
    first ones that are not, and ``("not checked", reason)`` without a folder, without
    migrations, without a server, or when verification could not run (its error says
    why). Raises nothing pgkeel or psycopg raises: the checklist says it instead.
    """
    if not directory.is_dir():
        return "not checked", (f"no migrations folder ({directory}): nothing to verify; "
                               "`pgkeel migrate new` starts one")
    if server_url is None:
        return "not checked", ("the local cluster is not running, so there is no scratch "
                               "database to rehearse on: `pgkeel db start`, or run "
                               "`pgkeel migrate verify` against a server")
    import psycopg

    from pgkeel.migrations.verify import verify

    try:
        result = verify(server_url, directory)
    except (PgkeelError, psycopg.Error) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return "not checked", f"`pgkeel migrate verify` could not run: {first}"
    total = len(result.migrations)
    if not total:
        return "not checked", f"{directory} holds no migration"
    if result.ok:
        return "pass", (f"checked: `pgkeel migrate verify` ran up, down and up again for "
                        f"all {total} migration(s) on a scratch database; the catalog "
                        "matched each time")
    bad = [m for m in result.migrations if not m.reversible]
    named = ", ".join(f"{m.path.name} ({m.verdict})" for m in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    stopped = f"; {result.stopped}" if result.stopped else ""
    return "fail", (f"{len(bad)} of {total} migration(s) not reversible: {named}{more}"
                    f"{stopped}; `pgkeel migrate verify` shows what each down leaves behind")
