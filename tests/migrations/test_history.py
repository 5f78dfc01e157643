"""The history tables on a real server: creation, format guard, rows, the event log."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from migration_helpers import write

from pgkeel import __version__
from pgkeel.errors import Refused
from pgkeel.migrations import history, read_migration, runner, status
from pgkeel.migrations.records import Failure
from pgkeel.testing import TestDatabase


def test_ensure_creates_the_schema_once(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        assert not history.exists(conn)
        assert history.read(conn) == []
        history.ensure(conn)
        history.ensure(conn)  # idempotent
        assert history.exists(conn)
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'pgkeel'")}
        assert tables == {"meta", "migrations", "events", "seed_runs"}
        row = conn.execute("SELECT value FROM pgkeel.meta WHERE key = 'history_format'"
                           ).fetchone()
        assert row == (str(history.FORMAT),)


def test_format_1_is_upgraded_and_its_rows_have_no_noop_down(pg_database: TestDatabase,
                                                             tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int)", "")
    runner.up(pg_database.url, tmp_path)
    with pg_database.connect() as conn:  # back to format 1, as an older pgkeel left it
        conn.execute("ALTER TABLE pgkeel.migrations DROP COLUMN down_noop")
        conn.execute("UPDATE pgkeel.meta SET value = '1' WHERE key = 'history_format'")
    # Read-only commands read it as it is; the next writer upgrades it.
    [entry] = status(pg_database.url, tmp_path).migrations
    assert (entry.state, entry.reversible, entry.noop_down) == ("applied", False, False)
    with pg_database.connect() as conn:
        history.ensure(conn)
        assert conn.execute("SELECT value FROM pgkeel.meta WHERE key = 'history_format'"
                            ).fetchone() == (str(history.FORMAT),)
        [row] = history.read(conn)
    assert not row.down.noop and not row.reversible


def test_a_newer_format_is_refused(pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int)", "DROP TABLE t")
    with pg_database.connect() as conn:
        history.ensure(conn)
        conn.execute("UPDATE pgkeel.meta SET value = %s WHERE key = 'history_format'",
                     (str(history.FORMAT + 1),))
        with pytest.raises(Refused, match="newer than this pgkeel"):
            history.read(conn)
    with pytest.raises(Refused) as caught:
        runner.up(pg_database.url, tmp_path)
    assert caught.value.exit_code == 4
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.t')").fetchone() == (None,)


def test_events_are_append_only(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        history.ensure(conn)
        history.record_event(conn, "backup", detail={"path": "x.dump"})
        for statement in ("UPDATE pgkeel.events SET kind = 'apply'",
                          "DELETE FROM pgkeel.events", "TRUNCATE pgkeel.events"):
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState,
                               match="append-only"):
                conn.execute(statement)
        [event] = history.events(conn)
        assert (event.kind, event.detail) == ("backup", {"path": "x.dump"})
        assert event.db_user == "postgres" and event.client


def test_applied_row_commits_with_the_migration_or_not_at_all(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    kept = read_migration(write(tmp_path, "20240101_kept.sql",
                                "CREATE TABLE a (id int);\nCREATE INDEX ON a (id);",
                                "DROP TABLE a;"))
    lost = read_migration(write(tmp_path, "20240102_lost.sql", "SELECT 1", "SELECT 2"))
    with pg_database.connect() as conn:
        history.ensure(conn)
        with conn.transaction():
            history.record_applied(conn, kept, kept.path.name, execution_ms=7)
        with pytest.raises(RuntimeError), conn.transaction():
            history.record_applied(conn, lost, lost.path.name, execution_ms=1)
            raise RuntimeError("the migration failed after its row was written")
        [row] = history.read(conn)
        events = history.events(conn)
    assert (row.version, row.name, row.path) == ("20240101", "kept", "20240101_kept.sql")
    assert (row.checksum, row.checksum_algorithm) == (kept.checksum, "sha256")
    assert row.statement_checksums == tuple(s.checksum for s in kept.up.statements)
    assert row.down.statements == ("DROP TABLE a",) and row.down.lines == (6,)
    assert row.down.transactional and row.transactional
    assert (row.status, row.method, row.execution_ms) == ("applied", "run", 7)
    assert (row.applied_by, row.pgkeel_version) == ("postgres", __version__)
    assert row.applied_at.tzinfo is not None and row.failure is None
    assert [(e.kind, e.version, e.execution_ms) for e in events] == [("apply", "20240101", 7)]


def test_transaction_false_row_is_written_ahead(pg_database: TestDatabase,
                                                tmp_path: Path) -> None:
    migration = read_migration(write(tmp_path, "20240101_idx.sql",
                                     "CREATE TABLE a (id int);\nSELECT 1;", "DROP TABLE a;",
                                     up_tx=False))
    with pg_database.connect() as conn:
        history.ensure(conn)
        history.record_started(conn, migration, migration.path.name)
        [row] = history.read(conn)
        assert row.failed and row.failure is not None
        assert (row.failure.statement_index, row.failure.line) == (0, 2)
        assert row.failure.message.startswith("interrupted")
        history.record_progress(conn, migration.version, "up", 1, 3)
        [row] = history.read(conn)
        assert (row.statements_done, row.failure and row.failure.line) == (1, 3)
        history.record_failure(conn, migration.version, migration.name,
                               Failure("up", 1, 3, "42P01", "boom"), keep_row=True)
        [row] = history.read(conn)
        assert row.failure == Failure("up", 1, 3, "42P01", "boom")
        history.record_finished(conn, migration, execution_ms=3, resumed=True)
        [row] = history.read(conn)
        kinds = [e.kind for e in history.events(conn)]
    assert (row.status, row.statements_done, row.failure) == ("applied", 2, None)
    assert kinds == ["fail", "resume"]
