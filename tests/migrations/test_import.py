"""Importing golang-migrate, diesel and dbmate histories, and the real Harness history."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import shared_path
from psycopg import errors

from pgkeel.errors import MigrationFileError, UsageError
from pgkeel.migrations import discover, read_migration
from pgkeel.migrations._split import split_sql
from pgkeel.migrations.importer import DEFAULT_START, ImportReport, import_history
from pgkeel.migrations.runner import rollback, up
from pgkeel.testing import TestDatabase

CASES = Path(__file__).parent / "cases"
HEADER_UP = re.compile(r"^-- up:   (.+)$", re.MULTILINE)


def originals(path: Path) -> tuple[str, str]:
    """The up and down names a written file's header gives."""
    text = path.read_text()
    up = HEADER_UP.search(text)
    down = re.search(r"^-- down: (.+)$", text, re.MULTILINE)
    assert up and down, text
    return up[1], down[1]


# --- golang-migrate ----------------------------------------------------------------


def test_golang_migrate_pairs_orders_and_converts(tmp_path: Path) -> None:
    source = CASES / "import_golang_migrate"
    report = import_history(source, tmp_path, "golang-migrate", start=DEFAULT_START)
    assert [p.name for p in report.written] == [
        "20000101000000_create_users.sql",
        "20000101000001_add_email.sql",
        "20000101000002_seed.sql",  # 9 sorts before 10: versions are numbers
        "20000101000003_index_email.sql",
    ]
    assert report.unpaired_ups == (source / "9_seed.up.sql",)
    assert report.unpaired_downs == (source / "11_typo.down.sql",)
    assert [(n.path.name, n.note) for n in report.skipped] == [
        ("README.md", "not NNNN_name.up.sql or NNNN_name.down.sql")]
    migrations = discover(tmp_path)
    users, email, seed, index = migrations
    assert originals(users.path) == ("1_create_users.up.sql", "1_create_users.down.sql")
    # The BEGIN/COMMIT wrapper is commented out; the statement between stays.
    assert [s.sql for s in email.up.statements] == ["ALTER TABLE users ADD COLUMN email text"]
    assert "/* BEGIN */;" in email.path.read_text()
    # An up without a down: irreversible, and the header says so.
    assert not seed.reversible and "irreversible" in originals(seed.path)[1]
    assert seed.up.statements[0].sql == "INSERT INTO users VALUES (1, 'café; 100%')"
    # CONCURRENTLY ran upstream outside a transaction; here it needs transaction:false.
    assert not index.up.transaction and not index.down.transaction
    notes = {(n.path.name, n.note.split(":")[0]) for n in report.notes}
    assert ("2_add_email.up.sql", "BEGIN/COMMIT wrapper commented out") in notes
    assert ("10_index_email.up.sql",
            "holds statements PostgreSQL refuses in a transaction block") in notes


def test_unpadded_golang_migrate_versions_are_refused_naming_the_files(tmp_path: Path) -> None:
    # golang-migrate orders 9 before 10 (numbers); as file names 10_... sorts first.
    with pytest.raises(MigrationFileError) as caught:
        import_history(CASES / "import_golang_migrate", tmp_path / "dest", "golang-migrate")
    error = caught.value
    assert error.path == CASES / "import_golang_migrate" and error.exit_code == 2
    assert ("9_seed.up.sql comes before 10_index_email.up.sql upstream, but "
            "10_index_email.sql would sort before 9_seed.sql") in error.message
    assert "zero-padding" in (error.hint or "") and "--start" in (error.hint or "")
    assert not (tmp_path / "dest").exists()


def test_shared_versions_hint_names_their_own_fix(tmp_path: Path) -> None:
    """The fix names what each problem present needs: zero-padding fixes the order of
    9 and 10, never two files that share a version."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("0001_a.up.sql", "0001_b.up.sql", "0002_c.up.sql"):
        (source / name).write_text("SELECT 1;\n")
    with pytest.raises(MigrationFileError) as caught:
        import_history(source, tmp_path / "dest", "golang-migrate")
    assert "version 0001 is shared by 0001_a.up.sql, 0001_b.up.sql" in caught.value.message
    hint = caught.value.hint or ""
    assert "give each migration sharing a version one of its own" in hint
    assert "zero-padding" not in hint and "--start" in hint
    assert not (tmp_path / "dest").exists()


def test_golang_migrate_versions_are_kept_as_digits(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("0188_a.up.sql", "0188_a.down.sql", "0189.up.sql", "0189.down.sql"):
        (source / name).write_text("select 1;\n")
    report = import_history(source, tmp_path / "dest", "golang-migrate")
    assert [p.name for p in report.written] == ["0188_a.sql", "0189_migration_0189.sql"]
    assert [m.version for m in discover(tmp_path / "dest")] == ["0188", "0189"]


def test_down_files_without_statements_become_noop_and_missing_ones_stay_irreversible(
        tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for number, down in [(1, "-- Table was never used, keep deleted.\n"), (2, ""),
                         (3, "BEGIN;\nCOMMIT;\n"), (4, None)]:
        (source / f"{number}_m.up.sql").write_text(f"create table t{number} ();\n")
        if down is not None:
            (source / f"{number}_m.down.sql").write_text(down)
    report = import_history(source, tmp_path / "dest", "golang-migrate")
    assert [p.name for p in report.noop_downs] == ["1_m.down.sql", "2_m.down.sql",
                                                   "3_m.down.sql"]
    assert report.unpaired_ups == (source / "4_m.up.sql",)
    kept, empty, unwrapped, missing = discover(tmp_path / "dest")
    for migration in (kept, empty, unwrapped):
        assert migration.down.noop and migration.reversible
        text = migration.path.read_text()
        assert "\n-- migrate:down noop:true\n" in text
        assert "--   It holds no statements" in text.split("-- migrate:up")[0]
    assert kept.path.read_text().endswith(
        "-- migrate:down noop:true\n-- Table was never used, keep deleted.\n")
    assert not missing.down.noop and not missing.reversible
    assert "irreversible until written" in originals(missing.path)[1]


def test_a_noop_down_stands_alone_on_its_marker(tmp_path: Path) -> None:
    # diesel's run_in_transaction = false would put transaction:false on both markers;
    # a down that runs nothing needs none, and dbmate reads one option there at most.
    directory = tmp_path / "src" / "2018-01-02-103000_add_index"
    directory.mkdir(parents=True)
    (directory / "up.sql").write_text("create index concurrently i on t (a);\n")
    (directory / "down.sql").write_text("-- nothing\n")
    (directory / "metadata.toml").write_text("run_in_transaction = false\n")
    [written] = import_history(tmp_path / "src", tmp_path / "dest", "diesel").written
    migration = read_migration(written)
    assert not migration.up.transaction and migration.down.noop
    assert "\n-- migrate:down noop:true\n" in written.read_text()


def test_timestamps_work_as_versions_and_start_moves_the_versions(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for stamp, title in [("20240301120000", "b"), ("20231201000000", "a")]:
        (source / f"{stamp}_{title}.up.sql").write_text("select 1;\n")
        (source / f"{stamp}_{title}.down.sql").write_text("select 2;\n")
    report = import_history(source, tmp_path / "dest", "golang-migrate",
                            start=datetime(2010, 5, 6, 23, 59, 59))
    assert [p.name for p in report.written] == ["20100506235959_a.sql", "20100507000000_b.sql"]
    assert originals(report.written[0])[0] == "20231201000000_a.up.sql"
    assert datetime(2000, 1, 1, tzinfo=UTC) == DEFAULT_START


def test_an_up_the_parser_rejects_names_the_original_and_writes_nothing(
        tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "1_ok.up.sql").write_text("select 1;\n")
    (source / "2_bad.up.sql").write_text("select 1;\n\nselec 2;\n")
    with pytest.raises(MigrationFileError) as caught:
        import_history(source, tmp_path / "dest", "golang-migrate")
    assert (caught.value.path, caught.value.line) == (source / "2_bad.up.sql", 3)
    assert not (tmp_path / "dest").exists()


def test_a_marker_lookalike_in_an_original_names_the_original_line(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "1_x.up.sql").write_text("select 1;\n-- migrate: down later\nselect 2;\n")
    with pytest.raises(MigrationFileError) as caught:
        import_history(source, tmp_path / "dest", "golang-migrate")
    assert (caught.value.path, caught.value.line) == (source / "1_x.up.sql", 2)


def test_transaction_control_that_is_not_a_wrapper_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "1_x.up.sql").write_text("select 1;\nCOMMIT;\nselect 2;\n")
    with pytest.raises(MigrationFileError, match="transaction control") as caught:
        import_history(source, tmp_path / "dest", "golang-migrate")
    assert (caught.value.path, caught.value.line) == (source / "1_x.up.sql", 2)


# --- diesel and dbmate -------------------------------------------------------------


def test_diesel_directories(tmp_path: Path) -> None:
    source = CASES / "import_diesel"
    report = import_history(source, tmp_path, "diesel")
    assert [p.name for p in report.written] == [  # diesel's versions kept, dashes removed
        "00000000000000_diesel_initial_setup.sql",  # no date, but a version all the same
        "20171212000000_create_users.sql",
        "20180102103000_add_index.sql",
        "20180201000000_backfill.sql",
    ]
    assert report.unpaired_ups == (source / "2018-02-01-000000_backfill" / "up.sql",)
    assert report.unpaired_downs == (source / "2018-03-01-000000_orphan_down" / "down.sql",)
    setup, users, index, backfill = discover(tmp_path)
    assert originals(users.path) == ("2017-12-12-000000_create_users/up.sql",
                                     "2017-12-12-000000_create_users/down.sql")
    assert "BEGIN\n    NEW.updated_at" in setup.up.statements[0].sql  # plpgsql body intact
    assert not index.up.transaction  # metadata.toml: run_in_transaction = false
    assert not backfill.reversible


DIESEL_SHAPES = ["2025-07-31-235959_a", "2025-08-01-000060_x",  # seconds of 60
                 "2025-08-02-120000-0000_y"]  # diesel 2.2's suffix


def test_diesel_2_2_names_and_seconds_of_60_keep_their_versions(
        tmp_path: Path, pg_database: TestDatabase) -> None:
    source = tmp_path / "src"
    for name in DIESEL_SHAPES:
        (source / name).mkdir(parents=True)
        table = name.rsplit("_", 1)[1]
        (source / name / "up.sql").write_text(f"create table {table} (id int);\n")
        (source / name / "down.sql").write_text(f"drop table {table};\n")
    report = import_history(source, tmp_path / "dest", "diesel")
    assert [p.name for p in report.written] == [
        "20250731235959_a.sql", "20250801000060_x.sql", "202508021200000000_y.sql"]
    assert report.notes == ()
    done = up(pg_database.url, tmp_path / "dest").done
    assert [d.version for d in done] == ["20250731235959", "20250801000060",
                                         "202508021200000000"]
    back = rollback(pg_database.url, tmp_path / "dest", everything=True).done
    assert [d.version for d in back] == ["202508021200000000", "20250801000060",
                                         "20250731235959"]


def test_diesel_versions_that_cannot_be_kept_are_all_named(tmp_path: Path) -> None:
    source = tmp_path / "src"
    names = ["2024-05-01-120000_a", "2024-05-01-120000-0000_b",  # a prefix of the other
             "2024-06-01-000000_c", "2024-06-01-000000_d", "draft_e"]
    for name in names:
        (source / name).mkdir(parents=True)
        (source / name / "up.sql").write_text("select 1;\n")
    with pytest.raises(MigrationFileError) as caught:
        import_history(source, tmp_path / "dest", "diesel")
    message = caught.value.message
    assert message.startswith("3 upstream version problem(s)")
    assert "draft_e: version 'draft' is not digits" in message
    assert "version 20240601000000 is shared by 2024-06-01-000000_c, 2024-06-01-000000_d" in (
        message)
    assert ("2024-05-01-120000_a comes before 2024-05-01-120000-0000_b upstream, but "
            "202405011200000000_b.sql would sort before 20240501120000_a.sql") in message
    assert not (tmp_path / "dest").exists()
    # Asked for explicitly, new versions are given in diesel's order.
    renumbered = import_history(source, tmp_path / "dest", "diesel", start=DEFAULT_START)
    assert [originals(p)[0].split("/")[0] for p in renumbered.written] == [
        "2024-05-01-120000_a", "2024-05-01-120000-0000_b", "2024-06-01-000000_c",
        "2024-06-01-000000_d", "draft_e"]


def test_dbmate_files_are_copied_unchanged_under_a_header(tmp_path: Path) -> None:
    source = CASES / "import_dbmate"
    report = import_history(source, tmp_path, "dbmate")
    assert [p.name for p in report.written] == [  # dbmate's versions kept as they are
        "20240119093000_create_users.sql",
        "20240120080000_index_users.sql",
        "20240121_seed.sql",
    ]
    assert [n.path.name for n in report.skipped] == ["schema.sql"]
    for written, original in zip(report.written, sorted(source.glob("2*.sql")), strict=True):
        text = written.read_text()
        assert text.startswith("-- Imported by pgkeel from dbmate")
        assert f"-- Original: {original.name}\n" in text
        assert text.endswith(original.read_text())
    index = read_migration(report.written[1])
    assert not index.up.transaction
    # An empty down section is listed, as a golang-migrate up without a down is.
    assert report.unpaired_ups == (source / "20240121_seed.sql",)


def test_dbmate_s_own_names_are_imported_as_they_are(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    body = "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n"
    names = ["10000000000000_demote-postgres.sql", "20211115181400_update-auth-permissions.sql",
             "9.sql"]
    for name in names:
        (source / name).write_text(body)
    (source / "9-again.sql").write_text(body)  # version 9 twice: dbmate fails on it
    with pytest.raises(MigrationFileError, match=r"version 9 is shared by 9-again\.sql, 9\.sql"):
        import_history(source, tmp_path / "dest", "dbmate")
    (source / "9-again.sql").unlink()
    report = import_history(source, tmp_path / "dest", "dbmate")
    assert [p.name for p in report.written] == names
    assert [m.version for m in discover(tmp_path / "dest")] == [
        "10000000000000", "20211115181400", "9"]


def test_dbmate_multi_section_file_is_refused_with_its_own_line(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "20240119_two.sql").write_text(
        "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n-- migrate:up\nselect 3;\n")
    with pytest.raises(MigrationFileError, match="second '-- migrate:up'") as caught:
        import_history(source, tmp_path / "dest", "dbmate")
    assert (caught.value.path, caught.value.line) == (source / "20240119_two.sql", 5)


def test_upstream_versions_are_kept_and_start_replaces_them(tmp_path: Path) -> None:
    dbmate = tmp_path / "dbmate"
    dbmate.mkdir()
    (dbmate / "20230105101010_create_a.sql").write_text(
        "-- migrate:up\ncreate table a (x int);\n-- migrate:down\ndrop table a;\n")
    assert [p.name for p in import_history(dbmate, tmp_path / "d1", "dbmate").written] == [
        "20230105101010_create_a.sql"]
    diesel = tmp_path / "diesel" / "2023-01-05-101010_x"
    diesel.mkdir(parents=True)
    (diesel / "up.sql").write_text("select 1;\n")
    (diesel / "down.sql").write_text("select 2;\n")
    assert [p.name for p in import_history(diesel.parent, tmp_path / "d2",
                                           "diesel").written] == ["20230105101010_x.sql"]
    golang = tmp_path / "golang"
    golang.mkdir()
    (golang / "0001_a.up.sql").write_text("select 1;\n")
    (golang / "99999999_b.up.sql").write_text("select 1;\n")  # no date, still a version
    assert [p.name for p in import_history(golang, tmp_path / "d3",
                                           "golang-migrate").written] == [
        "0001_a.sql", "99999999_b.sql"]
    # An explicit start gives every migration a new version, kept ones too.
    again = import_history(dbmate, tmp_path / "d4", "dbmate",
                           start=datetime(2025, 1, 1, tzinfo=UTC))
    assert [p.name for p in again.written] == ["20250101000000_create_a.sql"]


# --- destination safety ------------------------------------------------------------


def test_never_overwrites_and_checks_before_writing(tmp_path: Path) -> None:
    source = CASES / "import_golang_migrate"
    dest = tmp_path / "dest"
    import_history(source, dest, "golang-migrate", start=DEFAULT_START)
    before = {p.name: p.read_bytes() for p in dest.iterdir()}
    with pytest.raises(MigrationFileError, match="already exists in the destination"):
        import_history(source, dest, "golang-migrate", start=DEFAULT_START)
    assert {p.name: p.read_bytes() for p in dest.iterdir()} == before  # no temp files either


def test_importing_before_existing_migrations_is_refused_and_start_fixes_it(
        tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "20240101120000_existing.sql").write_text(
        "-- migrate:up\nselect 1;\n-- migrate:down\nselect 2;\n")
    source = tmp_path / "src"
    source.mkdir()
    (source / "0001_a.up.sql").write_text("select 1;\n")
    with pytest.raises(UsageError, match="would sort before 20240101120000_existing") as caught:
        import_history(source, dest, "golang-migrate")
    assert not isinstance(caught.value, MigrationFileError) and caught.value.exit_code == 2
    assert "--start 20240101120001" in (caught.value.hint or "")
    assert sorted(p.name for p in dest.iterdir()) == ["20240101120000_existing.sql"]
    report = import_history(source, dest, "golang-migrate",
                            start=datetime(2024, 1, 1, 12, 0, 1, tzinfo=UTC))
    assert report.written[0].name.startswith("20240101120001_")
    assert discover(dest)[0].name == "existing"


def test_nothing_importable_is_an_error_listing_what_was_seen(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UsageError, match=r"nothing importable for dbmate .*the directory is "
                                         "empty"):
        import_history(empty, tmp_path / "dest", "dbmate")
    with pytest.raises(UsageError, match="nothing importable for diesel") as caught:
        import_history(CASES / "import_golang_migrate", tmp_path / "dest", "diesel")
    assert "1_create_users.up.sql" in caught.value.message
    assert "--from" in (caught.value.hint or "")
    assert not (tmp_path / "dest").exists()


def test_a_dbmate_error_names_the_source_file(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "20240119_no_down.sql").write_text("-- migrate:up\nselect 1;\n")
    with pytest.raises(MigrationFileError, match="no '-- migrate:down' marker") as caught:
        import_history(source, tmp_path / "dest", "dbmate")
    assert caught.value.path == source / "20240119_no_down.sql"


def test_unknown_tool_and_missing_source(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown migration tool"):
        import_history(tmp_path, tmp_path, "flyway")  # type: ignore[arg-type]
    with pytest.raises(MigrationFileError, match="does not exist"):
        import_history(tmp_path / "missing", tmp_path, "dbmate")


# --- the real Harness history ------------------------------------------------------

HARNESS_UNPAIRED_UPS = [
    "0000_alter_table_migrations.up.sql", "0000_create_extension_btree.up.sql",
    "0000_create_extension_citext.up.sql", "0000_create_extension_trgm.up.sql",
    "0001_create_table_a_principals.up.sql", "0001_create_table_b_spaces.up.sql",
    "0001_create_table_c_repositories.up.sql", "0001_create_table_d_paths.up.sql",
    "0001_create_table_e_tokens.up.sql", "0002_create_index_paths_repo_id_is_primary.up.sql",
    "0002_create_index_paths_space_id_is_primary.up.sql",
    "0002_create_index_principals_lower_email.up.sql",
    "0002_create_index_principals_sa_parent_id_sa_parent_type.up.sql",
    "0002_create_index_repositories_parent_id.up.sql",
    "0002_create_index_spaces_parent_id.up.sql", "0002_create_index_tokens_principal_id.up.sql",
    "0003_create_table_pullreqs.up.sql",
    "0004_create_index_pullreqs_source_repo_branch_target_repo_branch.up.sql",
    "0004_create_index_pullreqs_target_repo_id_number.up.sql",
    "0005_create_table_pullreq_activities.up.sql",
    "0006_create_index_pullreq_activities_pullreq_id_order_sub_order.up.sql",
    "0007_create_table_webhooks.up.sql", "0008_create_index_webhooks_repo_id.up.sql",
    "0008_create_index_webhooks_space_id.up.sql", "0009_create_table_webhook_executions.up.sql",
    "0010_create_index_webhook_executions_webhook_id.up.sql",
    "0011_create_table_pullreq_reviews.up.sql",
    "0012_create_index_pullreq_reviews_pullreq_id.up.sql",
    "0026_alter_repo_drop_job_id.up.sql", "0033_alter_ci_tables.up.sql",
]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ImportReport]:
    source = shared_path("harness-migrations", "postgres")
    # Harness's runner keys migrations by whole name, so versions repeat (four 0000_...):
    # they cannot be kept, and only an explicit start gives new ones.
    return source, import_history(source, tmp_path_factory.mktemp("harness"), "golang-migrate",
                                  start=DEFAULT_START)


def test_harness_versions_cannot_be_kept_and_the_error_names_them(tmp_path: Path) -> None:
    source = shared_path("harness-migrations", "postgres")
    with pytest.raises(MigrationFileError) as caught:
        import_history(source, tmp_path / "dest", "golang-migrate")
    assert ("version 0000 is shared by 0000_alter_table_migrations.up.sql, "
            "0000_create_extension_btree.up.sql, 0000_create_extension_citext.up.sql, "
            "0000_create_extension_trgm.up.sql") in caught.value.message
    assert "--start" in (caught.value.hint or "")
    assert not (tmp_path / "dest").exists()


def test_harness_counts_and_unpaired_files(harness: tuple[Path, ImportReport]) -> None:
    _, report = harness
    assert len(report.written) == 209
    assert [p.name for p in report.unpaired_ups] == HARNESS_UNPAIRED_UPS
    assert [p.name for p in report.unpaired_downs] == ["0026_alter_repo_drop_join_id.down.sql"]
    assert report.skipped == ()
    underscored = sorted(n.path.name for n in report.notes if "Harness's runner" in n.note)
    assert underscored == sorted(
        f"{stem}_{direction}.sql" for direction in ("up", "down") for stem in (
            "0021_alter_table_webhook_add_internal", "0029_create_index_job_job_group_id",
            "0058_alter_cde_infraprovisioned", "0115_create_table_favorite_repos"))
    # The one down PostgreSQL cannot parse (MySQL's DROP INDEX ... ON) is kept as a
    # comment, and both the report and the file's header say why.
    [broken] = report.unparsable_downs
    assert broken.path.name == "0029_create_index_job_job_group_id_down.sql"
    assert broken.note == 'PostgreSQL\'s parser says: syntax error at or near "ON" (line 1)'
    [written] = [p for p in report.written if p.name.endswith("_job_job_group_id.sql")]
    header = written.read_text().split("-- migrate:up")[0]
    assert broken.note in header and "irreversible until the down is" in header
    assert read_migration(written).down.statements == ()


def test_harness_keeps_the_original_order_and_names(
        harness: tuple[Path, ImportReport]) -> None:
    source, report = harness
    # Harness's runner applies ups in file-name order (fs.ReadDir in maragudk/migrate).
    expected = sorted(p.name for p in source.iterdir() if re.search(r"[._]up\.sql$", p.name))
    assert [originals(p)[0] for p in report.written] == expected
    migrations = discover(report.dest)
    assert [m.path for m in migrations] == list(report.written)
    assert len(migrations) == 209
    # Irreversible: the 30 ups without a down and the unparsable 0029 down. The six down
    # files holding only comments (or nothing) ran upstream as no-ops: noop:true here.
    assert sum(m.reversible for m in migrations) == 209 - 30 - 1
    assert len(report.unpaired_ups) == 30
    assert [p.name[:4] for p in report.noop_downs] == [
        "0013", "0042", "0043", "0081", "0084", "0121"]
    noop = [m for m in migrations if m.down.noop]
    assert [originals(m.path)[1] for m in noop] == [p.name for p in report.noop_downs]
    assert all(m.reversible and m.down.statements == () for m in noop)
    # Every statement of every original up is there, byte for byte.
    up_files = sorted(p for p in source.iterdir() if re.search(r"[._]up\.sql$", p.name))
    assert [s.sql for m in migrations for s in m.up.statements] == [
        text[s.start:s.end] for path in up_files
        for text in [path.read_text()] for s in split_sql(text)]
    by_name = {m.path.name: m for m in migrations}
    assert by_name["20000101000256_migration_0157.sql"].up.statements


def test_harness_ups_apply_statement_by_statement(harness: tuple[Path, ImportReport],
                                                  pg_database: TestDatabase) -> None:
    """Every split statement runs, in order, each migration in its own transaction."""
    _, report = harness
    with pg_database.connect(autocommit=False) as conn:
        available = conn.execute("SELECT count(*) FROM pg_available_extensions WHERE name IN "
                                 "('uuid-ossp', 'btree_gin', 'citext', 'pg_trgm')").fetchone()
        if available != (4,):
            pytest.skip("the history needs uuid-ossp, btree_gin, citext and pg_trgm")
        conn.execute("CREATE TABLE migrations (version text NOT NULL)")  # Harness's runner's
        conn.commit()
        for migration in discover(report.dest):
            assert migration.up.transaction
            for statement in migration.up.statements:
                try:
                    conn.execute(statement.sql)
                except errors.Error as exc:
                    pytest.fail(f"{migration.path.name}:{statement.line}: {exc}")
            conn.commit()
        tables = conn.execute("SELECT count(*) > 50 FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (True,)
