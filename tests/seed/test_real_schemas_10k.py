"""The issue's figure: 10,000 rows per table into the Pagila, Chinook and Northwind
schemas (../shared/data, schema only), every unique key, foreign key and CHECK holding,
checked with separate SQL. Minutes per schema on a shared 2-core machine; the loaders
are those of ``test_real_schemas`` (200 rows, the quick version)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fill_helpers import broken_constraints, empty_tables
from test_real_schemas import _chinook, _northwind, _pagila

from pgkeel.connect import connect
from pgkeel.seed import fill
from pgkeel.testing import TestCluster

ROWS = 10_000


def _duplicate_keys(conn: object) -> list[str]:
    """Unique indexes (partial ones over their predicate) some key value repeats in."""
    found = []
    for table, index, columns, predicate, nulls_distinct in conn.execute(  # type: ignore[attr-defined]
            "SELECT format('%I.%I', n.nspname, t.relname), i.relname, "
            "ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true) "
            "      FROM generate_series(1, x.indnkeyatts) k), "
            "pg_get_expr(x.indpred, x.indrelid), "
            + ("NOT x.indnullsnotdistinct " if conn.info.server_version >= 150000  # type: ignore[attr-defined]
               else "true ")
            + "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE x.indisunique AND n.nspname = 'public' AND t.relkind = 'r'"):
        keys = ", ".join(columns)
        where = [f"({predicate})"] if predicate else []
        if nulls_distinct:
            where += [f"({c}) IS NOT NULL" for c in columns]
        query = (f"SELECT count(*) FROM (SELECT {keys} FROM {table} "
                 f"{'WHERE ' + ' AND '.join(where) if where else ''} "
                 f"GROUP BY {keys} HAVING count(*) > 1) d")
        if conn.execute(query).fetchone()[0]:  # type: ignore[attr-defined]
            found.append(f"{index} on {table}")
    return found


@pytest.mark.parametrize("load", [_pagila, _chinook, _northwind],
                         ids=["pagila", "chinook", "northwind"])
def test_real_schema_fills_10k_rows_per_table(pg_cluster: TestCluster,
                                              load: Callable[[TestCluster], str]) -> None:
    name = load(pg_cluster)
    try:
        with connect(pg_cluster.url(name), autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname = 'public'")]
            conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            report = fill(conn, rows=ROWS, seed=1)
            assert report.problems == ()
            leaves = {t.table: t.rows for t in report.tables}
            assert all(n == ROWS for n in leaves.values()), leaves
            assert empty_tables(conn) == []
            assert broken_constraints(conn) == []
            assert _duplicate_keys(conn) == []
    finally:
        pg_cluster.drop_database(name)
