"""Constraints: one set-based query over ``pg_constraint``.

Key columns come back as attnum arrays (``conkey``, ``confkey``) and are named through
the columns already read, so no query runs per table (PostgreSQL docs,
"pg_constraint"). NOT NULL constraints, which PostgreSQL 18 also stores in
``pg_constraint`` (``contype = 'n'``), are left out: nullability lives on
``Column.nullable``. EXCLUDE constraints appear as the index that backs them
(``Index.constraint``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

from psycopg import sql

from pgkeel.catalog._reader import RELATIONS, Reader
from pgkeel.catalog._relations import Attribute
from pgkeel.catalog.model import (
    CheckConstraint,
    FkAction,
    ForeignKey,
    UniqueConstraint,
)

__all__ = ["Keys", "read_keys"]

# A foreign key that references a partitioned table is cloned by PostgreSQL onto every
# partition of the *referenced* table: same conrelid as its parent, conparentid set.
# Those clones are internal; the clones on partitions of the *referencing* table (a
# different conrelid) are real constraints of those partitions and stay.
_CONSTRAINTS = RELATIONS + """
SELECT co.conrelid, co.conname, co.contype, co.conkey, co.condeferrable, co.convalidated,
       {enforced},
       CASE WHEN co.contype = 'c' THEN pg_catalog.pg_get_expr(co.conbin, co.conrelid) END,
       fn.nspname, fc.relname, co.confrelid, co.confkey,
       co.confdeltype, co.confupdtype, co.conindid,
       CASE WHEN co.contype = 'f' THEN (SELECT ri.relname FROM pg_catalog.pg_class ri
                                        WHERE ri.oid = co.conindid) END,
       d.description
FROM rel
JOIN pg_catalog.pg_constraint co ON co.conrelid = rel.oid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = co.oid AND d.classoid = 'pg_catalog.pg_constraint'::pg_catalog.regclass
LEFT JOIN pg_catalog.pg_class fc ON fc.oid = co.confrelid
LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace
WHERE co.contype IN ('p', 'u', 'c', 'f')
  AND NOT (co.contype = 'f' AND co.conparentid <> 0 AND EXISTS (
      SELECT 1 FROM pg_catalog.pg_constraint parent
      WHERE parent.oid = co.conparentid AND parent.conrelid = co.conrelid))
"""

# pg_constraint.confdeltype / confupdtype codes (PostgreSQL docs, "pg_constraint").
_ACTIONS: dict[str, FkAction] = {
    "a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT",
}


@dataclass(slots=True)
class Keys:
    """The constraints of every relation in scope, by relation oid, sorted by name."""

    primary: dict[int, UniqueConstraint] = field(default_factory=dict)
    unique: dict[int, list[UniqueConstraint]] = field(default_factory=dict)
    checks: dict[int, list[CheckConstraint]] = field(default_factory=dict)
    foreign: dict[int, list[ForeignKey]] = field(default_factory=dict)


def read_keys(
    reader: Reader,
    attributes: dict[int, dict[int, Attribute]],
    nulls_not_distinct: set[int],
) -> Keys:
    """Read PRIMARY KEY, UNIQUE, CHECK and FOREIGN KEY constraints.

    ``attributes`` maps relation oid -> attnum -> column (from the columns query); it
    also names the referenced columns, since a foreign key can only reference a table
    or partitioned table, which lives in a user schema. ``nulls_not_distinct`` holds
    the oids of the indexes built NULLS NOT DISTINCT (from the indexes query): a
    UNIQUE constraint is so when its index is.
    """
    query = sql.SQL(_CONSTRAINTS).format(
        enforced=reader.since(180000, "co.conenforced", "true"))
    keys = Keys()
    for (relid, name, contype, conkey, deferrable, validated, enforced, check, ref_schema,
         ref_table, ref_relid, ref_key, on_delete, on_update, index, ref_index, comment
         ) in reader.rows(query):
        cols = attributes.get(relid, {})
        columns = tuple(cols[n][0] for n in conkey or ())
        if contype == "p":
            keys.primary[relid] = UniqueConstraint(name, columns, True, deferrable,
                                                   comment=comment)
        elif contype == "u":
            keys.unique.setdefault(relid, []).append(UniqueConstraint(
                name, columns, False, deferrable, index in nulls_not_distinct,
                comment=comment))
        elif contype == "c":
            keys.checks.setdefault(relid, []).append(
                CheckConstraint(name, check, validated, enforced, comment=comment))
        else:
            ref_cols = attributes[ref_relid]
            keys.foreign.setdefault(relid, []).append(ForeignKey(
                name, columns, ref_schema, ref_table, tuple([ref_cols[n][0] for n in ref_key]),
                _ACTIONS[on_delete], _ACTIONS[on_update], validated, deferrable, enforced,
                ref_index, comment=comment,
            ))
    _sort_by_name(keys.unique, keys.checks, keys.foreign)
    return keys


def _sort_by_name(*groups: dict[int, list[Any]]) -> None:
    for group in groups:
        for items in group.values():
            items.sort(key=attrgetter("name"))
