"""The index, key and column rules on real schemas nobody here wrote: Northwind, Pagila.

Every finding below was read and judged true. The fix script of all of them runs with
psql ``ON_ERROR_STOP``, a re-check no longer reports them and reports nothing new,
and every value reads back the same.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
from conftest import shared_path
from rule_helpers import _table_values, apply_fixes

from pgkeel.lint import lint_database
from pgkeel.report import Finding
from pgkeel.report.findings import sort_findings
from pgkeel.testing import TestCluster, TestDatabase

RULES = [
    "duplicate-index", "redundant-index", "invalid-index", "unused-index",
    "sequence-near-exhaustion", "small-integer-key", "prefer-identity",
    "nullable-foreign-key", "char-type", "varchar-limit", "money-type", "integer-boolean",
    "nullable-boolean", "missing-check-constraint", "naming-convention",
]


@pytest.fixture
def northwind(pg_cluster: TestCluster) -> TestDatabase:
    path = shared_path("northwind", "northwind.sql")
    name = pg_cluster.create_database()
    pg_cluster.psql_file(name, path)
    return TestDatabase(name, pg_cluster.url(name), pg_cluster)


def _by_rule(found: tuple[Finding, ...]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = defaultdict(set)
    for f in found:
        result[f.rule].add(f.object or "")
    return dict(result)


def _fix_all(db: TestDatabase, tmp_path: Path) -> dict[str, set[str]]:
    """Apply every finding's fix of RULES; assert clean, nothing new, values kept.

    Then run the undo of every fix (``fix_down``, last fix first): the same findings
    are back and the values still read the same.
    """
    with db.connect() as conn:
        before_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        found = lint_database(conn, RULES)[1]
        values, types = _table_values(conn)
    fixed = [f for f in found if f.fix]
    apply_fixes(db, fixed, tmp_path)
    with db.connect() as conn:
        after_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        after, _ = _table_values(conn, types)
    assert not {(f.rule, f.object) for f in fixed} & after_all
    assert after_all - before_all == set()
    assert after == values
    undo = tmp_path / "undo.sql"
    undo.write_text("\n".join(f.fix_down or "" for f in reversed(sort_findings(fixed)))
                    + "\n", encoding="utf-8")
    db.run_sql_file(undo)
    with db.connect() as conn:
        assert lint_database(conn, RULES)[1] == found
        assert _table_values(conn, types)[0] == values
    return _by_rule(found)


def test_northwind(northwind: TestDatabase, tmp_path: Path) -> None:
    found = _fix_all(northwind, tmp_path)
    assert set(found) == {"missing-check-constraint", "nullable-foreign-key",
                          "varchar-limit"}
    # prices, quantities, stock, freight, discount: none negative, no CHECK
    assert found["missing-check-constraint"] == {
        "public.order_details.discount", "public.order_details.quantity",
        "public.order_details.unit_price", "public.orders.freight",
        "public.products.unit_price", "public.products.units_in_stock",
        "public.products.units_on_order"}
    # every order has a customer, an employee and a shipper
    assert found["nullable-foreign-key"] == {
        "public.orders.fk_orders_customers", "public.orders.fk_orders_employees",
        "public.orders.fk_orders_shippers"}
    assert len(found["varchar-limit"]) == 55
    assert {"public.customers.company_name", "public.orders.ship_country"} <= (
        found["varchar-limit"])


def test_pagila_fixes(pagila: TestDatabase, tmp_path: Path) -> None:
    found = _fix_all(pagila, tmp_path)
    assert set(found) == {"duplicate-index", "char-type", "integer-boolean",
                          "missing-check-constraint"}
    assert len(found["duplicate-index"]) == 6
    assert found["integer-boolean"] == {"public.customer.active"}  # a view: no fix
