"""Scratch databases: created from a template, migrated, always dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.connect import connect
from pgkeel.errors import DatabaseError
from pgkeel.migrations import scratch
from pgkeel.testing import TestDatabase


def databases(url: str) -> set[str]:
    with connect(url) as conn:
        return {str(r[0]) for r in conn.execute("SELECT datname FROM pg_database")}


def test_migrated_applies_up_to_a_version_and_drops(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    write(tmp_path, "20240101_a.sql", "CREATE TABLE a (id int)", "DROP TABLE a")
    write(tmp_path, "20240102_b.sql", "CREATE TABLE b (id int)", "DROP TABLE b")
    before = databases(pg_database.url)
    with scratch.migrated(pg_database.url, tmp_path, to="20240101") as db:
        assert db.name.startswith(scratch.PREFIX) and db.name in databases(pg_database.url)
        with connect(db.url) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relname IN ('a', 'b')")}
        assert tables == {"a"}
    assert databases(pg_database.url) == before


def test_scratch_is_dropped_after_an_error_and_copies_its_template(
        pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE kept (id int)")
    with pytest.raises(RuntimeError), \
            scratch.scratch(pg_database.cluster.url(), template=pg_database.name) as db:
        with connect(db.url) as conn:
            assert conn.execute("SELECT to_regclass('kept') IS NOT NULL").fetchone() == (True,)
        raise RuntimeError("boom")
    assert not any(n.startswith(scratch.PREFIX) for n in databases(pg_database.url))


def test_refuses_to_drop_other_databases_and_names_a_missing_template(
        pg_database: TestDatabase) -> None:
    with pytest.raises(ValueError, match="not a scratch database"):
        scratch.drop(pg_database.url, pg_database.name)
    with pytest.raises(DatabaseError, match="cannot create a scratch database") as caught:
        scratch.create(pg_database.url, template="no_such_template")
    assert caught.value.hint and "no_such_template" in caught.value.hint
