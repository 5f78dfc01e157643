"""snapshot() runs a fixed number of queries, whatever the number of tables."""

from __future__ import annotations

from typing import Any

import psycopg

from pgkeel.catalog import Snapshot, snapshot
from pgkeel.testing import TestDatabase


def _schema(tables: int) -> str:
    # Each table: a primary key, a foreign key to the previous one, an index, a check.
    return "".join(
        f"CREATE TABLE t{i} (id int PRIMARY KEY, prev int REFERENCES t{max(i - 1, 0)},"
        f" v text CHECK (v <> ''));"
        f"CREATE INDEX t{i}_v_idx ON t{i} (v);"
        for i in range(tables)
    )


def _counted_snapshot(db: TestDatabase) -> tuple[Snapshot, int]:
    """Take a snapshot on a connection whose cursors count every statement sent."""
    sent: list[object] = []

    class Counting(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append(query)
            return super().execute(query, *args, **kwargs)

    with db.connect() as conn:
        conn.cursor_factory = Counting
        snap = snapshot(conn)
    return snap, len(sent)


def test_query_count_does_not_grow_with_tables(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(_schema(5))
    small, small_sent = _counted_snapshot(pg_database)
    with pg_database.connect() as conn:
        conn.execute(_schema(200).replace("CREATE TABLE t", "CREATE TABLE IF NOT EXISTS t")
                     .replace("CREATE INDEX t", "CREATE INDEX IF NOT EXISTS t"))
    large, large_sent = _counted_snapshot(pg_database)

    assert (len(small.tables), len(large.tables)) == (5, 200)
    assert sum(len(t.foreign_keys) for t in large.tables) == 200
    assert small.queries == large.queries == 19
    # Everything sent: the catalog queries plus SET TRANSACTION, nothing per table.
    assert small_sent == large_sent == large.queries + 1
