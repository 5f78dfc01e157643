"""``pgkeel db``: the project's local PostgreSQL cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgkeel.cli._common import ProjectDir, note, out, settings

if TYPE_CHECKING:
    from pgkeel.cluster import Cluster

__all__ = ["app"]


def _cluster(project: Path | None) -> Cluster:
    """The project's local cluster (imported here, as the settings: see _common)."""
    from pgkeel.target import local_cluster

    return local_cluster(settings(project=project))


app = typer.Typer(help="Manage the project's local PostgreSQL cluster (.pgkeel/pgdata).",
                  no_args_is_help=True)


def _say_where(cluster: Cluster) -> None:
    if cluster.relocated_from is not None:
        note(f"the server user cannot enter {cluster.relocated_from}; the cluster lives in "
             f"{cluster.directory}")


@app.command()
def start(
    project: ProjectDir = None,
    port: int | None = typer.Option(None, help="TCP port on 127.0.0.1, 1024-65535 "
                                    "(default: the last one used, else a free one)."),
) -> None:
    """Create the cluster if needed and start it.

    Example: [bold]pgkeel db start --port 55432[/bold]
    """
    cluster = _cluster(project)
    _say_where(cluster)
    status = cluster.start(port=port, notify=note)
    out.print(f"running: PostgreSQL {status.major} in {status.data_dir}, "
              f"port {status.port}, pid {status.pid}", markup=False)
    out.print(f"url: {status.url}", markup=False)


@app.command()
def stop(project: ProjectDir = None) -> None:
    """Stop the cluster's server (fast shutdown)."""
    cluster = _cluster(project)
    was = cluster.status().state
    cluster.stop()
    done = "stopped" if was == "running" else f"not running ({was})"
    out.print(f"{done}: {cluster.data_dir}", markup=False)


@app.command()
def status(
    project: ProjectDir = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Say whether the cluster exists and runs. Exit 0 when running, 1 otherwise."""
    state = _cluster(project).status()
    if as_json:
        out.print_json(json.dumps({
            "state": state.state, "data_dir": str(state.data_dir), "port": state.port,
            "pid": state.pid, "major": state.major, "url": state.url,
        }))
    else:
        detail = {
            "absent": "no cluster yet (pgkeel db start creates one)",
            "stopped": "stopped (pgkeel db start)",
            "running": f"running, pid {state.pid}, port {state.port}",
            "stale": "not running; a crashed server left postmaster.pid (pgkeel db start "
            "recovers)",
        }[state.state]
        out.print(f"{state.data_dir}: {detail}", markup=False)
    raise typer.Exit(0 if state.state == "running" else 1)


@app.command()
def url(
    project: ProjectDir = None,
    tcp: bool = typer.Option(False, "--tcp", help="TCP URL (password shown as ****)."),
    dbname: str = typer.Option("postgres", "--dbname", help="Database name."),
) -> None:
    """Print the cluster's connection URL (Unix socket by default)."""
    from pgkeel.dsn import redact
    from pgkeel.errors import ClusterError

    cluster = _cluster(project)
    if cluster.port is None:
        raise ClusterError(f"no cluster has run in {cluster.directory} yet, so it has no URL",
                           hint="pgkeel db start")
    out.print(redact(cluster.url(dbname, tcp=tcp)), markup=False)
    if tcp:
        note(f"the password is in {cluster.directory / 'password'}")


@app.command()
def destroy(
    project: ProjectDir = None,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Stop the cluster and delete what pgkeel created for it (its data too)."""
    cluster = _cluster(project)
    if not cluster.directory.exists():
        out.print(f"nothing to destroy at {cluster.directory}", markup=False)
        return
    if not yes and not typer.confirm(f"delete the cluster in {cluster.directory} and all "
                                     "its data?"):
        raise typer.Exit(1)
    left = cluster.destroy()
    out.print(f"destroyed: {cluster.directory}", markup=False)
    if left:
        note("kept what pgkeel did not create: " + ", ".join(p.name for p in left))
