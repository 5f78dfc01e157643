"""``restore --clean`` over a database that already holds a partitioned table.

pg_dump writes each partition's primary key as its own constraint, attached to the
parent's (``INDEX ATTACH``); ``pg_restore --clean`` drops in reverse archive order, so
it drops a partition's key while the parent's still holds it, and PostgreSQL refuses
("cannot drop inherited constraint"). Pagila's ``payment`` has this shape: restoring
its backup with ``--clean`` over a restored copy failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backup_helpers import pgkeel

from pgkeel.testing import TestCluster, TestDatabase

PARTITIONED = """
CREATE TABLE payment (id int NOT NULL, paid date NOT NULL, amount numeric NOT NULL,
                      PRIMARY KEY (paid, id)) PARTITION BY RANGE (paid);
CREATE TABLE payment_2022 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE payment_2023 PARTITION OF payment FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
INSERT INTO payment SELECT g, DATE '2022-01-01' + g, g FROM generate_series(1, 500) g;
"""


@pytest.fixture
def target(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    name = pg_cluster.create_database()
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)


def test_clean_restore_over_partitioned_table(pg_database: TestDatabase,
                                              target: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(PARTITIONED)
    project = str(tmp_path)
    done = pgkeel("backup", "create", "--database-url", pg_database.url, "--project", project)
    assert done.returncode == 0, done.stderr
    done = pgkeel("restore", "latest", "--target", target.url, "--project", project)
    assert done.returncode == 0, done.stderr
    with target.connect() as conn:  # changed after the backup: --clean must undo it
        conn.execute("DELETE FROM payment WHERE id <= 100")
    done = pgkeel("restore", "latest", "--target", target.url, "--project", project,
                  "--clean")
    assert done.returncode == 0, done.stderr
    with target.connect() as conn:
        assert conn.execute("SELECT count(*) FROM payment").fetchone() == (500,)
        # The partitions' keys are attached to the parent's again.
        assert conn.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE c.relkind = 'i' AND c.relname LIKE 'payment_202%'").fetchone() == (2,)
