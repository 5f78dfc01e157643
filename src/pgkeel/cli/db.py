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
    """Stop the cluster's server (fast shutdown).

    A stale postmaster.pid (its process gone, a zombie, or not this cluster's server)
    signals nothing; pgkeel says so, with the fix.
    """
    cluster = _cluster(project)
    was = cluster.status()
    cluster.stop()
    if was.state == "stale":
        out.print(f"not running: {cluster.data_dir}/postmaster.pid is stale "
                  f"({was.stale_reason}); nothing was signalled", markup=False)
        note(f"fix: {was.stale_fix}")
        return
    done = "stopped" if was.state == "running" else f"not running ({was.state})"
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
            "stale_reason": state.stale_reason,
        }))
    else:
        detail = {
            "absent": "no cluster yet (pgkeel db start creates one)",
            "stopped": "stopped (pgkeel db start)",
            "running": f"running, pid {state.pid}, port {state.port}",
            "stale": f"not running; postmaster.pid is stale: {state.stale_reason} — fix: "
            f"{state.stale_fix}",
        }[state.state]
        out.print(f"{state.data_dir}: {detail}", markup=False)
    raise typer.Exit(0 if state.state == "running" else 1)


@app.command()
def url(
    project: ProjectDir = None,
    tcp: bool = typer.Option(False, "--tcp", help="TCP URL on 127.0.0.1; libpq reads the "
                             "password from the passfile the URL names."),
    show_password: bool = typer.Option(False, "--show-password",
                                       help="With --tcp: put the password itself in the "
                                       "URL (it is printed)."),
    dbname: str = typer.Option("postgres", "--dbname", help="Database name."),
) -> None:
    """Print the cluster's connection URL (Unix socket by default); it works as printed.

    The --tcp URL names a password file (?passfile=...), so the password is never
    printed unless --show-password asks for it. When the server is not running, stderr
    says so (the URL works once `pgkeel db start` has run).

    Example: [bold]psql "$(pgkeel db url --tcp)"[/bold]
    """
    from pgkeel.errors import ClusterError, UsageError

    if show_password and not tcp:
        raise UsageError("--show-password needs --tcp: the Unix-socket URL has no password",
                         hint="pgkeel db url --tcp --show-password")
    cluster = _cluster(project)
    if cluster.port is None:
        raise ClusterError(f"no cluster has run in {cluster.directory} yet, so it has no URL",
                           hint="pgkeel db start")
    state = cluster.status()
    if state.state != "running":
        # The URL still goes to stdout (it is right once the server runs on that port),
        # but a script that connects with it now would get "connection refused".
        why = f" ({state.stale_reason})" if state.stale_reason else ""
        note(f"the server is not running{why}, so this URL does not connect yet: start it "
             "with `pgkeel db start` (which says if the port changes)")
    if not tcp:
        out.print(cluster.url(dbname), markup=False)
    elif show_password:
        out.print(cluster.url(dbname, tcp=True), markup=False)
    else:
        out.print(cluster.passfile_url(dbname), markup=False)


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
