"""Relations and their columns: one set-based query over each of pg_class and pg_attribute.

Tables (``relkind`` ``r`` and ``p``), views (``v``) and materialized views (``m``) come
from one query, their columns from another (PostgreSQL docs, "pg_class",
"pg_attribute", "pg_attrdef"). Each reader returns plain data keyed by the relation's
oid; :mod:`pgkeel.catalog.introspect` assembles the frozen model objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from psycopg import sql

from pgkeel.catalog._reader import RELATIONS, Reader, not_extension_member, user_namespace
from pgkeel.catalog.model import Column

__all__ = ["Attribute", "Columns", "Relation", "kind_of", "read_columns", "read_relations"]

# The heap with its TOAST table, without indexes (their sizes are added in Python, so
# that no relation is measured twice). Exact: pg_table_size, which opens each relation
# and stats its files. Estimated: pg_class.relpages, as of the last VACUUM, ANALYZE or
# CREATE INDEX (PostgreSQL docs, "pg_class"), which touches no file and takes no lock.
_EXACT_TABLE_SIZE = "CASE WHEN c.relkind IN ('r', 'm') THEN pg_catalog.pg_table_size(c.oid) END"
_ESTIMATED_TABLE_SIZE = (
    "(c.relpages::int8 + COALESCE(toast.relpages, 0) + COALESCE(toast_index.relpages, 0))"
    " * pg_catalog.current_setting('block_size')::int8"
)

_RELATIONS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity, c.relforcerowsecurity,
       c.reltuples::float8, {{table_size}},
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END,
       pn.nspname, pc.relname,
       CASE WHEN c.relkind = 'p' THEN pg_catalog.pg_get_partkeydef(c.oid) END,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid),
       d.description, pg_catalog.pg_get_userbyid(c.relowner)
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_class toast ON toast.oid = c.reltoastrelid
LEFT JOIN pg_catalog.pg_index ti ON ti.indrelid = c.reltoastrelid
LEFT JOIN pg_catalog.pg_class toast_index ON toast_index.oid = ti.indexrelid
LEFT JOIN pg_catalog.pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = c.oid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objsubid = 0
WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {user_namespace("n")}
  AND {not_extension_member("pg_class", "c.oid")}
"""

# typtype 'd' is a domain: report the type it is defined over as the base type name.
# A default cannot refer to columns, so it is deparsed without its table (relid 0, as
# the docs of pg_get_expr allow): with the table, pg_get_expr opens it to name its
# columns, which costs a relation cache entry and a lock per table. A generated
# column's expression does refer to columns and keeps its table.
_COLUMNS = RELATIONS + """
SELECT a.attrelid, a.attnum, a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod),
       CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END,
       NOT a.attnotnull,
       pg_catalog.pg_get_expr(ad.adbin, CASE WHEN a.attgenerated = '' THEN 0
                                             ELSE ad.adrelid END),
       CASE a.attidentity WHEN 'a' THEN 'always' WHEN 'd' THEN 'by default' END,
       CASE a.attgenerated WHEN 's' THEN 'stored' WHEN 'v' THEN 'virtual' END,
       d.description,
       a.atttypid, a.attcollation
FROM rel
JOIN pg_catalog.pg_attribute a ON a.attrelid = rel.oid
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = a.attrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objsubid = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
"""


@dataclass(frozen=True, slots=True)
class Relation:
    """One row of the relations query: what a Table or View needs besides its parts.

    ``relkind`` is ``r``, ``p``, ``v`` or ``m``; ``size_bytes`` covers the heap and its
    TOAST, not the indexes (None for views and, when exact, partitioned tables);
    ``row_estimate`` in rows, -1 when never analysed.
    """

    oid: int
    schema: str
    name: str
    relkind: str
    rls_enabled: bool
    rls_forced: bool
    row_estimate: int
    size_bytes: int | None
    view_definition: str | None
    partition_of: str | None
    partition_key: str | None
    partition_bound: str | None
    comment: str | None
    owner: str | None = None


# What constraints and index definitions need of a column: (name, type oid, collation
# oid). A plain tuple: there is one per column, tens of thousands in a large schema.
Attribute = tuple[str, int, int]


@dataclass(slots=True)
class Columns:
    """The columns of every relation in user schemas, by relation oid, in attnum order.

    ``attributes`` maps relation oid -> attnum -> ``Attribute``, to decode the
    attnum arrays of constraints (``conkey``) and indexes (``indkey``).
    """

    by_relation: dict[int, list[Column]] = field(default_factory=dict)
    attributes: dict[int, dict[int, Attribute]] = field(default_factory=dict)


def read_relations(reader: Reader, *, exact_sizes: bool) -> list[Relation]:
    """Return every table, partitioned table, view and materialized view in scope."""
    size = _EXACT_TABLE_SIZE if exact_sizes else _ESTIMATED_TABLE_SIZE
    query = sql.SQL(_RELATIONS).format(table_size=sql.SQL(size))
    return [
        Relation(
            oid, schema, name, relkind, rls, forced,
            # reltuples is -1 for a table never vacuumed or analysed (PostgreSQL 14+).
            int(tuples) if tuples >= 0 else -1,
            size if relkind != "v" else None, viewdef,
            f"{parent_schema}.{parent}" if parent is not None else None,
            partkey, bound, comment, owner,
        )
        for (oid, schema, name, relkind, rls, forced, tuples, size, viewdef, parent_schema,
             parent, partkey, bound, comment, owner) in reader.rows(query)
    ]


def read_columns(reader: Reader) -> Columns:
    """Read the columns of every relation in user schemas.

    ``Column.position`` is ``attnum``, as in ``information_schema.columns``.
    """
    result = Columns()
    by_relation, attributes = result.by_relation, result.attributes
    current = -1
    columns: list[Column] = []
    attrs: dict[int, Attribute] = {}
    for (relid, attnum, name, type_text, type_name, nullable, default, identity, generated,
         comment, type_oid, collation) in reader.rows(_COLUMNS):
        if relid != current:  # rows mostly come grouped by relation, so cache its lists
            current = relid
            columns = by_relation.setdefault(relid, [])
            attrs = attributes.setdefault(relid, {})
        # pg_attrdef holds a generated column's expression, not a default.
        columns.append(Column(
            name, attnum, type_text, type_name, nullable, None if generated else default,
            identity, default if generated else None, comment, generated,
        ))
        attrs[attnum] = (name, type_oid, collation)
    for cols in by_relation.values():
        cols.sort(key=_position)
    return result


def _position(column: Column) -> int:
    return column.position


def kind_of(relkind: str) -> Literal["table", "partitioned"]:
    """The ``Table.kind`` of a table's ``relkind``."""
    return "partitioned" if relkind == "p" else "table"
