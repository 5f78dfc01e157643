"""``pgkeel migrate`` output that tells the truth as it happens (issue 6).

Real ``pgkeel`` processes with stdout piped to a file, as in a CI log: each migration
is in the file when it finishes, not at the end; an interrupted run (SIGINT, SIGTERM)
still shows what finished, then what was interrupted and the state it left, and exits
130 / 143; the history agrees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.migrations import history
from pgkeel.migrations.lock import AdvisoryLock
from pgkeel.testing import TestDatabase


def command(db: TestDatabase, project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pgkeel", "migrate", *args, "-d", db.url,
            "--project", str(project)]


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def run(db: TestDatabase, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command(db, project, *args), capture_output=True, text=True,
                          env=env(), timeout=120, check=False)


def wait_for_sleep(db: TestDatabase, timeout_s: float = 30) -> None:
    """Return once a pgkeel backend is running ``pg_sleep``."""
    deadline = time.monotonic() + timeout_s
    with db.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE application_name = 'pgkeel'"
                    " AND datname = current_database() AND state = 'active'"
                    " AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()").fetchone():
                return
            time.sleep(0.02)
    raise AssertionError("no pgkeel backend ran pg_sleep")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "20240101_one.sql", "CREATE TABLE one (id int);", "DROP TABLE one;")
    write(migrations, "20240102_two.sql", "CREATE TABLE two (id int);", "DROP TABLE two;")
    return tmp_path


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("transactional", [True, False], ids=["tx", "no-tx"])
def test_interrupted_up_piped_to_a_file(pg_database: TestDatabase, project: Path,
                                        tmp_path: Path, signum: int, code: int,
                                        transactional: bool) -> None:
    write(project / "migrations", "20240103_three.sql",
          "CREATE TABLE three (id int);\nSELECT pg_sleep(30);\nCREATE TABLE four (id int);",
          "DROP TABLE four;\nDROP TABLE three;", up_tx=transactional)
    log = tmp_path / "ci.log"
    with log.open("w") as sink:
        runner = subprocess.Popen(command(pg_database, project, "up"), env=env(),
                                  stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for_sleep(pg_database)
            # Written when each finished, while migration 3 still runs.
            live = log.read_text()
            assert "applied 20240101 one" in live and "applied 20240102 two" in live
            assert "three" not in live
            os.kill(runner.pid, signum)
            assert runner.wait(timeout=20) == code
        finally:
            runner.kill()
    text = log.read_text()
    name = signal.Signals(signum).name
    last = text.strip().splitlines()[-1]
    assert last.startswith(f"error: interrupted by {name} while applying 20240103 three "
                           "(2 migration(s) finished before it): ")
    assert "pgkeel migrate status" in last
    assert "Traceback" not in text and "Aborted" not in text
    with pg_database.connect() as conn:
        rows = history.read(conn)
        events = [(e.kind, e.version) for e in history.events(conn)]
        assert events == [("apply", "20240101"), ("apply", "20240102"), ("fail", "20240103")]
        assert history.events(conn)[-1].message.startswith("interrupted")
        assert conn.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                            "query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()"
                            ).fetchone() == (0,)
        three = conn.execute("SELECT to_regclass('three')").fetchone()
    if transactional:
        assert "its transaction was rolled back, so it is not applied" in last
        assert [r.version for r in rows] == ["20240101", "20240102"]
        assert three == (None,)
    else:
        assert "recorded as failed at statement 2 (line 3)" in last
        assert "the 1 statement(s) before it stay done" in last
        assert [(r.version, r.status) for r in rows] == [
            ("20240101", "applied"), ("20240102", "applied"), ("20240103", "failed")]
        assert rows[-1].statements_done == 1 and three == ("three",)
    status = run(pg_database, project, "status")
    assert ("20240103" in status.stdout) and (
        "pending" in status.stdout if transactional else "failed" in status.stdout)


def test_status_exits_1_on_a_failed_or_changed_migration(pg_database: TestDatabase,
                                                         project: Path) -> None:
    assert run(pg_database, project, "up", "--to", "20240101").returncode == 0
    clean = run(pg_database, project, "status")
    assert clean.returncode == 0, clean.stderr
    assert "1 applied, 1 pending" in clean.stdout
    one = project / "migrations" / "20240101_one.sql"
    one.write_text(one.read_text().replace("(id int)", "(id bigint)"))
    for args in (("status",), ("status", "--format", "json")):
        changed = run(pg_database, project, *args)
        assert changed.returncode == 1 and "changed" in changed.stdout
    one.write_text(one.read_text().replace("(id bigint)", "(id int)"))
    write(project / "migrations", "20240103_broken.sql",
          "CREATE TABLE three (id int);\nSELECT 1/0;", "DROP TABLE three;", up_tx=False)
    assert run(pg_database, project, "up").returncode == 3
    failed = run(pg_database, project, "status", "--format", "json")
    assert failed.returncode == 1
    assert '"failed": 1' in failed.stdout


def test_rollback_status_redo_leave_a_new_database_alone(pg_database: TestDatabase,
                                                         project: Path) -> None:
    def has_schema() -> bool:
        with pg_database.connect() as conn:
            row = conn.execute("SELECT to_regnamespace('pgkeel') IS NOT NULL").fetchone()
        return bool(row and row[0])

    status = run(pg_database, project, "status")
    assert status.returncode == 0 and "2 pending" in status.stdout
    back = run(pg_database, project, "rollback")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip() == "nothing to roll back"
    redo = run(pg_database, project, "redo")
    assert redo.returncode == 0, redo.stderr
    assert redo.stdout.startswith("nothing to redo: no migration is applied")
    assert "--" not in redo.stdout + redo.stderr  # no option redo lacks (was: --all)
    assert not has_schema()
    # Once pgkeel's history exists and everything is rolled back: the same answer.
    assert run(pg_database, project, "up").returncode == 0
    assert run(pg_database, project, "rollback", "--all").returncode == 0
    again = run(pg_database, project, "redo")
    assert again.returncode == 0 and again.stdout.startswith("nothing to redo")
    assert has_schema()


def test_interrupted_rollback_shows_what_was_rolled_back(pg_database: TestDatabase,
                                                        project: Path, tmp_path: Path) -> None:
    write(project / "migrations", "20231231_zero.sql", "CREATE TABLE zero (id int);",
          "DROP TABLE zero;\nSELECT pg_sleep(30);")
    assert run(pg_database, project, "up").returncode == 0
    log = tmp_path / "ci.log"
    with log.open("w") as sink:
        runner = subprocess.Popen(command(pg_database, project, "rollback", "--all"),
                                  env=env(), stdout=sink, stderr=subprocess.STDOUT)
        try:
            wait_for_sleep(pg_database)
            live = log.read_text().splitlines()
            assert [line.rsplit(" in ", 1)[0] for line in live] == [
                "rolled back 20240102 two", "rolled back 20240101 one"]
            os.kill(runner.pid, signal.SIGTERM)
            assert runner.wait(timeout=20) == 143
        finally:
            runner.kill()
    last = log.read_text().strip().splitlines()[-1]
    assert last.startswith("error: interrupted by SIGTERM while rolling back 20231231 zero "
                           "(2 migration(s) finished before it): its transaction was rolled "
                           "back, so it is still applied")
    with pg_database.connect() as conn:
        assert [(r.version, r.status) for r in history.read(conn)] == [("20231231", "applied")]
        assert [(e.kind, e.version) for e in history.events(conn)][-3:] == [
            ("rollback", "20240102"), ("rollback", "20240101"), ("fail", "20231231")]
        assert conn.execute("SELECT to_regclass('zero')").fetchone() == ("zero",)


def test_a_failed_run_shows_what_was_applied_before(pg_database: TestDatabase,
                                                   project: Path) -> None:
    write(project / "migrations", "20240103_broken.sql", "SELECT 1/0;", "SELECT 1;")
    failed = run(pg_database, project, "up")
    assert failed.returncode == 3
    assert [line.rsplit(" in ", 1)[0] for line in failed.stdout.splitlines()] == [
        "applied 20240101 one", "applied 20240102 two"]
    assert "applying 20240103 failed at statement 1 (line 2): division by zero" \
        in failed.stderr


def test_interrupt_while_waiting_for_the_lock(pg_database: TestDatabase,
                                              project: Path) -> None:
    with pg_database.connect() as holder, AdvisoryLock(holder, wait_s=0):
        runner = subprocess.Popen(command(pg_database, project, "up", "--lock-wait", "60"),
                                  env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        try:
            assert runner.stderr is not None
            assert "waiting up to 60 s" in runner.stderr.readline()
            runner.send_signal(signal.SIGINT)
            stdout, stderr = runner.communicate(timeout=20)
        finally:
            runner.kill()
    assert runner.returncode == 130 and stdout == ""
    # (communicate() may hand back the line read above again: only the last one counts.)
    assert stderr.strip().splitlines()[-1] == (
        "error: interrupted by SIGINT before pgkeel held its lock: nothing ran — fix: see "
        "the history with `pgkeel migrate status`")
    with pg_database.connect() as conn:
        assert history.read(conn) == []


def test_status_help_documents_its_exit_code(tmp_path: Path) -> None:
    shown = subprocess.run([sys.executable, "-m", "pgkeel", "migrate", "status", "--help"],
                           capture_output=True, text=True, env=env(), check=False,
                           cwd=tmp_path)
    assert "Exits 1 when a migration is failed or changed" in " ".join(shown.stdout.split())
