"""The CLI as a user runs it: real processes, exit codes, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgkeel import __version__
from pgkeel.cluster import free_port
from pgkeel.testing import TestCluster


def pgkeel(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, cwd=cwd, env=base | (env or {}), timeout=120, check=False)


def test_version_and_help() -> None:
    assert pgkeel("--version").stdout.strip() == f"pgkeel {__version__}"
    shown = pgkeel("--help").stdout
    for group in ("connect", "db"):
        assert group in shown


def test_fast_root_help_is_the_help_typer_would_show(monkeypatch: pytest.MonkeyPatch) -> None:
    # `pgkeel --help` is answered without loading Typer (pgkeel._main): its command
    # list and summary must be the ones the Typer app registers.
    import typer.main

    # The usage line names argv[0]; a test worker's is not the console script's.
    monkeypatch.setattr(sys, "argv", ["pgkeel"])

    from pgkeel._main import COMMANDS, root_help
    from pgkeel.cli import app

    group = typer.main.get_command(app)
    registered = tuple((name, command.get_short_help_str(limit=200))
                       for name, command in group.commands.items())
    assert registered == COMMANDS
    assert (group.help or "") in root_help()
    shown = pgkeel("-h")
    assert shown.returncode == 0 and shown.stdout == root_help().replace(
        "Usage: pgkeel", "Usage: python -m pgkeel").replace(
        "Run 'pgkeel", "Run 'python -m pgkeel")
    assert "Typer" not in shown.stderr


def test_wrong_password_exit_3_one_line(pg_cluster: TestCluster) -> None:
    url = pg_cluster.cluster.url(tcp=True).replace(pg_cluster.cluster.password() or "", "wrong1")
    result = pgkeel("connect", "-d", url)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert "wrong1" not in result.stderr + result.stdout
    assert result.stderr.splitlines()[0].startswith(
        f"error: password authentication failed for user 'postgres' at 127.0.0.1:"
        f"{pg_cluster.cluster.port}")


def test_unreachable_and_missing_database_exit_3(pg_cluster: TestCluster) -> None:
    result = pgkeel("connect", "-d", f"postgresql://x:y@127.0.0.1:{free_port()}/db")
    assert result.returncode == 3
    assert result.stderr.startswith("error: cannot reach PostgreSQL at 127.0.0.1:")
    missing = pgkeel("connect", "-d", pg_cluster.url("nope"))
    assert missing.returncode == 3
    assert "database 'nope' does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_unparseable_dsn_exit_2() -> None:
    result = pgkeel("connect", "-d", "host=x password=hunter2 junk")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr
    assert "does not parse" in result.stderr


@pytest.fixture
def project() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pgkeel-cli-project-"))
    path.chmod(0o755)
    yield path
    pgkeel("db", "destroy", "--yes", cwd=path)
    subprocess.run(["rm", "-rf", str(path)], check=False)


def test_db_group_and_on_demand_start(project: Path) -> None:
    assert pgkeel("db", "status", cwd=project).returncode == 1
    first = pgkeel("connect", "--json", cwd=project)
    assert first.returncode == 0, first.stderr
    assert "no database configured: starting the local cluster" in first.stderr
    assert '"user": "postgres"' in first.stdout
    status = pgkeel("db", "status", "--json", cwd=project)
    assert status.returncode == 0 and '"state": "running"' in status.stdout
    tcp = pgkeel("db", "url", "--tcp", cwd=project)
    password = (project / ".pgkeel" / "password").read_text().strip()
    assert password not in tcp.stdout + tcp.stderr
    assert "postgres@127.0.0.1:" in tcp.stdout and "?passfile=" in tcp.stdout
    assert pgkeel("db", "stop", cwd=project).returncode == 0
    assert pgkeel("db", "status", cwd=project).returncode == 1
    bad = (project / "pgkeel.toml")
    bad.write_text("cluster_dri = 'x'\n")
    result = pgkeel("db", "start", cwd=project)
    assert result.returncode == 2
    assert "pgkeel.toml:1: unknown key 'cluster_dri'" in result.stderr
    bad.unlink()


def test_errors_are_one_line_with_the_fix_and_markup_stays_text(pg_cluster: TestCluster
                                                               ) -> None:
    result = pgkeel("connect", "-d", pg_cluster.url("[/]no[bold]such"))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0  # one line
    assert "database '[/]no[bold]such' does not exist" in result.stderr
    assert "— fix: create it (createdb [/]no[bold]such)" in result.stderr


def test_odd_project_paths_are_printed_as_they_are() -> None:
    base = Path(tempfile.mkdtemp(prefix="pgkeel-cli-odd-"))
    base.chmod(0o755)
    odd = base / "my proj [v2]"
    odd.mkdir()
    try:
        status = pgkeel("db", "status", cwd=odd)
        assert status.returncode == 1 and "Traceback" not in status.stderr
        assert f"{odd}/.pgkeel/pgdata: no cluster yet" in status.stdout
        missing_url = pgkeel("db", "url", cwd=odd)
        assert missing_url.returncode == 3
        assert "no cluster has run" in missing_url.stderr
        stop = pgkeel("db", "stop", cwd=odd)
        assert stop.returncode == 0 and "not running (absent)" in stop.stdout
        assert pgkeel("db", "start", cwd=odd).returncode == 0
        url = pgkeel("db", "url", cwd=odd)
        assert url.stdout.strip().startswith(f"postgresql://postgres@/postgres?host={odd}/")
        (odd / ".pgkeel" / "notes.txt").write_text("mine")
        gone = pgkeel("db", "destroy", "-y", cwd=odd)
        assert gone.returncode == 0
        assert "kept what pgkeel did not create: notes.txt" in gone.stderr
        assert [p.name for p in (odd / ".pgkeel").iterdir()] == ["notes.txt"]
    finally:
        pgkeel("db", "destroy", "-y", cwd=odd)
        subprocess.run(["rm", "-rf", str(base)], check=False)
