"""Failures point at the fault, however the migrations travel; lone statements that
cannot run in a transaction run without one.

What must hold (issue 6): PostgreSQL's error position becomes the file's line and
column (characters, not bytes), DETAIL and HINT are kept; migrations sent together in
one message still commit one by one, the failed one and those after it not at all; a
section whose only statement refuses a transaction block runs without one and the plan
says so; a dry run names the grammar that parsed the files.
"""

from __future__ import annotations

import _thread
import threading
import time
from pathlib import Path

import pytest
from migration_helpers import write
from pglast.parser import get_postgresql_version

from pgkeel.errors import MigrationFailed
from pgkeel.migrations import ProgressEvent, RetryPolicy, history, rollback, up
from pgkeel.testing import TestDatabase


def applied(db: TestDatabase) -> list[str]:
    with db.connect() as conn:
        return [r.version for r in history.read(conn)]


def events(db: TestDatabase) -> list[tuple[str, str | None]]:
    with db.connect() as conn:
        return [(e.kind, e.version) for e in history.events(conn)]


@pytest.mark.parametrize("before", [0, 2])  # alone, or third of a message of five
def test_error_position_becomes_line_and_column(pg_database: TestDatabase, tmp_path: Path,
                                                before: int) -> None:
    for n in range(before):
        write(tmp_path, f"2024010{n + 1}_t{n}.sql", f"CREATE TABLE t{n} (id int);",
              f"DROP TABLE t{n};")
    # Line 1 marker; the INSERT starts on line 3, "nme" is on line 5 after 'ééé', .
    path = write(tmp_path, "20240105_bad.sql",
                 "CREATE TABLE words (id int, name text);\n"
                 "INSERT INTO words (id, name)\n"
                 "  SELECT 1,\n"
                 "    'ééé' || nme FROM words;",
                 "DROP TABLE words;")
    write(tmp_path, "20240106_after.sql", "CREATE TABLE after (id int);", "DROP TABLE after;")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    column = "    'ééé' || ".__len__() + 1
    assert caught.value.path == path and caught.value.line == 5
    assert f"statement 2 (line 5, column {column})" in str(caught.value)
    assert 'column "nme" does not exist' in str(caught.value)
    assert applied(pg_database) == [f"2024010{n + 1}" for n in range(before)]
    assert events(pg_database)[-1] == ("fail", "20240105")
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('words'), to_regclass('after')"
                            ).fetchone() == (None, None)


def test_detail_and_hint_are_kept(pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_keys.sql",
          "CREATE TABLE keys (id int PRIMARY KEY);\nINSERT INTO keys VALUES (1), (1);",
          "DROP TABLE keys;")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert "(Key (id)=(1) already exists.)" in str(caught.value)
    assert caught.value.line == 3
    write(tmp_path, "20240101_keys.sql", "SELECT pg_catalog.lower(1);", "")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert "PostgreSQL hints: No function matches the given name and argument types" \
        in str(caught.value)
    assert "(line 2, column 8)" in str(caught.value)


def test_migrations_in_one_message_commit_one_by_one(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    for n in range(1, 6):
        body = f"CREATE TABLE t{n} (id int);\nINSERT INTO t{n} VALUES ({n});"
        if n == 3:  # fails at run time: no position, the statement still named
            body += "\nSELECT 1 / (SELECT count(*) - 1 FROM t3);"
        write(tmp_path, f"2024010{n}_t{n}.sql", body, f"DROP TABLE t{n};")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert "applying 20240103 failed at statement 3 (line 4): division by zero" \
        in str(caught.value)
    assert applied(pg_database) == ["20240101", "20240102"]
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT execution_ms FROM pgkeel.migrations").fetchall()
        assert all(isinstance(ms, int) and ms >= 0 for (ms,) in rows)
        assert conn.execute("SELECT to_regclass('t3'), to_regclass('t4')").fetchone() \
            == (None, None)
    write(tmp_path, "20240103_t3.sql", "CREATE TABLE t3 (id int);", "DROP TABLE t3;")
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240103", "20240104", "20240105"]


def test_deferred_constraint_fails_at_commit_inside_a_message(pg_database: TestDatabase,
                                                              tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a (id int PRIMARY KEY);", "DROP TABLE a;")
    write(tmp_path, "20240102_b.sql",
          "CREATE TABLE b (a_id int REFERENCES a DEFERRABLE INITIALLY DEFERRED);\n"
          "INSERT INTO b VALUES (7);", "DROP TABLE b;")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert "failed at COMMIT (deferred constraints are checked there)" in str(caught.value)
    assert applied(pg_database) == ["20240101"]


def test_lone_concurrent_statement_runs_without_a_transaction(pg_database: TestDatabase,
                                                              tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    path = write(tmp_path, "20240102_idx.sql", "CREATE INDEX CONCURRENTLY t_id ON t (id);",
                 "DROP INDEX CONCURRENTLY t_id;")
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240101", "20240102"]
    [note] = [n for n in result.plan.notes if path.name in n]
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in note
    assert "runs without one" in note
    with pg_database.connect() as conn:
        [row] = [r for r in history.read(conn) if r.version == "20240102"]
        assert not row.failed and not row.down.transactional
        assert conn.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_id'::regclass"
                            ).fetchone() == (True,)
    undone = rollback(pg_database.url, tmp_path)
    assert any("DROP INDEX CONCURRENTLY" in n for n in undone.plan.notes)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('t_id')").fetchone() == (None,)
    assert applied(pg_database) == ["20240101"]


def test_dry_run_names_the_grammar(pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    result = up(pg_database.url, tmp_path, dry_run=True)
    major, minor = get_postgresql_version()
    [note] = [n for n in result.plan.notes if "grammar" in n]
    assert f"parsed with PostgreSQL {major}.{minor}'s grammar" in note
    assert "may still refuse syntax newer than it" in note
    assert applied(pg_database) == []


def test_lock_timeout_inside_a_message_is_retried_alone(pg_database: TestDatabase,
                                                        tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    up(pg_database.url, tmp_path)
    write(tmp_path, "20240102_u.sql", "CREATE TABLE u (id int);", "DROP TABLE u;")
    write(tmp_path, "20240103_alter.sql", "ALTER TABLE t ADD COLUMN x int;",
          "ALTER TABLE t DROP COLUMN x;")
    write(tmp_path, "20240104_v.sql", "CREATE TABLE v (id int);", "DROP TABLE v;")
    seen: list[ProgressEvent] = []
    with pg_database.connect(autocommit=False) as blocker:
        blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
        with pytest.raises(MigrationFailed) as caught:
            up(pg_database.url, tmp_path, lock_timeout_s=0.2, progress=seen.append,
               retry=RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=0.1))
        pid = blocker.info.backend_pid
    # The try inside the message was the first of three.
    assert caught.value.sqlstate == "55P03" and "on 3 tries" in (caught.value.hint or "")
    assert f"blocked by pid {pid}" in (caught.value.hint or "")
    assert [e.kind for e in seen].count("retry") == 2
    assert applied(pg_database) == ["20240101", "20240102"]

    blocker = pg_database.connect(autocommit=False)
    blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
    releaser = threading.Timer(0.3, blocker.close)
    releaser.start()
    write(tmp_path, "20240105_w.sql", "CREATE TABLE w (id int);", "DROP TABLE w;")
    result = up(pg_database.url, tmp_path, lock_timeout_s=0.2,
                retry=RetryPolicy(attempts=6, base_delay_s=0.1, max_delay_s=0.2))
    releaser.join()
    assert [d.version for d in result.done] == ["20240103", "20240104", "20240105"]


def test_interrupt_inside_a_message_reports_what_committed(pg_database: TestDatabase,
                                                           tmp_path: Path) -> None:
    write(tmp_path, "20240101_quick.sql", "CREATE TABLE quick (id int);", "DROP TABLE quick;")
    write(tmp_path, "20240102_slow.sql", "CREATE TABLE slow (id int);\nSELECT pg_sleep(3);",
          "DROP TABLE slow;")
    write(tmp_path, "20240103_later.sql", "CREATE TABLE later (id int);", "DROP TABLE later;")
    seen: list[ProgressEvent] = []
    # Ctrl-C while the server sleeps in the second migration of the message.
    timer = threading.Timer(1.0, _thread.interrupt_main)
    timer.start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        up(pg_database.url, tmp_path, progress=seen.append)
    timer.join()
    assert time.monotonic() - started < 2.5  # psycopg cancelled the query
    # the first reported as its COMMIT arrived, the second as started (and interrupted)
    assert [(e.kind, e.version) for e in seen if e.kind.startswith("apply")] == [
        ("apply_start", "20240101"), ("apply_done", "20240101"), ("apply_start", "20240102")]
    assert [(e.kind, e.version) for e in seen if e.kind == "interrupted"] == [
        ("interrupted", "20240102")]
    assert applied(pg_database) == ["20240101"]
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('slow'), to_regclass('later')").fetchone() \
            == (None, None)
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240102", "20240103"]
