"""What the key and sequence rules share: integer ranges, the sequence behind a column,
and widening an integer key to ``bigint`` with the columns that reference it.
"""

from __future__ import annotations

import re

from pgkeel.catalog.model import Column, Sequence, Snapshot, Table
from pgkeel.lint.rules._catalog import (
    comment,
    ident,
    in_partition_key,
    qualified_ident,
    table_name,
)
from pgkeel.lint.rules._column_use import views_reading

__all__ = ["INT_MAX", "Feeds", "used_share", "widen"]

#: The largest value of each integer type (PostgreSQL docs, "Numeric Types",
#: Table 8.2); the smallest is ``-max - 1``.
INT_MAX = {"int2": 32_767, "int4": 2_147_483_647, "int8": 9_223_372_036_854_775_807}

_NEXTVAL = re.compile(r"^nextval\('((?:[^']|'')+)'::regclass\)$")
_PART = re.compile(r'"((?:[^"]|"")*)"|([^."]+)')


def _regclass_name(text: str) -> tuple[str | None, str]:
    """``(schema or None, name)`` of a ``regclass`` output such as ``s."Seq"``."""
    parts = [q.replace('""', '"') if q else p for q, p in _PART.findall(text)]
    return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[-1])


class Feeds:
    """Which sequence feeds which column, for every column of a snapshot.

    A column is fed by its identity or serial sequence (the one it owns), or by the
    sequence its ``DEFAULT nextval(...)`` names (looked up in the table's schema, then
    ``public``, when the default does not say). Built once per check: every lookup is
    a dict access, whatever the schema's size.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        by_name = {(s.schema, s.name): s for s in snapshot.sequences}
        owned = {s.owned_by: s for s in snapshot.sequences if s.owned_by is not None}
        self._of: dict[tuple[str, str, str], Sequence] = {}
        self.users: dict[tuple[str, str], list[tuple[Table, Column]]] = {}
        for table in snapshot.tables:
            for column in table.columns:
                seq = owned.get(f"{table.schema}.{table.name}.{column.name}")
                if seq is None and column.default is not None:
                    seq = _named(by_name, table, column.default)
                if seq is not None:
                    self._of[(table.schema, table.name, column.name)] = seq
                    self.users.setdefault((seq.schema, seq.name), []).append((table, column))

    def sequence(self, table: Table, column: Column) -> Sequence | None:
        """The sequence that feeds ``table.column``, if any."""
        return self._of.get((table.schema, table.name, column.name))


def _named(by_name: dict[tuple[str, str], Sequence], table: Table, default: str
           ) -> Sequence | None:
    match = _NEXTVAL.match(default)
    if match is None:
        return None
    schema, name = _regclass_name(match.group(1).replace("''", "'"))
    for candidate in ((schema,) if schema else (table.schema, "public")):
        found = by_name.get((candidate, name))
        if found is not None:
            return found
    return None


def used_share(sequence: Sequence, column: Column | None) -> float | None:
    """How much of its range ``sequence`` has handed out, 0..1, or None when unknown.

    The range ends at the sequence's own limit or at the column type's, whichever
    comes first: an ``integer`` column fed by a ``bigint`` sequence fails at 2^31-1
    (PgHero ``sequence_danger`` reads it the same way).
    """
    last = sequence.last_value
    if last is None or sequence.increment is None:
        return None
    type_max = INT_MAX.get(column.type_name) if column is not None else None
    if sequence.increment > 0:
        limit = sequence.max_value or 0
        if type_max is not None:
            limit = min(limit, type_max)
    else:
        limit = sequence.min_value or 0
        if type_max is not None:
            limit = max(limit, -type_max - 1)
    if limit == 0 or (last > 0) != (limit > 0):
        return 0.0
    return last / limit


def widen(snapshot: Snapshot, table: Table, column: Column,
          sequence: Sequence | None) -> tuple[str | None, str | None, str]:
    """``(fix, fix_down, note)``: turn integer key ``column`` into ``bigint``.

    The columns of other tables' foreign keys that reference it are widened too (a
    referencing ``integer`` column would overflow at the same value), and a serial
    column's sequence becomes ``AS bigint`` (an identity column's follows its
    column; PostgreSQL docs, "ALTER TABLE", "ALTER SEQUENCE"). No value changes:
    every ``integer`` is a ``bigint``. The fix is None, and ``note`` says why, when a
    view uses one of the columns (PostgreSQL refuses the type change), when the
    column is in a partition key, or when a column's type is a domain.
    """
    changes: list[tuple[Table, Column]] = [(table, column)]
    for child in snapshot.tables:
        if child.is_partition:
            continue  # the partitioned parent's change reaches its partitions
        for fk in child.foreign_keys:
            if (fk.ref_schema, fk.ref_table) != (table.schema, table.name):
                continue
            for col, ref in zip(fk.columns, fk.ref_columns, strict=True):
                other = child.column(col)
                if ref == column.name and other is not None and other.type_name in (
                        "int2", "int4") and (child, other) not in changes:
                    changes.append((child, other))
    for t, c in changes:
        where = f"{table_name(t)}.{c.name}"
        if c.type not in ("smallint", "integer"):
            return None, None, f"{where} is of type {c.type} (a domain?): widen it by hand"
        if in_partition_key(t, c.name):
            return None, None, (f"{where} is in a partition key, whose type cannot be "
                                "altered: re-create the table with bigint")
        views = views_reading(snapshot, t, c.name)
        if views:
            return None, None, (f"views use {where} ({', '.join(table_name(v) for v in views)}):"
                                " drop them, widen the columns, re-create them")
    up: list[str] = []
    down: list[str] = []
    for t, c in changes:
        target = f"ALTER TABLE {qualified_ident(t.schema, t.name)} ALTER COLUMN {ident(c.name)}"
        up.append(f"{target} TYPE bigint; -- rewrites {comment(table_name(t))} and its "
                  "indexes under an ACCESS EXCLUSIVE lock")
        down.insert(0, f"{target} TYPE {c.type};")
    if sequence is not None and column.identity is None and sequence.data_type in (
            "smallint", "integer"):
        seq = qualified_ident(sequence.schema, sequence.name)
        up.append(f"ALTER SEQUENCE {seq} AS bigint;")
        down.insert(0, f"ALTER SEQUENCE {seq} AS {sequence.data_type};")
    names = ", ".join(f"{table_name(t)}.{c.name}" for t, c in changes)
    return "\n".join(up), "\n".join(down), f"widen {names} to bigint"
