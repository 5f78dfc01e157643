"""Regressions from the migrations review, against a real server.

A migration that changes role, session authorization or ``search_path`` is recorded
correctly; invalid indexes are named with their DROP in ``status``, the refusal and
``up --resume``; ``validate`` fails on a missing file; backups are owner-only and a
``backups`` file is a clear error; a lock timeout's hint says to retry; ``execution_ms``
after a resume counts both runs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.cluster import available_binaries
from pgkeel.errors import FailedMigrationBlocks, MigrationFailed, UsageError
from pgkeel.migrations import RetryPolicy, history, up
from pgkeel.migrations.backup import dump
from pgkeel.testing import TestDatabase

FAST_RETRY = RetryPolicy(attempts=2, base_delay_s=0.05, max_delay_s=0.1)




def cli(*args: str, project: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "migrate", *args, "-d", url,
                           "--project", str(project)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def owner(db: TestDatabase, relation: str) -> str | None:
    with db.connect() as conn:
        row = conn.execute("SELECT pg_get_userbyid(relowner) FROM pg_class"
                           " WHERE oid = to_regclass(%s)", (relation,)).fetchone()
    return None if row is None else str(row[0])


@pytest.fixture
def role(pg_database: TestDatabase) -> Iterator[str]:
    """A fresh role name (roles are cluster-wide), dropped with what it owns afterwards."""
    name = f"app_owner_{uuid.uuid4().hex[:8]}"
    yield name
    with pg_database.connect() as conn:
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
            conn.execute(f"DROP OWNED BY {name}")
            conn.execute(f"DROP ROLE {name}")


def test_set_role_in_a_transactional_migration_is_recorded(
        pg_database: TestDatabase, tmp_path: Path, role: str) -> None:
    write(tmp_path, "20240101_owned.sql",
          f"CREATE ROLE {role};\nGRANT CREATE ON SCHEMA public TO {role};\n"
          f"SET ROLE {role};\nSET search_path = pg_temp;\n"
          "CREATE TABLE public.owned2 (id int);", "DROP TABLE owned2;")
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240101"]
    assert owner(pg_database, "public.owned2") == role
    with pg_database.connect() as conn:
        [row] = history.read(conn)
        assert row.status == "applied"
        assert [e.kind for e in history.events(conn)] == ["apply"]


def test_a_failure_after_set_role_names_file_and_line_and_logs_fail(
        pg_database: TestDatabase, tmp_path: Path, role: str) -> None:
    path = write(tmp_path, "20240101_owned.sql",
                 f"CREATE ROLE {role};\nSET ROLE {role};\nINSERT INTO nowhere VALUES (1);")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert (caught.value.path, caught.value.line) == (path, 4)
    with pg_database.connect() as conn:
        assert history.read(conn) == []
        assert [e.kind for e in history.events(conn)] == ["fail"]

    path.unlink()
    path = write(tmp_path, "20240102_owned.sql",
                 f"CREATE ROLE {role};\nSET ROLE {role};\nINSERT INTO nowhere VALUES (1);",
                 up_tx=False)
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert (caught.value.path, caught.value.line) == (path, 4)
    with pg_database.connect() as conn:
        [row] = history.read(conn)
        assert [e.kind for e in history.events(conn)] == ["fail", "fail"]
    assert row.failure is not None
    assert (row.failure.statement_index, row.failure.sqlstate) == (2, "42P01")


def test_set_role_and_session_authorization_outside_a_transaction(
        pg_database: TestDatabase, tmp_path: Path, role: str) -> None:
    # Each statement still runs as the migration set it up; the history as pgkeel.
    write(tmp_path, "20240101_owned.sql",
          f"CREATE ROLE {role};\nGRANT CREATE ON SCHEMA public TO {role};\n"
          f"SET ROLE {role};\nCREATE TABLE owned2 (id int);\nCREATE TABLE owned3 (id int);\n"
          "RESET ROLE;\nCREATE SCHEMA elsewhere;\n"
          f"GRANT USAGE, CREATE ON SCHEMA elsewhere TO {role};\n"
          "SET search_path = elsewhere;\n"
          f"SET SESSION AUTHORIZATION {role};\nCREATE TABLE owned4 (id int);",
          "DROP TABLE elsewhere.owned4, owned3, owned2;", up_tx=False)
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240101"]
    assert owner(pg_database, "public.owned2") == role
    assert owner(pg_database, "public.owned3") == role
    assert owner(pg_database, "elsewhere.owned4") == role
    with pg_database.connect() as conn:
        [row] = history.read(conn)
        assert [e.kind for e in history.events(conn)] == ["apply"]
    assert (row.status, row.statements_done, row.failure) == ("applied", 11, None)


def failed_concurrent_build(db: TestDatabase, directory: Path) -> None:
    write(directory, "20240101_dupes.sql",
          "CREATE TABLE t (v int);\nINSERT INTO t VALUES (1), (1);", "DROP TABLE t;")
    write(directory, "20240102_unique.sql", "CREATE UNIQUE INDEX CONCURRENTLY t_v ON t (v);",
          "DROP INDEX t_v;", up_tx=False)
    with pytest.raises(MigrationFailed):
        up(db.url, directory)


DROP = 'DROP INDEX CONCURRENTLY "public"."t_v";'


def test_an_invalid_index_is_named_with_its_drop_everywhere(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    failed_concurrent_build(pg_database, migrations)

    text = cli("status", project=tmp_path, url=pg_database.url)
    assert text.returncode == 1, text.stderr  # a failed migration: exit 1
    assert "public.t_v" in text.stdout and DROP in text.stdout
    as_json = cli("status", "--format", "json", project=tmp_path, url=pg_database.url)
    [found] = json.loads(as_json.stdout)["invalid_indexes"]
    assert found["index"] == "public.t_v" and DROP in found["fix"]

    with pytest.raises(FailedMigrationBlocks) as refused:
        up(pg_database.url, migrations)
    assert DROP in (refused.value.hint or "") and "--resume" in (refused.value.hint or "")

    with pg_database.connect() as conn:
        conn.execute("DELETE FROM t WHERE ctid <> (SELECT min(ctid) FROM t)")
    with pytest.raises(MigrationFailed) as resumed:
        up(pg_database.url, migrations, resume=True)
    assert resumed.value.sqlstate == "42P07"
    assert DROP in (resumed.value.hint or "") and "earlier failure" in (
        resumed.value.hint or "")

    with pg_database.connect() as conn:
        conn.execute(DROP)
    result = up(pg_database.url, migrations, resume=True)
    assert [(d.version, d.resumed) for d in result.done] == [("20240102", True)]
    clean = cli("status", "--format", "json", project=tmp_path, url=pg_database.url)
    assert json.loads(clean.stdout)["invalid_indexes"] == []


def test_validate_fails_when_an_applied_file_is_gone(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "20240101_a.sql", "CREATE TABLE a (id int);", "DROP TABLE a;")
    gone = write(migrations, "20240102_b.sql", "CREATE TABLE b (id int);", "DROP TABLE b;")
    up(pg_database.url, migrations)
    assert cli("validate", project=tmp_path, url=pg_database.url).returncode == 0
    gone.unlink()
    result = cli("validate", project=tmp_path, url=pg_database.url)
    assert result.returncode == 1
    assert "missing 20240102_b.sql" in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert not last.startswith("ok") and "1 missing" in last
    assert "restore each missing file" in result.stderr


def test_backups_are_owner_only_and_a_backups_file_is_a_clear_error(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    if not available_binaries():
        pytest.skip("no PostgreSQL installation")
    with pg_database.connect() as conn:
        major = conn.info.server_version // 10000
    previous = os.umask(0o022)
    try:
        taken = dump(pg_database.url, tmp_path / "backups", dbname=pg_database.name,
                     server_major=major)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(taken.path.stat().st_mode) == 0o600

    project = tmp_path / "p3"
    (project / "migrations").mkdir(parents=True)
    write(project / "migrations", "20240101_a.sql", "CREATE TABLE a (id int);",
          "DROP TABLE a;")
    (project / "backups").write_text("not a directory\n")
    with pytest.raises(UsageError, match="exists but is not a directory"):
        dump(pg_database.url, project / "backups", dbname=pg_database.name,
             server_major=major)
    result = cli("up", "--backup", project=project, url=pg_database.url)
    assert result.returncode == 2
    assert f"{project / 'backups'} exists but is not a directory" in result.stderr
    assert "Errno" not in result.stderr
    with pg_database.connect() as conn:
        assert history.read(conn) == []


def test_a_lock_timeout_hint_says_to_retry_not_to_fix(pg_database: TestDatabase,
                                                      tmp_path: Path) -> None:
    write(tmp_path, "20240101_t.sql", "CREATE TABLE t (id int);", "DROP TABLE t;")
    write(tmp_path, "20240102_alter.sql", "ALTER TABLE t ADD COLUMN x int;",
          "ALTER TABLE t DROP COLUMN x;")
    up(pg_database.url, tmp_path, to="20240101")
    with pg_database.connect(autocommit=False) as blocker:
        blocker.execute("LOCK TABLE t IN ACCESS SHARE MODE")
        with pytest.raises(MigrationFailed) as caught:
            up(pg_database.url, tmp_path, lock_timeout_s=0.1, retry=FAST_RETRY)
    hint = caught.value.hint or ""
    assert caught.value.sqlstate == "55P03"
    assert "fix it" not in hint
    assert "needs no change" in hint and "--lock-timeout" in hint


def test_execution_ms_after_resume_counts_both_runs(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    path = write(tmp_path, "20240101_slow.sql",
                 "SELECT pg_sleep(0.4);\nINSERT INTO nowhere VALUES (1);", up_tx=False)
    with pytest.raises(MigrationFailed):
        up(pg_database.url, tmp_path)
    path.write_text(path.read_text().replace("INSERT INTO nowhere VALUES (1);", "SELECT 1;"))
    result = up(pg_database.url, tmp_path, resume=True)
    assert result.done[0].execution_ms < 400  # this run: the resumed statement only
    with pg_database.connect() as conn:
        [row] = history.read(conn)
    assert row.status == "applied" and row.execution_ms >= 400


def test_up_with_no_files_but_applied_history_is_a_usage_error(
    pg_database: TestDatabase, tmp_path: Path
) -> None:
    good = tmp_path / "migrations"
    good.mkdir()
    (good / "20240101_t.sql").write_text("-- migrate:up\nCREATE TABLE t ();\n-- migrate:down\n"
                                         "DROP TABLE t;\n")
    up(pg_database.url, good)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(UsageError, match="no migration files found, but the database has 1"):
        up(pg_database.url, empty)
