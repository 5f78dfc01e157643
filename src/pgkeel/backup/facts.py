"""Catalog facts a backup records and a restore is compared with.

:func:`read_facts` reads, in a handful of set-based catalog queries (never one per
table, except the exact row counts):

- ``database``: encoding, ``lc_collate``, ``lc_ctype``, locale provider;
- ``extensions``: ``{name: version}``;
- ``roles``: every role the dump references (object owners, grantees in ACLs, roles
  named by policies), which a restore target must have unless ``--no-owner``;
- ``tables``: per ordinary or partitioned table ``schema``, ``name``, ``kind``,
  ``estimate`` (``pg_class.reltuples``; ``-1`` never analysed, PostgreSQL docs
  "pg_class"), ``rows`` (exact ``count(*)`` when the table has at most
  ``exact_max_pages`` pages, else null), ``rls``/``rls_forced``, ``policies`` and
  ``indexes`` (names: a restore of chosen tables picks their TOC entries by them),
  ``partition_of`` (``[schema, name]`` of the parent of a partition, else null: a
  restore of a partitioned table takes its partitions along);
- ``sequences``: ``last_value`` (``pg_sequences``: null until first used) and the
  columns it feeds (``OWNED BY``, identity, or a column default calling it);
- ``constraints``: count per type and the ``NOT VALID`` ones (``convalidated``).

Run inside the snapshot pg_dump uses (``pg_export_snapshot``), the counts and sequence
values describe exactly what the dump holds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["EXACT_MAX_PAGES", "column_max", "feeding_sequences", "read_facts"]

#: Tables up to this many 8 kB pages (64 MiB) get an exact count(*) in the manifest.
EXACT_MAX_PAGES = 8192

_USER = ("n.nspname NOT IN ('pg_catalog', 'information_schema') "
         "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'")

_TABLES = f"""
SELECT n.nspname, c.relname, c.relkind::text, c.reltuples::bigint, c.relpages,
       c.relrowsecurity, c.relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
       (SELECT coalesce(array_agg(i.relname::text ORDER BY i.relname), '{{}}') FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = c.oid),
       (SELECT json_build_array(pn.nspname, p.relname) FROM pg_inherits h
        JOIN pg_class p ON p.oid = h.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE h.inhrelid = c.oid AND c.relispartition)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND {_USER}
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2"""

# The columns a sequence feeds: OWNED BY (serial, identity) or named by a column default.
_SEQUENCES = f"""
SELECT n.nspname, c.relname, s.last_value, (
  SELECT coalesce(json_agg(json_build_array(tn.nspname, t.relname, a.attname)
                           ORDER BY tn.nspname, t.relname, a.attname), '[]')
  FROM (SELECT d.refobjid AS relid, d.refobjsubid AS attnum FROM pg_depend d
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        UNION
        SELECT ad.adrelid, ad.adnum FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
        WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = c.oid) u
  JOIN pg_class t ON t.oid = u.relid AND NOT t.relispartition
  JOIN pg_namespace tn ON tn.oid = t.relnamespace
  JOIN pg_attribute a ON a.attrelid = u.relid AND a.attnum = u.attnum)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_sequences s ON s.schemaname = n.nspname AND s.sequencename = c.relname
WHERE c.relkind = 'S' AND {_USER}
ORDER BY 1, 2"""

# Owners of objects in user schemas, grantees of their ACLs, roles named by policies.
# Extension members are left out: pg_dump recreates them with CREATE EXTENSION, never
# with an owner of their own. So are predefined roles (pg_database_owner owns public
# from 15 on): the pg_ prefix is reserved, they exist on every server (PostgreSQL
# docs, "Predefined Roles").
_NOT_MEMBER = ("NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = '{}'::regclass "
               "AND e.objid = {}.oid AND e.deptype = 'e')")
_ROLES = f"""
WITH objs AS (
  SELECT c.relowner AS owner, c.relacl AS acl FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE {_USER} AND {_NOT_MEMBER.format("pg_class", "c")}
  UNION ALL SELECT p.proowner, p.proacl FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE {_USER} AND {_NOT_MEMBER.format("pg_proc", "p")}
  UNION ALL SELECT t.typowner, t.typacl FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE {_USER} AND {_NOT_MEMBER.format("pg_type", "t")}
  UNION ALL SELECT n.nspowner, n.nspacl FROM pg_namespace n
    WHERE {_USER} AND {_NOT_MEMBER.format("pg_namespace", "n")}
), ids AS (
  SELECT owner AS id FROM objs
  UNION SELECT (aclexplode(acl)).grantee FROM objs WHERE acl IS NOT NULL
  UNION SELECT unnest(polroles) FROM pg_policy
)
SELECT r.rolname FROM ids JOIN pg_roles r ON r.oid = ids.id
WHERE r.rolname NOT LIKE 'pg\\_%' ORDER BY 1"""

_CONSTRAINTS = f"""
SELECT c.contype::text, count(*), array_agg(n.nspname || '.' || c.conname
                                            ORDER BY n.nspname, c.conname)
       FILTER (WHERE NOT c.convalidated)
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
WHERE {_USER} AND c.conislocal GROUP BY 1 ORDER BY 1"""


def _database(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    provider = ("d.datlocprovider::text" if conn.info.server_version >= 150000
                else "'c'")
    row = conn.execute(
        f"SELECT pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, {provider} "
        "FROM pg_database d WHERE d.datname = current_database()").fetchone()
    assert row is not None
    return {"encoding": row[0], "lc_collate": row[1], "lc_ctype": row[2],
            "locale_provider": {"c": "libc", "i": "icu", "b": "builtin"}.get(row[3], row[3])}


def read_facts(conn: psycopg.Connection[Any], *, exact_max_pages: int = EXACT_MAX_PAGES,
               only: set[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Read the facts (module docstring) of the database ``conn`` is connected to.

    ``only`` limits tables and sequences to those ``(schema, name)`` tables (and the
    sequences they own), as ``backup create --table`` dumps them. Returns a JSON-ready
    dict. Raises ``psycopg.Error`` when a query fails (the caller's transaction then
    needs rolling back).
    """
    tables = []
    for schema, name, kind, estimate, pages, rls, forced, policies, indexes, parent in \
            conn.execute(_TABLES):
        if only is not None and (schema, name) not in only:
            continue
        rows = None
        if kind == "r" and pages <= exact_max_pages:
            counted = conn.execute(sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
                sql.Identifier(schema), sql.Identifier(name))).fetchone()
            rows = counted[0] if counted else None
        tables.append({"schema": schema, "name": name, "kind": kind,
                       "estimate": estimate if kind == "r" else None, "rows": rows,
                       "rls": rls, "rls_forced": forced, "policies": policies,
                       "indexes": indexes, "partition_of": parent})
    sequences = []
    for schema, name, last, columns in conn.execute(_SEQUENCES):
        if only is not None and not any((c[0], c[1]) in only for c in columns):
            continue
        sequences.append({"schema": schema, "name": name, "last_value": last,
                          "columns": [{"schema": c[0], "table": c[1], "column": c[2]}
                                      for c in columns]})
    constraints = {kind: {"count": count, "not_valid": sorted(invalid or [])}
                   for kind, count, invalid in conn.execute(_CONSTRAINTS)}
    return {
        "database": _database(conn),
        "extensions": dict(conn.execute(
            "SELECT extname, extversion FROM pg_extension ORDER BY 1").fetchall()),
        "roles": [r for (r,) in conn.execute(_ROLES)],
        "tables": tables,
        "sequences": sequences,
        "constraints": constraints,
    }


def column_max(conn: psycopg.Connection[Any], columns: Iterable[dict[str, str]]) -> int | None:
    """The largest value in any of ``columns`` (``{"schema", "table", "column"}``), or
    None when they hold none (or there are none)."""
    parts = [sql.SQL("SELECT max({})::numeric FROM {}.{}").format(
        sql.Identifier(c["column"]), sql.Identifier(c["schema"]), sql.Identifier(c["table"]))
        for c in columns]
    if not parts:
        return None
    row = conn.execute(sql.SQL("SELECT max(m) FROM ({}) AS u(m)").format(
        sql.SQL(" UNION ALL ").join(parts))).fetchone()
    return int(row[0]) if row and row[0] is not None else None


def feeding_sequences(conn: psycopg.Connection[Any], tables: set[tuple[str, str]]
                      ) -> set[tuple[str, str]]:
    """The ``(schema, name)`` of every sequence feeding a column of ``tables``.

    ``pg_dump --table`` dumps a sequence only when it is owned by the table; one that a
    column default merely calls (Pagila's) must be named too, or the restored table's
    default refers to nothing.
    """
    return {(schema, name) for schema, name, _last, columns in conn.execute(_SEQUENCES)
            if any((c[0], c[1]) in tables for c in columns)}
