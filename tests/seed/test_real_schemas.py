"""fill() on the Pagila, Chinook and Northwind schemas (../shared/data), emptied first:
every table gets rows and every foreign key and CHECK holds, checked with separate SQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from conftest import shared_path
from fill_helpers import broken_constraints, empty_tables

from pgkeel.connect import connect
from pgkeel.seed import fill
from pgkeel.testing import TestCluster


def _pagila(cluster: TestCluster) -> str:
    name = cluster.create_database()
    cluster.psql_file(name, shared_path("pagila", "pagila-schema.sql"))
    return name


def _chinook(cluster: TestCluster) -> str:
    # the script drops, creates and \c-connects to its own database, "chinook"
    cluster.psql_file("postgres", shared_path("chinook", "Chinook_PostgreSql.sql"))
    return "chinook"


def _northwind(cluster: TestCluster) -> str:
    name = cluster.create_database()
    cluster.psql_file(name, shared_path("northwind", "northwind.sql"))
    return name


@pytest.mark.parametrize("load", [_pagila, _chinook, _northwind],
                         ids=["pagila", "chinook", "northwind"])
def test_real_schema_fills_validly(pg_cluster: TestCluster,
                                   load: Callable[[TestCluster], str]) -> None:
    name = load(pg_cluster)
    try:
        with connect(pg_cluster.url(name), autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                "WHERE schemaname = 'public'")]
            conn.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            report = fill(conn, rows=200, seed=1)
            assert report.problems == ()
            assert empty_tables(conn) == []
            assert broken_constraints(conn) == []
    finally:
        pg_cluster.drop_database(name)

