"""snapshot() on Pagila: facts checked against the catalog with independent SQL."""

from __future__ import annotations

import json

from pgkeel.catalog import Snapshot, snapshot
from pgkeel.testing import TestDatabase


def _count(conn: object, query: str) -> int:
    row = conn.execute(query).fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def test_pagila_snapshot(pagila: TestDatabase) -> None:
    with pagila.connect() as conn:
        snap = snapshot(conn)
        # The same facts, counted without pgkeel.
        tables = _count(conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace n"
                              " ON n.oid = c.relnamespace"
                              " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')")
        fks = _count(conn, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                           " AND connamespace = 'public'::regnamespace")
        indexes = _count(conn, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'")
        triggers = _count(conn, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
        columns = _count(conn, "SELECT count(*) FROM information_schema.columns"
                               " WHERE table_schema = 'public'")
        indexdefs = set(conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))
        defaults = set(conn.execute(
            "SELECT table_name, column_name, column_default FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_default IS NOT NULL"))

    assert len(snap.tables) == tables >= 22
    assert sum(len(t.foreign_keys) for t in snap.tables) == fks
    assert sum(len(r.indexes) for r in (*snap.tables, *snap.views)) == indexes
    assert sum(len(t.triggers) for t in snap.tables) == triggers == 15
    # information_schema leaves materialized views out (they are not in the standard).
    assert sum(len(r.columns) for r in (*snap.tables, *snap.views)
               if not getattr(r, "materialized", False)) == columns

    # Definitions and defaults read as PostgreSQL itself writes them.
    assert {(i.name, i.definition) for r in (*snap.tables, *snap.views)
            for i in r.indexes} == indexdefs
    assert {(t.name, c.name, c.default) for t in snap.tables for c in t.columns
            if c.default is not None} == defaults

    payment = snap.table("payment")
    assert payment is not None and payment.kind == "partitioned"
    assert payment.primary_key is not None
    assert payment.primary_key.columns == ("payment_date", "payment_id")
    partitions = sorted(t.name for t in snap.tables if t.partition_of == "public.payment")
    assert partitions == [f"payment_p2022_0{m}" for m in range(1, 8)]

    rental = snap.table("public.rental")
    assert rental is not None
    (to_inventory,) = [fk for fk in rental.foreign_keys if fk.columns == ("inventory_id",)]
    assert (to_inventory.ref_qualified, to_inventory.ref_columns) == (
        "public.inventory", ("inventory_id",))
    assert any(i.columns[:1] == ("inventory_id",) and i.valid and i.predicate is None
               for i in rental.indexes)

    rated = sorted(f"{t.name}.{c.name}" for t in snap.tables for c in t.columns
                   if c.type_name == "mpaa_rating")
    assert rated == ["film.rating"]
    assert [e.labels for e in snap.enums if e.name == "mpaa_rating"] == [
        ("G", "PG", "PG-13", "R", "NC-17")]
    year = next(d for d in snap.domains if d.name == "year")
    assert year.base_type == "integer"
    assert {(v.name, v.materialized) for v in snap.views} >= {
        ("actor_info", False), ("rental_by_category", True)}

    # JSON round trip: through text and back, equal field for field.
    text = json.dumps(snap.to_dict())
    assert Snapshot.from_dict(json.loads(text)) == snap
