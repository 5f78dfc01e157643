"""Real ``pgkeel migrate up`` processes against a real server: crowds, kills, refusals.

What must hold (issue 3, "Reliability tests"): eight runners at once apply every
migration exactly once; a runner killed from the server (``pg_terminate_backend``) or
by ``SIGKILL`` during a long migration leaves nothing recorded that did not commit, and
the next ``up`` finishes; an edited applied file, an out-of-order file and a failed
``transaction:false`` migration are refused with exit 4 and nothing changes.
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
from pgkeel.testing import TestDatabase


def command(db: TestDatabase, project: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pgkeel", "migrate", *args, "-d", db.url,
            "--project", str(project)]


def run(db: TestDatabase, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(command(db, project, *args), capture_output=True, text=True,
                          env=env, timeout=120, check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "migrations").mkdir()
    return tmp_path


def snapshot(db: TestDatabase) -> tuple[object, ...]:
    """History rows, event count and the public tables: what a refusal must not change."""
    with db.connect() as conn:
        rows = [(r.version, r.status, r.checksum, r.applied_order) for r in history.read(conn)]
        count = len(history.events(conn))
        tables = conn.execute("SELECT array_agg(tablename ORDER BY tablename) FROM pg_tables"
                              " WHERE schemaname = 'public'").fetchone()
    return rows, count, tables


def wait_for_sleep(db: TestDatabase, timeout_s: float = 20) -> int:
    """Return the pid of the pgkeel backend once it runs a migration's ``pg_sleep``.

    Found by its wait event, not its query text: migrations sent together in one
    message show only the message's first ``track_activity_query_size`` bytes there.
    """
    deadline = time.monotonic() + timeout_s
    with db.connect() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgkeel'"
                " AND datname = current_database() AND state = 'active'"
                " AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()").fetchone()
            if row:
                return int(str(row[0]))
            time.sleep(0.02)
    raise AssertionError(f"no pgkeel backend ran pg_sleep within {timeout_s} s")


def test_eight_runners_at_once_apply_each_migration_once(pg_database: TestDatabase,
                                                         project: Path) -> None:
    migrations = project / "migrations"
    write(migrations, "20240101000000_hits.sql", "CREATE TABLE hits (n int PRIMARY KEY);",
          "DROP TABLE hits;")
    for n in range(1, 12):
        write(migrations, f"20240101{n:06d}_t{n}.sql",
              f"CREATE TABLE t{n} (id int);\nINSERT INTO hits VALUES ({n});\n"
              "SELECT pg_sleep(0.02);", f"DROP TABLE t{n};")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    runners = [subprocess.Popen(command(pg_database, project, "up"), env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(8)]
    results = [(p.wait(timeout=120), *p.communicate()) for p in runners]
    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    applied_by = [out.count("applied 2024") for _, out, _ in results]
    assert sorted(applied_by) == [0] * 7 + [12]
    with pg_database.connect() as conn:
        versions = [r.version for r in history.read(conn)]
        kinds = [e.kind for e in history.events(conn)]
        hits = conn.execute("SELECT count(*), count(DISTINCT n) FROM hits").fetchone()
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                              " AND tablename ~ '^t[0-9]+$'").fetchone()
    assert len(versions) == len(set(versions)) == 12
    assert kinds == ["apply"] * 12
    assert hits == (11, 11) and tables == (11,)


@pytest.fixture
def long_running(project: Path) -> Path:
    migrations = project / "migrations"
    write(migrations, "20240101_quick.sql", "CREATE TABLE quick (id int);", "DROP TABLE quick;")
    write(migrations, "20240102_slow.sql",
          "CREATE TABLE slow (id int);\nSELECT pg_sleep(1.5);", "DROP TABLE slow;")
    return project


def test_server_side_kill_records_nothing_that_did_not_commit(
        pg_database: TestDatabase, long_running: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    runner = subprocess.Popen(command(pg_database, long_running, "up"), env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid = wait_for_sleep(pg_database)
    with pg_database.connect() as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 3
    assert "20240102_slow.sql:3" in stderr and "57P01" in stderr
    with pg_database.connect() as conn:
        assert [r.version for r in history.read(conn)] == ["20240101"]
        assert [(e.kind, e.version) for e in history.events(conn)] == [
            ("apply", "20240101"), ("fail", "20240102")]
        assert conn.execute("SELECT to_regclass('slow')").fetchone() == (None,)
    again = run(pg_database, long_running, "up")
    assert again.returncode == 0, again.stderr
    assert "applied 20240102 slow" in again.stdout


def test_sigkill_of_the_runner_records_nothing_that_did_not_commit(
        pg_database: TestDatabase, long_running: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    runner = subprocess.Popen(command(pg_database, long_running, "up"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_sleep(pg_database)
    os.kill(runner.pid, signal.SIGKILL)
    assert runner.wait(timeout=30) == -signal.SIGKILL
    with pg_database.connect() as conn:
        assert [r.version for r in history.read(conn)] == ["20240101"]
    # The orphaned backend still holds the lock until it notices its client is gone
    # (client_connection_check_interval); the next runner waits for it, then finishes.
    again = run(pg_database, long_running, "up")
    assert again.returncode == 0, again.stderr
    assert "applied 20240102 slow" in again.stdout
    with pg_database.connect() as conn:
        assert [r.version for r in history.read(conn)] == ["20240101", "20240102"]


def test_sigkill_during_transaction_false_is_recorded_and_resumable(
        pg_database: TestDatabase, project: Path) -> None:
    write(project / "migrations", "20240101_steps.sql",
          "CREATE TABLE a (id int);\nSELECT pg_sleep(1.5);\nCREATE TABLE b (id int);",
          "DROP TABLE b;\nDROP TABLE a;", up_tx=False)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    runner = subprocess.Popen(command(pg_database, project, "up"), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_sleep(pg_database)
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(timeout=30)
    with pg_database.connect() as conn:
        [row] = history.read(conn)
    # Statement 1 committed on its own; the row says so instead of claiming nothing ran.
    assert row.failed and row.failure is not None and row.statements_done == 1
    assert (row.failure.statement_index, row.failure.line) == (1, 3)
    assert row.failure.message.startswith("interrupted")
    before = snapshot(pg_database)
    refused = run(pg_database, project, "up")
    assert refused.returncode == 4
    assert "failed (up) at statement 2 (line 3)" in refused.stderr
    assert snapshot(pg_database) == before
    resumed = run(pg_database, project, "up", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "applied 20240101 steps (resumed)" in resumed.stdout


def test_edited_applied_file_is_refused_and_nothing_changes(pg_database: TestDatabase,
                                                            long_running: Path) -> None:
    slow = long_running / "migrations" / "20240102_slow.sql"
    slow.write_text(slow.read_text().replace("pg_sleep(1.5)", "pg_sleep(0)"))
    assert run(pg_database, long_running, "up").returncode == 0
    slow.write_text(slow.read_text().replace("slow (id int)", "slow (id bigint)"))
    write(long_running / "migrations", "20240103_next.sql", "CREATE TABLE next ();")
    before = snapshot(pg_database)
    result = run(pg_database, long_running, "up")
    assert result.returncode == 4
    assert "20240102_slow.sql" in result.stderr.splitlines()[0]
    assert "changed since they were applied" in result.stderr
    assert snapshot(pg_database) == before


def test_out_of_order_file_is_refused_and_nothing_changes(pg_database: TestDatabase,
                                                          project: Path) -> None:
    migrations = project / "migrations"
    write(migrations, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    write(migrations, "20240103_c.sql", "CREATE TABLE c ();", "DROP TABLE c;")
    assert run(pg_database, project, "up").returncode == 0
    write(migrations, "20240102_b.sql", "CREATE TABLE b ();", "DROP TABLE b;")
    before = snapshot(pg_database)
    result = run(pg_database, project, "up")
    assert result.returncode == 4
    assert "20240102_b.sql" in result.stderr and "--allow-out-of-order" in result.stderr
    assert snapshot(pg_database) == before
    allowed = run(pg_database, project, "up", "--allow-out-of-order")
    assert allowed.returncode == 0 and "applied 20240102 b" in allowed.stdout


def test_failed_transaction_false_migration_is_refused_and_nothing_changes(
        pg_database: TestDatabase, project: Path) -> None:
    migrations = project / "migrations"
    write(migrations, "20240101_t.sql",
          "CREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);", "DROP TABLE t;")
    write(migrations, "20240102_unique.sql",
          "CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);", "DROP INDEX t_v;", up_tx=False)
    write(migrations, "20240103_after.sql", "CREATE TABLE after ();", "DROP TABLE after;")
    failed = run(pg_database, project, "up")
    assert failed.returncode == 3
    assert "20240102_unique.sql:2" in failed.stderr and "23505" in failed.stderr
    assert 'DROP INDEX CONCURRENTLY "public"."t_v";' in failed.stderr
    before = snapshot(pg_database)
    refused = run(pg_database, project, "up")
    assert refused.returncode == 4
    assert "pgkeel will not run anything until it is resolved" in refused.stderr
    assert snapshot(pg_database) == before
