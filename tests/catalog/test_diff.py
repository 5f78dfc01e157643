"""compare(): two snapshots of one real database, before and after a change."""

from __future__ import annotations

import json

import pytest

from pgkeel.catalog import snapshot
from pgkeel.catalog.diff import AttributeChange, Difference, Wording, compare
from pgkeel.testing import TestDatabase

BASE = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint REFERENCES customers (id),
    total numeric(10,2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    note text,
    mood mood
);
CREATE INDEX idx_orders_customer ON orders (customer_id);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON orders FOR SELECT USING (customer_id > 0);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE
    AS 'SELECT i + 1';
CREATE ROLE diff_reader;
COMMENT ON COLUMN orders.note IS 'free text';
"""

# (statement applied after BASE, expected sentences with the verify wording)
CASES = [
    ("ALTER TABLE orders DROP COLUMN note",
     ["column `orders.note` was not restored by down"]),
    ("ALTER TABLE orders ADD COLUMN shipped_at timestamptz",
     ["column `orders.shipped_at` still exists after down"]),
    ("ALTER TABLE orders ALTER COLUMN note TYPE varchar(20), ALTER COLUMN note SET NOT NULL,"
     " ALTER COLUMN note SET DEFAULT 'x'",
     ["column `orders.note` differs after down: type text → character varying(20); "
      "nullable yes → no; default none → 'x'::character varying"]),
    ("DROP INDEX idx_orders_customer",
     ["index `idx_orders_customer` on `orders` was not restored by down"]),
    ("DROP POLICY tenant_read ON orders",
     ["policy `tenant_read` on `orders` was not restored by down"]),
    ("ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
     ["table `orders` differs after down: rls enabled yes → no"]),
    ("GRANT SELECT ON orders TO diff_reader",
     ["grant to `diff_reader` on table `orders` still exists after down: "
      "privileges none → SELECT"]),
    ("ALTER TYPE mood ADD VALUE 'happy'",
     ["enum `mood` differs after down: labels sad, ok → sad, ok, happy"]),
    ("COMMENT ON COLUMN orders.note IS 'notes'",
     ["column `orders.note` differs after down: comment free text → notes"]),
    ("ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey",
     ["foreign key `orders_customer_id_fkey` on `orders` was not restored by down"]),
    ("CREATE OR REPLACE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 200",
     ["view `big_orders` differs after down: definition SELECT orders.id, orders.total FROM "
      "orders WHERE (orders.total > (100)::numeric); → SELECT orders.id, orders.total FROM "
      "orders WHERE (orders.total > (200)::numeric);"]),
    ("CREATE OR REPLACE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE"
     " AS 'SELECT i + 2'",
     ["function `add_one(i integer)` differs after down: source SELECT i + 1 → SELECT i + 2"]),
    ("COMMENT ON INDEX idx_orders_customer IS 'by customer'",
     ["index `idx_orders_customer` on `orders` differs after down: comment none → by customer"]),
    ("COMMENT ON POLICY tenant_read ON orders IS 'readers'",
     ["policy `tenant_read` on `orders` differs after down: comment none → readers"]),
    ("COMMENT ON CONSTRAINT orders_total_check ON orders IS 'never negative'",
     ["check constraint `orders_total_check` on `orders` differs after down: "
      "comment none → never negative"]),
    ("ALTER FUNCTION add_one(integer) OWNER TO diff_reader",
     ["function `add_one(i integer)` differs after down: owner postgres → diff_reader"]),
    ("ALTER TABLE orders OWNER TO diff_reader",
     ["table `orders` differs after down: owner postgres → diff_reader",
      "sequence `orders_id_seq` differs after down: owner postgres → diff_reader"]),
    ("DROP TABLE orders CASCADE",
     ["view `big_orders` was not restored by down", "table `orders` was not restored by down",
      "sequence `orders_id_seq` was not restored by down"]),
]

VERIFY = Wording(added="still exists after down", removed="was not restored by down",
                 changed="differs after down")


@pytest.fixture
def base(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS diff_reader")
        conn.execute(BASE)
    return pg_database


@pytest.mark.parametrize(("change", "expected"), CASES, ids=[c[0][:40] for c in CASES])
def test_each_change_is_named_in_words(base: TestDatabase, change: str,
                                       expected: list[str]) -> None:
    with base.connect() as conn:
        s0 = snapshot(conn)
        conn.execute(change)
        s2 = snapshot(conn)
        conn.execute("DROP OWNED BY diff_reader CASCADE")
    got = [d.describe(VERIFY) for d in compare(s0, s2)]
    # The view's text differs between PostgreSQL versions; the words around it do not.
    if "big_orders AS" in change:
        got = [g.replace("orders.", "") for g in got]
        expected = [e.replace("orders.", "") for e in expected]
        got = [" ".join(g.split()) for g in got]
    assert got == expected
    assert compare(s0, s0) == ()


def test_unchanged_database_has_no_difference(base: TestDatabase) -> None:
    with base.connect() as conn:
        assert compare(snapshot(conn), snapshot(conn)) == ()


def test_generated_names_compare_by_meaning(base: TestDatabase) -> None:
    """A CHECK dropped and re-added gets a new generated name: the same schema."""
    with base.connect() as conn:
        conn.execute("CREATE TABLE t (a integer CHECK (a > 0), b integer)")
        conn.execute("CREATE INDEX ON t (b)")
        s0 = snapshot(conn)
        # Added while the old one exists, the new one gets the next free name.
        conn.execute("ALTER TABLE t ADD CHECK (a > 0)")
        conn.execute("ALTER TABLE t DROP CONSTRAINT t_a_check")
        conn.execute("CREATE INDEX ON t (b)")
        conn.execute("DROP INDEX t_b_idx")
        s1 = snapshot(conn)
        names = {c.name for c in s1.table("t").check_constraints}  # type: ignore[union-attr]
        assert names == {"t_a_check1"}
        assert compare(s0, s1) == ()
        conn.execute("ALTER INDEX t_b_idx1 RENAME TO by_b")
        renamed = compare(s0, snapshot(conn))
    assert renamed == (Difference("index", "public.t.t_b_idx", "changed",
                                  (AttributeChange("name", "t_b_idx", "by_b"),),
                                  "public.t", "table"),)


def test_column_dropped_and_added_back_in_place_is_equal(base: TestDatabase) -> None:
    """attnum grows when a column comes back: only the order of columns counts."""
    with base.connect() as conn:
        conn.execute("CREATE TABLE u (a int, b int, c int)")
        s0 = snapshot(conn)
        conn.execute("ALTER TABLE u ADD COLUMN d int")
        conn.execute("ALTER TABLE u DROP COLUMN d")
        conn.execute("ALTER TABLE u ADD COLUMN d int")
        conn.execute("ALTER TABLE u DROP COLUMN d")
        assert compare(s0, snapshot(conn)) == ()
        conn.execute("ALTER TABLE u DROP COLUMN a")
        conn.execute("ALTER TABLE u ADD COLUMN a int")
        moved = compare(s0, snapshot(conn))
    assert [d.describe() for d in moved] == [
        "table `u` changed: column order: `a` moved from position 1 to 3"]


def test_to_dict_is_json(base: TestDatabase) -> None:
    with base.connect() as conn:
        s0 = snapshot(conn)
        conn.execute("ALTER TABLE orders ALTER COLUMN note SET NOT NULL")
        (difference,) = compare(s0, snapshot(conn))
    assert json.loads(json.dumps(difference.to_dict())) == {
        "kind": "column", "name": "public.orders.note", "change": "changed",
        "parent": "public.orders", "parent_kind": "table",
        "attributes": [{"attribute": "nullable", "before": True, "after": False}],
    }
