"""The runner against a real server: apply, fail, resume, roll back, repair, baseline.

Each test writes its migrations into ``tmp_path`` and runs the library functions the CLI
calls; the CLI's own rendering and exit codes are in ``test_cli_migrate.py``.
"""

from __future__ import annotations

import codecs
import threading
import time
from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.cluster import available_binaries
from pgkeel.errors import (
    ChecksumMismatch,
    ClusterError,
    IrreversibleMigration,
    LockNotAcquired,
    MigrationFailed,
    Refused,
    UsageError,
)
from pgkeel.migrations import (
    ProgressEvent,
    RetryPolicy,
    baseline,
    history,
    read_migration,
    redo,
    repair,
    rollback,
    status,
    up,
    validate,
)
from pgkeel.migrations.backup import pg_dump_for
from pgkeel.migrations.lock import AdvisoryLock
from pgkeel.testing import TestDatabase

FAST_RETRY = RetryPolicy(attempts=3, base_delay_s=0.05, max_delay_s=0.1)




def table_exists(db: TestDatabase, name: str) -> bool:
    with db.connect() as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
    return bool(row and row[0])


def rows(db: TestDatabase) -> list[history.AppliedMigration]:
    with db.connect() as conn:
        return history.read(conn)


def events(db: TestDatabase) -> list[tuple[str, str | None]]:
    with db.connect() as conn:
        return [(e.kind, e.version) for e in history.events(conn)]


@pytest.fixture
def three(tmp_path: Path) -> Path:
    """Three reversible migrations; the second runs outside a transaction."""
    write(tmp_path, "20240101_users.sql",
          "CREATE TABLE users (id bigint PRIMARY KEY, email text);", "DROP TABLE users;")
    write(tmp_path, "20240102_users_email.sql",
          "CREATE INDEX CONCURRENTLY users_email ON users (email);\n"
          "CREATE INDEX CONCURRENTLY users_email_lower ON users (lower(email));",
          "DROP INDEX CONCURRENTLY users_email_lower;\nDROP INDEX CONCURRENTLY users_email;",
          up_tx=False, down_tx=False)
    write(tmp_path, "20240103_orders.sql",
          "CREATE TABLE orders (id bigint PRIMARY KEY, user_id bigint REFERENCES users);",
          "DROP TABLE orders;")
    return tmp_path


def test_up_applies_everything_once_in_order(pg_database: TestDatabase, three: Path) -> None:
    seen: list[ProgressEvent] = []
    result = up(pg_database.url, three, progress=seen.append)
    assert [d.version for d in result.done] == ["20240101", "20240102", "20240103"]
    assert table_exists(pg_database, "orders")
    applied = rows(pg_database)
    assert [(r.version, r.applied_order) for r in applied] == [
        ("20240101", 1), ("20240102", 2), ("20240103", 3)]
    assert [r.transactional for r in applied] == [True, False, True]
    assert events(pg_database) == [("apply", "20240101"), ("apply", "20240102"),
                                   ("apply", "20240103")]
    kinds = [e.kind for e in seen]
    assert kinds[0] == "lock_acquired" and kinds.count("statement") == 2
    assert up(pg_database.url, three).done == ()


def test_transaction_false_runs_statements_one_at_a_time(pg_database: TestDatabase,
                                                         three: Path) -> None:
    # dbmate sends the whole section as one string, which PostgreSQL runs as one implicit
    # transaction, so a second CONCURRENTLY fails there (amacneil/dbmate#126).
    up(pg_database.url, three)
    with pg_database.connect() as conn:
        valid = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c"
            " ON c.oid = i.indexrelid WHERE c.relname LIKE 'users_email%' ORDER BY 1"
        ).fetchall()
    assert valid == [("users_email", True), ("users_email_lower", True)]
    result = rollback(pg_database.url, three, steps=2)
    assert [d.version for d in result.done] == ["20240103", "20240102"]
    assert not table_exists(pg_database, "users_email")


def test_failed_transactional_migration_leaves_only_an_event(pg_database: TestDatabase,
                                                             tmp_path: Path) -> None:
    path = write(tmp_path, "20240101_half.sql",
                 "CREATE TABLE half (id int);\n\nINSERT INTO nowhere VALUES (1);",
                 "DROP TABLE half;")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    error = caught.value
    assert (error.version, error.statement_index, error.sqlstate) == ("20240101", 1, "42P01")
    assert (error.path, error.line) == (path, 4)
    assert 'relation "nowhere" does not exist' in str(error)
    assert not table_exists(pg_database, "half")
    assert rows(pg_database) == []
    with pg_database.connect() as conn:
        [event] = history.events(conn)
    assert (event.kind, event.statement_index, event.sqlstate) == ("fail", 1, "42P01")
    write(tmp_path, "20240101_half.sql", "CREATE TABLE half (id int);", "DROP TABLE half;")
    assert [d.version for d in up(pg_database.url, tmp_path).done] == ["20240101"]


def test_failed_transaction_false_migration_blocks_until_resume(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_steps.sql",
          "CREATE TABLE a (id int);\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE b (id int);",
          "DROP TABLE b;\nDROP TABLE a;", up_tx=False)
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert "up --resume" in (caught.value.hint or "")
    [row] = rows(pg_database)
    assert row.failed and row.failure is not None
    assert (row.failure.statement_index, row.failure.line, row.failure.sqlstate) == (
        1, 3, "42P01")
    assert table_exists(pg_database, "a") and not table_exists(pg_database, "b")
    with pytest.raises(Refused, match=r"failed .* at statement 2 .line 3.") as refused:
        up(pg_database.url, tmp_path)
    assert refused.value.exit_code == 4

    # Editing a statement that already ran makes resuming unsafe.
    write(tmp_path, "20240101_steps.sql",
          "CREATE TABLE a (id bigint);\nINSERT INTO a VALUES (1);\nCREATE TABLE b (id int);",
          "DROP TABLE b;\nDROP TABLE a;", up_tx=False)
    with pytest.raises(ChecksumMismatch, match="statement 1 changed"):
        up(pg_database.url, tmp_path, resume=True)

    fixed = write(tmp_path, "20240101_steps.sql",
                  "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\n"
                  "CREATE TABLE b (id int);", "DROP TABLE b;\nDROP TABLE a;", up_tx=False)
    result = up(pg_database.url, tmp_path, resume=True)
    assert [(d.version, d.resumed) for d in result.done] == [("20240101", True)]
    [row] = rows(pg_database)  # CREATE TABLE a did not run again, or it would have failed
    assert (row.status, row.checksum) == ("applied", read_migration(fixed).checksum)
    assert [k for k, _ in events(pg_database)] == ["fail", "resume"]


def test_invalid_index_from_failed_concurrent_build_is_named(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_dupes.sql",
          "CREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);", "DROP TABLE t;")
    write(tmp_path, "20240102_unique.sql", "CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);",
          "DROP INDEX CONCURRENTLY t_v;", up_tx=False, down_tx=False)
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert caught.value.sqlstate == "23505"
    assert 'DROP INDEX CONCURRENTLY "public"."t_v";' in (caught.value.hint or "")
    preview = repair(pg_database.url, tmp_path, "mark-rolled-back")
    assert not preview.done and preview.failed is not None
    assert [w.object for w in preview.warnings] == ["public.t_v"]
    assert rows(pg_database)[-1].failed  # a preview changes nothing


def test_repair_marks_rolled_back_or_applied(pg_database: TestDatabase,
                                             tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a (id int);\nSELECT 1/0;",
          "DROP TABLE a;", up_tx=False)
    with pytest.raises(MigrationFailed):
        up(pg_database.url, tmp_path)
    assert repair(pg_database.url, tmp_path, "mark-applied", execute=True).done
    [row] = rows(pg_database)
    assert (row.status, row.method) == ("applied", "repair")
    rollback(pg_database.url, tmp_path)
    assert rows(pg_database) == [] and not table_exists(pg_database, "a")

    with pytest.raises(MigrationFailed):
        up(pg_database.url, tmp_path)
    with pg_database.connect() as conn:
        conn.execute("DROP TABLE a")  # undo by hand what ran
    assert repair(pg_database.url, tmp_path, "mark-rolled-back", execute=True).done
    assert rows(pg_database) == []
    nothing = repair(pg_database.url, tmp_path, "mark-rolled-back", execute=True)
    assert nothing.failed is None and not nothing.done
    kinds = [k for k, _ in events(pg_database)]
    assert kinds == ["fail", "repair", "rollback", "fail", "repair"]


def test_rollback_undoes_the_last_applied_not_the_highest_version(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    # dbmate rolls back the highest version instead (amacneil/dbmate#30).
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    write(tmp_path, "20240103_c.sql", "CREATE TABLE c ();", "DROP TABLE c;")
    up(pg_database.url, tmp_path)
    write(tmp_path, "20240102_b.sql", "CREATE TABLE b ();", "DROP TABLE b;")
    with pytest.raises(Refused, match="sort before 20240103") as caught:
        up(pg_database.url, tmp_path)
    assert caught.value.path == tmp_path / "20240102_b.sql"
    up(pg_database.url, tmp_path, allow_out_of_order=True)
    assert [d.version for d in rollback(pg_database.url, tmp_path).done] == ["20240102"]
    assert table_exists(pg_database, "c") and not table_exists(pg_database, "b")
    result = rollback(pg_database.url, tmp_path, to="20240101")
    assert [d.version for d in result.done] == ["20240103"]
    with pytest.raises(UsageError, match="only 1 migration"):
        rollback(pg_database.url, tmp_path, steps=2)
    with pytest.raises(UsageError, match="not applied"):
        rollback(pg_database.url, tmp_path, to="20240103")


def test_rollback_runs_the_stored_down(pg_database: TestDatabase, tmp_path: Path) -> None:
    path = write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    up(pg_database.url, tmp_path)
    path.unlink()  # the file is gone: the down stored at apply time still runs
    rollback(pg_database.url, tmp_path)
    assert not table_exists(pg_database, "a")

    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    up(pg_database.url, tmp_path)
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();",
          "DROP TABLE a;\nCREATE TABLE file_down_ran ();")
    result = rollback(pg_database.url, tmp_path, dry_run=True)
    assert result.plan.steps[0].down_source == "stored"
    assert "differs from the one stored" in result.plan.notes[0]
    rollback(pg_database.url, tmp_path)
    assert not table_exists(pg_database, "file_down_ran")

    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    up(pg_database.url, tmp_path)
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();",
          "DROP TABLE a;\nCREATE TABLE file_down_ran ();")
    rollback(pg_database.url, tmp_path, use_file_down=True)
    assert table_exists(pg_database, "file_down_ran")
    with pg_database.connect() as conn:
        detail = [e.detail for e in history.events(conn) if e.kind == "rollback"]
    assert [d["down"] for d in detail] == ["stored", "stored", "file"]


def test_irreversible_rollback_is_refused_before_anything_runs(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    write(tmp_path, "20240102_b.sql", "ALTER TABLE a ADD COLUMN x int;", "-- no way back")
    write(tmp_path, "20240103_c.sql", "CREATE TABLE c ();", "DROP TABLE c;")
    write(tmp_path, "20240104_noop.sql", "-- nothing here", "-- nothing to undo")
    up(pg_database.url, tmp_path)
    with pytest.raises(IrreversibleMigration, match="20240102") as caught:
        rollback(pg_database.url, tmp_path, everything=True)
    assert caught.value.exit_code == 4
    assert caught.value.path == tmp_path / "20240102_b.sql"
    assert caught.value.message.startswith("cannot roll back 20240102 (20240102_b.sql): its "
                                           "down section has no statements")
    assert (caught.value.hint or "").startswith(
        "`pgkeel migrate rollback --to 20240102` rolls back the 2 migration(s) applied after it")
    assert table_exists(pg_database, "c") and len(rows(pg_database)) == 4
    # An up that ran nothing is undone by running nothing.
    result = rollback(pg_database.url, tmp_path, steps=2)
    assert [d.version for d in result.done] == ["20240104", "20240103"]
    report = status(pg_database.url, tmp_path)
    assert [m.version for m in report.irreversible] == ["20240102"]


def test_a_noop_down_rolls_back_without_running_sql(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a (x int);", "DROP TABLE a;")
    path = tmp_path / "20240102_backfill.sql"
    path.write_text("-- migrate:up\nINSERT INTO a VALUES (1);\n\n-- migrate:down noop:true\n"
                    "-- The row may stay: nothing reads it before 20240102.\n")
    up(pg_database.url, tmp_path)
    assert [r.down.noop for r in rows(pg_database)] == [False, True]
    entry = status(pg_database.url, tmp_path).migrations[1]
    assert (entry.reversible, entry.noop_down) == (True, True)

    planned = rollback(pg_database.url, tmp_path, dry_run=True).plan.steps
    assert [(s.version, s.noop, s.statements) for s in planned] == [("20240102", True, ())]
    result = rollback(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240102"]
    with pg_database.connect() as conn:
        assert conn.execute("SELECT x FROM a").fetchall() == [(1,)]  # no SQL ran
        rollback_event = history.events(conn)[-1]
    assert [r.version for r in rows(pg_database)] == ["20240101"]
    assert (rollback_event.kind, rollback_event.version) == ("rollback", "20240102")
    assert rollback_event.detail["down"] == "stored"


def test_a_down_made_noop_after_apply_needs_use_file_down(pg_database: TestDatabase,
                                                          tmp_path: Path) -> None:
    path = write(tmp_path, "20240101_backfill.sql", "CREATE TABLE a (x int);", "-- none")
    up(pg_database.url, tmp_path)
    path.write_text(path.read_text().replace("-- migrate:down", "-- migrate:down noop:true"))
    # The stored down, the one that runs by default, is still the empty one.
    with pytest.raises(IrreversibleMigration) as caught:
        rollback(pg_database.url, tmp_path)
    assert "'-- migrate:down noop:true') and run `pgkeel migrate rollback --use-file-down`" \
        in (caught.value.hint or "")
    assert "differs from the one stored" in rollback(
        pg_database.url, tmp_path, dry_run=True, use_file_down=True).plan.notes[0]
    result = rollback(pg_database.url, tmp_path, use_file_down=True)
    assert [d.version for d in result.done] == ["20240101"] and rows(pg_database) == []
    assert table_exists(pg_database, "a")


def test_applied_file_edit_is_refused_but_line_endings_are_not(
        pg_database: TestDatabase, three: Path) -> None:
    up(pg_database.url, three)
    path = three / "20240101_users.sql"
    text = path.read_bytes()
    path.write_bytes(codecs.BOM_UTF8 + text.replace(b"\n", b"\r\n"))
    assert up(pg_database.url, three).done == ()
    assert validate(pg_database.url, three).ok
    path.write_bytes(text.replace(b"email text", b"email varchar"))
    with pytest.raises(ChecksumMismatch, match=r"20240101_users\.sql") as caught:
        up(pg_database.url, three)
    assert caught.value.path == path
    with pytest.raises(ChecksumMismatch):
        up(pg_database.url, three, dry_run=True)
    result = validate(pg_database.url, three)
    assert not result.ok and [m.version for m in result.changed] == ["20240101"]


def test_up_to_a_version_and_dry_run(pg_database: TestDatabase, three: Path) -> None:
    planned = up(pg_database.url, three, dry_run=True)
    assert planned.dry_run and [s.version for s in planned.plan.steps] == [
        "20240101", "20240102", "20240103"]
    with pg_database.connect() as conn:  # a dry run does not even create the history
        assert conn.execute("SELECT to_regnamespace('pgkeel')").fetchone() == (None,)
    assert [d.version for d in up(pg_database.url, three, to="20240102").done] == [
        "20240101", "20240102"]
    with pytest.raises(UsageError, match="no migration has that version"):
        up(pg_database.url, three, to="20991231")


def test_each_migration_starts_with_a_clean_session(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    # psql -f per file would never carry a SET into the next file; neither does pgkeel.
    write(tmp_path, "20240101_elsewhere.sql",
          "CREATE SCHEMA other;\nSET search_path = other;\nCREATE TABLE in_other ();",
          "DROP SCHEMA other CASCADE;")
    write(tmp_path, "20240102_here.sql", "CREATE TABLE here ();", "DROP TABLE here;")
    up(pg_database.url, tmp_path)
    assert table_exists(pg_database, "other.in_other")
    assert table_exists(pg_database, "public.here")


def test_not_valid_constraints_are_reported_after_up(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql",
          "CREATE TABLE t (id int);\nALTER TABLE t ADD CONSTRAINT t_pos CHECK (id > 0) NOT VALID;",
          "DROP TABLE t;")
    [warning] = up(pg_database.url, tmp_path).warnings
    assert (warning.rule, warning.object) == ("not-valid-constraint", "public.t.t_pos")
    assert warning.fix == 'ALTER TABLE "public"."t" VALIDATE CONSTRAINT "t_pos";'


def test_lock_timeout_is_retried_then_names_the_blocker(pg_database: TestDatabase,
                                                        tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    write(tmp_path, "20240102_alter.sql", "ALTER TABLE t ADD COLUMN x int;",
          "ALTER TABLE t DROP COLUMN x;")
    up(pg_database.url, tmp_path, to="20240101")
    seen: list[ProgressEvent] = []
    with pg_database.connect(autocommit=False) as blocker:
        blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
        pid = blocker.info.backend_pid
        with pytest.raises(MigrationFailed) as caught:
            up(pg_database.url, tmp_path, lock_timeout_s=0.2, retry=FAST_RETRY,
               progress=seen.append)
    assert caught.value.sqlstate == "55P03"
    assert f"blocked by pid {pid}" in (caught.value.hint or "")
    assert "LOCK TABLE t IN ACCESS SHARE MODE" in (caught.value.hint or "")
    assert [e.kind for e in seen].count("retry") == 2
    assert [r.version for r in rows(pg_database)] == ["20240101"]

    # A blocker that goes away during the backoff costs a retry, not a failure.
    blocker = pg_database.connect(autocommit=False)
    blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
    releaser = threading.Timer(0.3, blocker.close)
    releaser.start()
    result = up(pg_database.url, tmp_path, lock_timeout_s=0.2,
                retry=RetryPolicy(attempts=6, base_delay_s=0.1, max_delay_s=0.2))
    releaser.join()
    assert [d.version for d in result.done] == ["20240102"]


def test_a_second_runner_waits_then_names_the_holder(pg_database: TestDatabase,
                                                     three: Path) -> None:
    with pg_database.connect() as conn, AdvisoryLock(conn, wait_s=0):
        pid = conn.info.backend_pid
        started = time.monotonic()
        with pytest.raises(LockNotAcquired) as caught:
            up(pg_database.url, three, lock_wait_s=0.3)
        assert time.monotonic() - started >= 0.3
        assert status(pg_database.url, three).lock_holder is not None
    assert f"pid {pid} (application_name 'pgkeel')" in str(caught.value)
    assert caught.value.exit_code == 4
    assert not table_exists(pg_database, "users")


def test_redo_runs_the_stored_down_then_the_edited_file(pg_database: TestDatabase,
                                                        tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    up(pg_database.url, tmp_path)
    edited = write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int, x int);",
                   "DROP TABLE t;")
    result = redo(pg_database.url, tmp_path)
    assert [(d.direction, d.version) for d in result.done] == [
        ("down", "20240101"), ("up", "20240101")]
    [row] = rows(pg_database)
    assert row.checksum == read_migration(edited).checksum
    with pg_database.connect() as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == []


def test_baseline_adopts_a_database_without_running_anything(pg_database: TestDatabase,
                                                             three: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE users (id bigint PRIMARY KEY, email text)")
    with pytest.raises(UsageError):
        baseline(pg_database.url, three, "20240199")
    result = baseline(pg_database.url, three, "20240101")
    assert [m.version for m in result.recorded] == ["20240101"]
    [row] = rows(pg_database)
    assert (row.method, row.down.statements) == ("baseline", ("DROP TABLE users",))
    assert events(pg_database) == [("baseline", "20240101")]
    with pytest.raises(Refused, match="already holds 1"):
        baseline(pg_database.url, three, "20240102")
    assert [d.version for d in up(pg_database.url, three).done] == ["20240102", "20240103"]


def test_status_shows_every_state(pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a ();", "DROP TABLE a;")
    gone = write(tmp_path, "20240102_b.sql", "CREATE TABLE b ();", "DROP TABLE b;")
    changed = write(tmp_path, "20240103_c.sql", "CREATE TABLE c ();", "")
    write(tmp_path, "20240105_e.sql", "CREATE TABLE e (id int);\nSELECT 1/0;", "",
          up_tx=False)
    with pytest.raises(MigrationFailed):
        up(pg_database.url, tmp_path)
    gone.unlink()
    changed.write_text(changed.read_text().replace("c ()", "c (id int)"))
    write(tmp_path, "20240104_d.sql", "CREATE TABLE d ();", "DROP TABLE d;")
    write(tmp_path, "20240106_f.sql", "CREATE TABLE f ();", "DROP TABLE f;")
    report = status(pg_database.url, tmp_path)
    states = {m.version: (m.state, m.reversible, m.out_of_order) for m in report.migrations}
    assert states == {
        "20240101": ("applied", True, False),
        "20240102": ("missing", True, False),
        "20240103": ("changed", False, False),
        "20240104": ("pending", True, True),
        "20240105": ("failed", False, False),
        "20240106": ("pending", True, False),
    }
    data = report.to_dict()
    assert data["counts"] == {"applied": 1, "pending": 2, "failed": 1, "changed": 1,
                              "missing": 1, "irreversible": 2}
    failed = next(m for m in data["migrations"] if m["state"] == "failed")
    assert failed["failure"]["statement_index"] == 1
    assert failed["failure"]["sqlstate"] == "22012"


def test_a_deferred_constraint_fails_at_commit(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    write(tmp_path, "20240101_deferred.sql",
          "CREATE TABLE p (id int PRIMARY KEY);\n"
          "CREATE TABLE c (p_id int REFERENCES p DEFERRABLE INITIALLY DEFERRED);\n"
          "INSERT INTO c VALUES (1);", "DROP TABLE c;\nDROP TABLE p;")
    with pytest.raises(MigrationFailed, match="at COMMIT") as caught:
        up(pg_database.url, tmp_path)
    assert (caught.value.sqlstate, caught.value.statement_index) == ("23503", 3)
    assert rows(pg_database) == [] and not table_exists(pg_database, "p")


def test_backup_uses_a_pg_dump_at_least_as_new_as_the_server() -> None:
    majors = sorted(b.major for b in available_binaries())
    assert pg_dump_for(majors[0]).major == majors[0]  # the closest, not the newest
    assert pg_dump_for(majors[-1]).major == majors[-1]
    with pytest.raises(ClusterError, match=f"no pg_dump of PostgreSQL {majors[-1] + 1}"):
        pg_dump_for(majors[-1] + 1)
