"""Northwind and Chinook through the data-reading type rules, fixes proved on their rows.

Northwind keeps money in ``real`` (``orders.freight``, ``unit_price``) and discounts
as fractions (``discount real``: not money). Chinook keeps dates as midnight
``timestamp`` values (``invoice_date``, ``birth_date``, ``hire_date``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import shared_path
from rule_helpers import prove_fixes

from pgkeel.testing import TestCluster, TestDatabase


@pytest.fixture
def northwind(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    name = pg_cluster.create_database("northwind")
    try:
        pg_cluster.psql_file(name, shared_path("northwind", "northwind.sql"))
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def chinook(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    # The script drops, creates and connects to its own database "chinook".
    pg_cluster.psql_file("postgres", shared_path("chinook", "Chinook_PostgreSql.sql"))
    try:
        yield TestDatabase("chinook", pg_cluster.url("chinook"), pg_cluster)
    finally:
        pg_cluster.drop_database("chinook")


def test_northwind_money(northwind: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(northwind, "float-for-money", "", tmp_path)
    assert set(found) == {"public.orders.freight", "public.order_details.unit_price",
                          "public.products.unit_price"}
    assert found["public.orders.freight"].message.endswith(
        "numeric(12, 2) holds each of its 830 values exactly (read from the data)")


def test_chinook_dates(chinook: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(chinook, "timestamp-without-time-zone", "", tmp_path)
    assert set(found) == {"public.invoice.invoice_date", "public.employee.birth_date",
                          "public.employee.hire_date"}
    assert all("is midnight (read from the data): it holds dates" in f.message
               for f in found.values())
