"""What the advisor needs to know about the tables a workload reads.

One query per step, set-based: :func:`read_tables` resolves names through the
session's ``search_path`` (``to_regclass``, as the planner would) and returns each
table's columns (type, whether its collation is C), estimated rows and existing
indexes (their definitions as ``pg_get_indexdef`` prints them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import psycopg

__all__ = ["Column", "ExistingIndex", "TableInfo", "read_tables"]


@dataclass(frozen=True, slots=True)
class Column:
    """A column: ``name``, ``type`` (``format_type``), ``type_name`` (pg_type.typname),
    ``c_collation`` (True when its collation sorts bytewise: C or POSIX; None for a
    type without collation), ``mcv``: ``pg_stats`` most common values (as text) and
    their frequencies (0..1), empty when not analysed."""

    name: str
    type: str
    type_name: str
    c_collation: bool | None
    mcv: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ExistingIndex:
    """A valid index of the table: ``name`` and ``definition`` (``pg_get_indexdef``)."""

    name: str
    definition: str


@dataclass(frozen=True, slots=True)
class TableInfo:
    """A table: ``oid``, ``schema``, ``name``, ``rows`` (``reltuples``, -1 when never
    analysed), ``columns`` by name, existing valid ``indexes``."""

    oid: int
    schema: str
    name: str
    rows: float
    columns: dict[str, Column] = field(default_factory=dict)
    indexes: tuple[ExistingIndex, ...] = ()

    def mentioned(self, text: str) -> frozenset[str]:
        """The columns of this table that ``text`` (SQL) names, quoted or bare."""
        words = re.findall(r'"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*)', text)
        names = {quoted.replace('""', '"') or bare for quoted, bare in words}
        return frozenset(c for c in self.columns if c in names)

    @property
    def indexed_columns(self) -> frozenset[str]:
        """Columns some existing index reads (key, expression or predicate)."""
        return frozenset().union(*(self.mentioned(ix.definition.split(" USING ", 1)[-1])
                                   for ix in self.indexes))

    @property
    def qualified(self) -> str:
        """``"schema"."name"``, quoted as PostgreSQL quotes identifiers."""
        from psycopg.sql import Identifier

        return f"{Identifier(self.schema).as_string(None)}.{Identifier(self.name).as_string(None)}"


_TABLES = """
SELECT n.input, c.oid::bigint, ns.nspname, c.relname, c.reltuples::float8
FROM unnest(%s::text[]) AS n(input)
JOIN pg_class c ON c.oid = to_regclass(n.input)
JOIN pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm')
  AND ns.nspname NOT IN ('pg_catalog', 'information_schema')
"""

# C and POSIX sort bytewise, so a btree with the default operator class serves
# LIKE 'prefix%' only under them (PostgreSQL docs 11.10, "Operator Classes and
# Operator Families"); an ICU collation never does.
_COLUMNS = """
SELECT a.attrelid::bigint, a.attname, format_type(a.atttypid, a.atttypmod), t.typname,
  CASE WHEN a.attcollation = 0 THEN NULL
       WHEN coll.collname = 'default' THEN
         d.datlocprovider = 'c' AND d.datcollate IN ('C', 'POSIX')
       ELSE coll.collprovider = 'c' AND coll.collcollate IN ('C', 'POSIX') END
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_collation coll ON coll.oid = a.attcollation
CROSS JOIN (SELECT datlocprovider, datcollate FROM pg_database
            WHERE datname = current_database()) d
WHERE a.attrelid = ANY(%s::bigint[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attrelid, a.attnum
"""

_INDEXES = """
SELECT i.indrelid::bigint, c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = ANY(%s::bigint[]) AND i.indisvalid
ORDER BY c.relname
"""


_MCV = """
SELECT c.oid::bigint, s.attname, s.most_common_vals::text::text[], s.most_common_freqs
FROM pg_stats s
JOIN pg_namespace n ON n.nspname = s.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename
WHERE c.oid = ANY(%s::bigint[]) AND NOT s.inherited AND s.most_common_vals IS NOT NULL
"""


def read_tables(conn: psycopg.Connection[Any], names: Iterable[str]) -> dict[str, TableInfo]:
    """Resolve ``names`` (as written in queries: ``orders``, ``app.orders``) to tables.

    Returns ``{name as given: TableInfo}`` for the names that are tables, partitioned
    tables or materialized views outside ``pg_catalog`` and ``information_schema``
    (views, CTE names, unknown names and system catalogs are left out, as Dexter
    leaves them out).
    Four catalog queries whatever the number of tables. Raises ``psycopg.Error``
    when the catalog cannot be read.
    """
    wanted = sorted(set(names))
    if not wanted:
        return {}
    found = conn.execute(_TABLES, (wanted,)).fetchall()
    oids = [int(r[1]) for r in found]
    columns: dict[int, dict[str, Column]] = {oid: {} for oid in oids}
    for relid, name, typ, typname, c_coll in conn.execute(_COLUMNS, (oids,)).fetchall():
        columns[int(relid)][name] = Column(name, typ, typname, c_coll)
    for relid, name, values, freqs in conn.execute(_MCV, (oids,)).fetchall():
        if name in columns[int(relid)]:
            columns[int(relid)][name].mcv.update(zip(values, freqs, strict=False))
    indexes: dict[int, list[ExistingIndex]] = {oid: [] for oid in oids}
    for relid, name, definition in conn.execute(_INDEXES, (oids,)).fetchall():
        indexes[int(relid)].append(ExistingIndex(name, definition))
    return {
        str(given): TableInfo(int(oid), schema, rel, float(rows), columns[int(oid)],
                              tuple(indexes[int(oid)]))
        for given, oid, schema, rel, rows in found
    }
