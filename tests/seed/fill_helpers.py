"""Checks a filled database must pass, in SQL written apart from the generator's."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


def empty_tables(conn: psycopg.Connection[Any]) -> list[str]:
    """Ordinary and partitioned tables of user schemas holding no row."""
    names = [r[0] for r in conn.execute(
        "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_%' ORDER BY 1")]
    count = sql.SQL("SELECT count(*) FROM {}")
    return [t for t in names if conn.execute(count.format(sql.SQL(t))).fetchone()[0] == 0]


def broken_constraints(conn: psycopg.Connection[Any]) -> list[str]:
    """Foreign keys with orphan rows and CHECKs some row violates (NOT VALID ones too)."""
    broken = []
    for conname, rel, contype, definition, cols, ref, refcols in conn.execute(
            "SELECT c.conname, c.conrelid::regclass::text, c.contype, "
            "pg_get_expr(c.conbin, c.conrelid), "
            "ARRAY(SELECT format('%I', attname) FROM unnest(c.conkey) WITH ORDINALITY k(n, o) "
            "  JOIN pg_attribute ON attrelid = c.conrelid AND attnum = k.n ORDER BY o), "
            "c.confrelid::regclass::text, "
            "ARRAY(SELECT format('%I', attname) FROM unnest(c.confkey) WITH ORDINALITY k(n, o) "
            "  JOIN pg_attribute ON attrelid = c.confrelid AND attnum = k.n ORDER BY o) "
            "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
            "WHERE c.contype IN ('f', 'c') AND r.relkind = 'r' AND c.conparentid = 0"):
        if contype == "c":
            query = f"SELECT count(*) FROM {rel} WHERE ({definition}) IS FALSE"
        else:
            match = " AND ".join(f"p.{r} = t.{c}" for c, r in zip(cols, refcols, strict=True))
            present = " AND ".join(f"t.{c} IS NOT NULL" for c in cols)
            query = (f"SELECT count(*) FROM {rel} t WHERE {present} "
                     f"AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE {match})")
        if conn.execute(query).fetchone()[0]:
            broken.append(f"{conname} on {rel}")
    return broken
