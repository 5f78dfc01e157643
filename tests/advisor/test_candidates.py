"""Candidates read from the parse tree against the real catalog (the shop database)."""

from __future__ import annotations

import pytest
from advisor_helpers import shop_fixture, shop_template_fixture  # noqa: F401

from pgkeel.advisor.candidates import candidates_for
from pgkeel.advisor.shape import query_shape, table_names
from pgkeel.advisor.tableinfo import read_tables
from pgkeel.testing import TestDatabase


def _candidates(db: TestDatabase, query: str, *, trgm: bool = False) -> set[str]:
    with db.connect() as conn:
        tables = read_tables(conn, table_names(query))
    shape = query_shape(query, tables)
    return {c.sql(c.table) for c in candidates_for(shape, tables, trgm=trgm)}


@pytest.mark.parametrize(("query", "wanted", "unwanted"), [
    # equality then ORDER BY, in the query's direction
    ("SELECT id FROM orders WHERE customer_id = 4 ORDER BY created_at DESC LIMIT 20",
     {'CREATE INDEX ON "orders" ("customer_id")',
      'CREATE INDEX ON "orders" ("customer_id", "created_at" DESC)'}, set()),
    # an expression, qualified by an alias in the query, unqualified in the index
    ("SELECT c.id FROM customers c WHERE lower(c.email) = 'x'",
     {'CREATE INDEX ON "customers" ((lower(email)))'}, {'CREATE INDEX ON "customers" ("email")'}),
    # LIKE 'prefix%': products.name has a non-C collation, customers.email the C one
    ("SELECT id FROM products WHERE name LIKE 'gizmo-1%'",
     {'CREATE INDEX ON "products" ("name" text_pattern_ops)'}, set()),
    ("SELECT id FROM customers WHERE email LIKE 'User1%'",
     {'CREATE INDEX ON "customers" ("email")'}, set()),
    # jsonb containment: GIN jsonb_path_ops; key existence: the default jsonb_ops
    ("SELECT id FROM events WHERE payload @> '{\"campaign\": \"c-1\"}'",
     {'CREATE INDEX ON "events" USING gin ("payload" jsonb_path_ops)'}, set()),
    ("SELECT id FROM events WHERE payload ? 'campaign'",
     {'CREATE INDEX ON "events" USING gin ("payload")'}, set()),
    # a rare most-common value becomes a partial index; a common one and a key do not
    ("SELECT id FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 5",
     {"CREATE INDEX ON \"orders\" (\"created_at\") WHERE status = 'pending'",
      'CREATE INDEX ON "orders" ("status", "created_at")'}, set()),
    ("SELECT id FROM orders WHERE status = 'done' ORDER BY created_at LIMIT 5",
     {'CREATE INDEX ON "orders" ("status", "created_at")'},
     {"CREATE INDEX ON \"orders\" (\"created_at\") WHERE status = 'done'"}),
    # a join column on each side, and the filter of the other table
    ("SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id "
     "WHERE c.tier = 'pro' AND o.created_at > now() - interval '1 day'",
     {'CREATE INDEX ON "orders" ("customer_id")', 'CREATE INDEX ON "customers" ("tier")',
      'CREATE INDEX ON "orders" ("customer_id", "created_at")'}, set()),
    # a correlated subquery: the outer column is a value for the inner scope
    ("SELECT id FROM customers c WHERE EXISTS "
     "(SELECT FROM orders o WHERE o.customer_id = c.id AND o.status = 'shipped')",
     {'CREATE INDEX ON "orders" ("customer_id", "status")'}, set()),
    # an UPDATE's WHERE
    ("UPDATE orders SET status = 'done' WHERE customer_id = $1",
     {'CREATE INDEX ON "orders" ("customer_id")'}, set()),
])
def test_candidates(shop: TestDatabase, query: str, wanted: set[str],
                    unwanted: set[str]) -> None:
    found = _candidates(shop, query)
    assert wanted <= found, found
    assert not unwanted & found


def test_trigram_needs_pg_trgm(shop: TestDatabase) -> None:
    query = "SELECT id FROM products WHERE name ILIKE '%zmo-12%'"
    gin = 'CREATE INDEX ON "products" USING gin ("name" gin_trgm_ops)'
    assert gin not in _candidates(shop, query, trgm=False)
    assert gin in _candidates(shop, query, trgm=True)


def test_catalogs_views_and_unknown_names_are_not_tables(shop: TestDatabase) -> None:
    with shop.connect() as conn:
        conn.execute("CREATE VIEW recent AS SELECT * FROM orders")
        tables = read_tables(conn, {'"pg_class"', '"recent"', '"nope"', '"orders"'})
    assert set(tables) == {'"orders"'}
    assert tables['"orders"'].columns["status"].mcv["pending"] == pytest.approx(0.01, abs=0.005)
    assert {ix.name for ix in tables['"orders"'].indexes} == {"orders_pkey"}
