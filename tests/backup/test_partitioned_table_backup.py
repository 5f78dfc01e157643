"""``backup create --table`` of a partitioned table holds its partitions' rows.

``pg_dump --table`` of a partitioned table dumps the parent alone (PostgreSQL docs,
``pg_dump``: ``--table-and-children``, 16+, is what takes the partitions along), and
the parent holds no rows of its own: a backup of Pagila's ``payment`` made that way
held none of its 16,049 rows, and ``verify`` passed it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgkeel.backup.create import create_backup
from pgkeel.backup.restore import restore_into
from pgkeel.backup.verify import verify_backup
from pgkeel.testing import TestCluster, TestDatabase

PARTITIONED = """
CREATE TABLE payment (id int NOT NULL, paid date NOT NULL, PRIMARY KEY (paid, id))
    PARTITION BY RANGE (paid);
CREATE TABLE payment_2022 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2023-01-01')
    PARTITION BY RANGE (paid);
CREATE TABLE payment_2022_h1 PARTITION OF payment_2022
    FOR VALUES FROM ('2022-01-01') TO ('2022-07-01');
CREATE TABLE payment_2022_h2 PARTITION OF payment_2022
    FOR VALUES FROM ('2022-07-01') TO ('2023-01-01');
CREATE TABLE payment_2023 PARTITION OF payment FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE other (id int);
INSERT INTO payment SELECT g, DATE '2022-01-01' + g FROM generate_series(1, 600) g;
"""


@pytest.fixture
def target(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    name = pg_cluster.create_database()
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)


def test_table_backup_of_partitioned_table_has_its_rows(
        pg_database: TestDatabase, target: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(PARTITIONED)
    made = create_backup(pg_database.url, tmp_path, tables=["payment"])
    assert made.manifest.body["options"]["tables"] == [
        "public.payment", "public.payment_2022", "public.payment_2022_h1",
        "public.payment_2022_h2", "public.payment_2023"]
    checked = verify_backup(made.path, pg_database.url)
    assert checked.ok, checked.problems
    restore_into(made.manifest, made.path, target.url)
    with target.connect() as conn:
        assert conn.execute("SELECT count(*) FROM payment").fetchone() == (600,)
        assert conn.execute("SELECT to_regclass('other')").fetchone() == (None,)


def test_restore_of_one_partitioned_table_brings_its_partitions(
        pg_database: TestDatabase, target: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(PARTITIONED)
    made = create_backup(pg_database.url, tmp_path)
    result = restore_into(made.manifest, made.path, target.url, tables=["payment"])
    assert result.comparison.ok, result.comparison.failures
    with target.connect() as conn:
        assert conn.execute("SELECT count(*) FROM payment").fetchone() == (600,)
        assert conn.execute("SELECT count(*) FROM payment_2022_h2").fetchone() == (184,)
        # The partitions' keys are attached to the parent's, as in the source.
        assert conn.execute("SELECT count(*) FROM pg_inherits h JOIN pg_class c ON c.oid = "
                            "h.inhrelid WHERE c.relkind IN ('i', 'I')").fetchone() == (4,)
        assert conn.execute("SELECT to_regclass('other')").fetchone() == (None,)
