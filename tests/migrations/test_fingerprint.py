"""The catalog fingerprint: equal when compare() sees no difference, else different."""

from __future__ import annotations

import pytest

from pgkeel.catalog import snapshot
from pgkeel.catalog.diff import compare
from pgkeel.migrations._fingerprint import fingerprint
from pgkeel.testing import TestDatabase

BASE = """
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    customer_id bigint REFERENCES customers (id),
    total numeric(10,2) NOT NULL DEFAULT 0 CHECK (total >= 0),
    note text,
    mood mood,
    UNIQUE (customer_id, note)
);
CREATE INDEX idx_orders_customer ON orders (customer_id) INCLUDE (total);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON orders FOR SELECT USING (customer_id > 0);
CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100;
CREATE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT i + 1';
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER orders_touch BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION touch();
CREATE ROLE fp_reader;
"""

# Each changes something compare() reports.
CHANGES = [
    "ALTER TABLE orders ADD COLUMN shipped_at timestamptz",
    "ALTER TABLE orders ALTER COLUMN note TYPE varchar(20)",
    "ALTER TABLE orders ALTER COLUMN note SET NOT NULL",
    "ALTER TABLE orders ALTER COLUMN total SET DEFAULT 1",
    "DROP INDEX idx_orders_customer",
    "DROP INDEX idx_orders_customer; CREATE INDEX idx_orders_customer ON orders "
    "(customer_id, total)",
    "ALTER TABLE orders DROP CONSTRAINT orders_customer_id_note_key; ALTER TABLE orders ADD "
    "CONSTRAINT orders_customer_id_note_key UNIQUE NULLS NOT DISTINCT (customer_id, note)",
    "ALTER TABLE orders DISABLE ROW LEVEL SECURITY",
    "ALTER POLICY tenant_read ON orders USING (customer_id > 1)",
    "GRANT SELECT ON orders TO fp_reader",
    "ALTER TYPE mood ADD VALUE 'happy'",
    "ALTER DOMAIN positive SET NOT NULL",
    "COMMENT ON COLUMN orders.note IS 'x'",
    "COMMENT ON INDEX idx_orders_customer IS 'x'",
    "COMMENT ON SCHEMA public IS 'x'",
    "CREATE OR REPLACE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 200",
    "CREATE OR REPLACE FUNCTION add_one(i integer) RETURNS integer LANGUAGE sql IMMUTABLE "
    "AS 'SELECT i + 2'",
    "ALTER FUNCTION add_one(integer) OWNER TO fp_reader",
    "ALTER TABLE orders DISABLE TRIGGER orders_touch",
    "ALTER SEQUENCE orders_id_seq OWNED BY NONE",
    "ALTER SEQUENCE orders_id_seq INCREMENT BY 2",
    "ALTER TABLE orders DROP COLUMN note; ALTER TABLE orders ADD COLUMN note text",
    "GRANT fp_reader TO CURRENT_USER",
    "CREATE SCHEMA other",
]


@pytest.fixture
def base(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS fp_reader")
        conn.execute(BASE)
    return pg_database


def test_each_change_changes_the_fingerprint(base: TestDatabase) -> None:
    with base.connect() as conn:
        for change in CHANGES:
            conn.execute("BEGIN")
            before, s0 = fingerprint(conn), snapshot(conn)
            conn.execute(change)
            after, s1 = fingerprint(conn), snapshot(conn)
            conn.execute("ROLLBACK")
            assert compare(s0, s1), change
            assert before != after, change
        conn.execute("REVOKE fp_reader FROM CURRENT_USER")
        conn.execute("DROP OWNED BY fp_reader CASCADE")


def test_what_compare_calls_equal_mostly_hashes_equal(base: TestDatabase) -> None:
    """Undone changes (a column added and dropped, an index dropped and made again,
    statistics, a TOAST table left behind) leave the fingerprint as it was."""
    with base.connect() as conn:
        before = fingerprint(conn)
        conn.execute("ALTER TABLE customers ADD COLUMN bio text")  # makes a TOAST table
        conn.execute("ALTER TABLE customers DROP COLUMN bio")
        conn.execute("DROP INDEX idx_orders_customer")
        conn.execute("CREATE INDEX idx_orders_customer ON orders (customer_id) "
                     "INCLUDE (total)")
        conn.execute("INSERT INTO customers (email) SELECT 'a' FROM generate_series(1, 50)")
        conn.execute("ANALYZE")
        conn.execute("CREATE TEMP TABLE scratch_rows (id int)")
        assert fingerprint(conn) == before
