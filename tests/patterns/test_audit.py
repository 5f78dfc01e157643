"""generate audit: audit.record_version with stable record ids, the acting user from
request.jwt.claims, refusal of tables without a primary key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pattern_helpers import check_generated

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.connect import connect
from pgkeel.errors import UsageError
from pgkeel.patterns import audit
from pgkeel.testing import TestDatabase

BASE = """
CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric(10,2) NOT NULL);
CREATE TABLE public.order_items (order_id bigint NOT NULL REFERENCES public.orders (id),
                                 line int NOT NULL, sku text NOT NULL,
                                 PRIMARY KEY (order_id, line));
INSERT INTO public.orders SELECT g, g FROM generate_series(1, 100) g;
INSERT INTO public.order_items SELECT g, 1, 'sku' || g FROM generate_series(1, 100) g;
"""


def exercise(conn: Any) -> None:
    conn.execute("SELECT set_config('request.jwt.claims', "
                 "'{\"sub\": \"u-1\", \"role\": \"authenticated\"}', true)")
    conn.execute("INSERT INTO orders VALUES (1000, 5)")
    conn.execute("UPDATE orders SET total = 6 WHERE id = 1000")
    conn.execute("DELETE FROM orders WHERE id = 1000")
    conn.execute("UPDATE order_items SET sku = 'x' WHERE order_id = 7 AND line = 1")
    got = conn.execute(
        "SELECT op, record_id, old_record_id, auth_uid, auth_role FROM audit.record_version "
        "WHERE table_oid = 'public.orders'::regclass ORDER BY id").fetchall()
    assert [r[0] for r in got] == ["INSERT", "UPDATE", "DELETE"]
    # One stable id for the row through its life.
    ids = {got[0][1], got[1][1], got[1][2], got[2][2]}
    assert len(ids) == 1 and None not in ids
    assert {(r[3], r[4]) for r in got} == {("u-1", "authenticated")}
    # Equal key values in another table never share the id.
    item = conn.execute("SELECT record_id, old_record->>'sku' FROM audit.record_version "
                        "WHERE table_name = 'order_items'").fetchone()
    assert item[1] == "sku7" and item[0] not in ids
    history = conn.execute(
        "SELECT count(*) FROM audit.record_version WHERE record_id = audit.to_record_id("
        "'public.order_items'::regclass, ARRAY['order_id', 'line'], "
        "'{\"order_id\": 7, \"line\": 1}'::jsonb)").fetchone()[0]
    assert history == 1
    conn.execute("TRUNCATE order_items")
    assert conn.execute("SELECT count(*) FROM audit.record_version WHERE op = 'TRUNCATE'"
                        ).fetchone()[0] == 1
    conn.rollback()


def test_audit_two_tables(pg_database: TestDatabase, tmp_path: Path) -> None:
    applied = check_generated(pg_database.url, tmp_path, BASE,
                              lambda s: audit.generate(s, ["orders", "order_items"]),
                              exercise)
    text = applied.path.read_text()
    assert "USING brin (ts)" in text
    assert "audit.record_change('order_id', 'line')" in text


def test_refuses_a_table_without_primary_key(pg_database: TestDatabase) -> None:
    with connect(pg_database.url) as conn:
        conn.execute("CREATE TABLE public.events (at timestamptz, body text)")
        snap = read_catalog(conn)
    with pytest.raises(UsageError, match=r"public\.events has no primary key"):
        audit.generate(snap, ["events"])
