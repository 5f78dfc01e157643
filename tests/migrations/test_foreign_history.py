"""A database another tool migrated: ``up`` refuses to run its migrations again and
names the ``baseline`` that adopts them; after it, only the new migration runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.errors import Refused
from pgkeel.migrations import baseline, up
from pgkeel.testing import TestDatabase


def _folder(tmp_path: Path) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    # Idempotent ups, as Supabase's dbmate files are: running them again would not fail,
    # it would insert the rows again.
    for version, name in (("20211115181400", "update-auth-permissions"),
                          ("20211118015519", "create-log"),
                          ("20211201000000", "new-one")):
        write(migrations, f"{version}_{name}.sql",
              "CREATE TABLE IF NOT EXISTS log (v text);\n"
              f"INSERT INTO log VALUES ('{version}');", "SELECT 1;")
    return migrations


def _rows(db: TestDatabase) -> list[str]:
    with db.connect() as conn:
        return [str(r[0]) for r in conn.execute("SELECT v FROM log ORDER BY v").fetchall()]


def test_dbmate_history_is_adopted_not_run_again(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    migrations = _folder(tmp_path)
    with pg_database.connect() as conn:  # what dbmate left: its table and the rows
        conn.execute("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY);"
                     "INSERT INTO schema_migrations VALUES ('20211115181400'),"
                     " ('20211118015519');"
                     "CREATE TABLE log (v text);"
                     "INSERT INTO log VALUES ('20211115181400'), ('20211118015519')")
    for dry_run in (True, False):
        with pytest.raises(Refused) as refused:
            up(pg_database.url, migrations, dry_run=dry_run)
        assert "dbmate's migration history (schema_migrations: 2 version(s))" in str(
            refused.value)
        assert "`pgkeel migrate baseline 20211118015519` (20211118015519_create-log.sql" \
            in (refused.value.hint or "")
    assert _rows(pg_database) == ["20211115181400", "20211118015519"]
    baseline(pg_database.url, migrations, "20211118015519")
    result = up(pg_database.url, migrations)
    assert [d.version for d in result.done] == ["20211201000000"]
    assert _rows(pg_database) == ["20211115181400", "20211118015519", "20211201000000"]


def test_golang_migrate_last_version_and_a_gap_are_named(pg_database: TestDatabase,
                                                         tmp_path: Path) -> None:
    migrations = _folder(tmp_path)
    with pg_database.connect() as conn:  # golang-migrate: one row, the last version
        conn.execute("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY,"
                     " dirty boolean NOT NULL); INSERT INTO schema_migrations"
                     " VALUES (20211118015519, false)")
    with pytest.raises(Refused) as refused:
        up(pg_database.url, migrations)
    assert "golang-migrate's migration history" in str(refused.value)
    assert "baseline 20211118015519" in (refused.value.hint or "")
    with pg_database.connect() as conn:  # dbmate never applied the first file
        conn.execute("DROP TABLE schema_migrations; CREATE TABLE schema_migrations"
                     " (version varchar PRIMARY KEY);"
                     " INSERT INTO schema_migrations VALUES ('20211118015519')")
    with pytest.raises(Refused) as refused:
        up(pg_database.url, migrations)
    assert "it would also mark 20211115181400_update-auth-permissions.sql as applied" in (
        refused.value.hint or "")
    with pg_database.connect() as conn:  # versions of no file here: another app's table
        conn.execute("TRUNCATE schema_migrations;"
                     " INSERT INTO schema_migrations VALUES ('20190101000000')")
    assert len(up(pg_database.url, migrations).done) == 3
