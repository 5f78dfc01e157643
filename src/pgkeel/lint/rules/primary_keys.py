"""Every table has a primary key; the fix prefers the key the data already has.

Family D ``require-primary-key`` of ``reference/lint-rules.md`` (splinter
``no_primary_key``), checked against a catalog snapshot and, when the rows are at
hand, the data: a NOT NULL column (or pair of columns) whose values are all
distinct is the table's natural key.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from pgkeel.catalog.model import Column, Index, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.rules._catalog import (
    choose_name,
    comment,
    ident,
    parent_of,
    partition_key_columns,
    partitions_of,
    qualified_ident,
    quote_ident,
    table_name,
)
from pgkeel.lint.rules._evidence import column_facts
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["KEY_TYPES", "MissingPrimaryKey"]

#: Base types a natural key may have, best first: integers, then uuid, then text.
#: Floating point, date/time, boolean, JSON, arrays and bytea values can be
#: distinct by accident or compare inexactly, so they are never proposed.
KEY_TYPES = ("int2", "int4", "int8", "numeric", "uuid", "text", "varchar", "bpchar", "citext")

#: A table needs at least this many rows for the data to prove a key unique.
MIN_KEY_ROWS = 2
# At most this many columns are tried, singly and in pairs (one query each way).
_MAX_CANDIDATES = 6

# PostgreSQL 17 added identity columns on partitioned tables.
_PARTITIONED_IDENTITY = 170000


class MissingPrimaryKey(SchemaRule):
    """Give every table a primary key.

    A table is reported when it has no PRIMARY KEY constraint. A partition is never
    reported on its own: with a key on its parent it has the same key, and without
    one the parent is reported, since a key (or a column for it) can only be added
    there.

    Why
    ---
    Without a primary key a row has no identity: duplicates creep in, ORMs and admin
    tools cannot address a single row, and logical replication refuses UPDATE and
    DELETE on the table unless it has another replica identity. Severity `error`: the
    skill's "Constraints enforce data integrity" cannot hold without one.

    Bad
    ---
    ```sql
    CREATE TABLE page_views (url text NOT NULL, viewed_at timestamptz NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE page_views (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      url text NOT NULL,
      viewed_at timestamptz NOT NULL
    );
    ```

    Notes
    -----
    The fix picks, in order: a unique, valid, non-partial B-tree index on NOT NULL
    columns (the key the database already enforces: `ADD CONSTRAINT ... PRIMARY KEY
    USING INDEX`, no table scan); a natural key the data proves unique — a NOT
    NULL column of an integer, uuid or text type (then a pair of them) whose values
    are all distinct, read over every row (at least two) of the table, the finding
    saying how many; then a new identity column. Adding the key builds a unique
    index under ACCESS EXCLUSIVE and fails, changing nothing, if a duplicate
    arrived since the check; an identity column rewrites the table. `fix_down`
    drops what the fix added (and re-creates a unique index the key took over).

    A primary key of a partitioned table must include every partition key column
    (its sub-partitions' too), so the fix adds them to the key and does not read
    the data; PostgreSQL before 17 cannot add an identity column to a partitioned
    table (the fix adds a `bigserial` there), and no version can put a primary key
    on a table partitioned by an expression (no fix then).

    References
    ----------
    - PostgreSQL docs, "Constraints", Primary Keys; "ALTER TABLE" (ADD
      table_constraint_using_index); "Logical Replication", Publication (replica
      identity); "Table Partitioning", Limitations.
    - Supabase splinter `no_primary_key` (0004); reference/lint-rules.md
      `require-primary-key`.
    """

    id = "missing-primary-key"
    uses_data = True
    severity = Severity.ERROR
    checklist = checklist_items.CONSTRAINTS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-PRIMARY-KEYS"
    upstream = ("splinter:no_primary_key",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in snapshot.tables:
            if table.primary_key is not None:
                continue
            if table.is_partition and parent_of(snapshot, table) is not None:
                continue  # the parent's key, or the parent's finding
            kind = "partitioned table" if table.kind == "partitioned" else "table"
            message = f"{kind} {table_name(table)} has no primary key"
            name = _key_name(snapshot, table)
            if table.kind == "partitioned":
                fix, down = _partitioned_key_fix(snapshot, table, name)
                if fix is None:
                    message += f"; no fix: {down}"
                    down = None
                yield self.finding(message, object=table_name(table), fix=fix, fix_down=down)
                continue
            why, fix, down = _key_fix(ctx, table, name)
            yield self.finding(f"{message}; {why}", object=table_name(table), fix=fix,
                               fix_down=down)


def _key_name(snapshot: Snapshot, table: Table) -> str:
    """``<table>_pkey`` as PostgreSQL picks it: within 63 bytes, numbered when taken."""
    taken = {t.name for t in snapshot.tables if t.schema == table.schema}
    taken |= {ix.name for t in snapshot.tables if t.schema == table.schema
              for ix in t.indexes}
    taken |= {v.name for v in snapshot.views if v.schema == table.schema}
    taken |= {s.name for s in snapshot.sequences if s.schema == table.schema}
    return choose_name(table.name, None, "pkey", taken)


def _enforced_key(table: Table) -> Index | None:
    """A unique index that can become the primary key as it is."""
    for ix in table.indexes:
        columns = [table.column(c) for c in ix.columns if c is not None]
        if (ix.unique and ix.valid and ix.method == "btree" and ix.predicate is None
                and ix.constraint is None and None not in ix.columns and not ix.include
                and all(c is not None and not c.nullable for c in columns)):
            return ix
    return None


def _candidates(table: Table) -> list[Column]:
    ranked = [c for c in table.columns if not c.nullable and c.type_name in KEY_TYPES]
    ranked.sort(key=lambda c: (KEY_TYPES.index(c.type_name), c.position))
    return ranked[:_MAX_CANDIDATES]


def _natural_key(ctx: CheckContext, table: Table) -> tuple[tuple[str, ...], int] | str | None:
    """The first candidate column (or pair) whose values are all distinct, with the
    row count; a string when the data could not be read; None when none is unique."""
    columns = _candidates(table)
    if not columns:
        return None
    singles = ", ".join(f"count(DISTINCT {ident(c.name)})" for c in columns)
    facts = column_facts(ctx, table, f"count(*), {singles}")
    if isinstance(facts, str):
        return facts
    rows, *distinct = facts
    if rows < MIN_KEY_ROWS:
        return None
    for column, count in zip(columns, distinct, strict=True):
        if count == rows:
            return (column.name,), rows
    pairs = list(combinations(columns, 2))
    if not pairs:
        return None
    counts = ", ".join(f"count(DISTINCT ({ident(a.name)}, {ident(b.name)}))" for a, b in pairs)
    facts = column_facts(ctx, table, counts)
    if isinstance(facts, str):
        return facts
    for (a, b), count in zip(pairs, facts, strict=True):
        if count == rows:
            return (a.name, b.name), rows
    return None


def _key_fix(ctx: CheckContext, table: Table, name: str) -> tuple[str, str | None, str | None]:
    """(what the fix does and why, fix, fix_down) for an ordinary table."""
    target = qualified_ident(table.schema, table.name)
    drop = f"ALTER TABLE {target} DROP CONSTRAINT {ident(name)};"
    index = _enforced_key(table)
    if index is not None:
        return (f"the unique index {quote_ident(index.name)} on NOT NULL columns becomes it",
                f"ALTER TABLE {target} ADD CONSTRAINT {ident(name)} PRIMARY KEY USING INDEX "
                f"{ident(index.name)};",
                f"{drop}\n{index.definition};")
    natural = _natural_key(ctx, table)
    if isinstance(natural, tuple):
        columns, rows = natural
        shown = ", ".join(quote_ident(c) for c in columns)
        return (f"the data proves ({shown}) unique: the check read all {rows} rows, NOT NULL "
                "and no value repeated",
                f"ALTER TABLE {target} ADD CONSTRAINT {ident(name)} PRIMARY KEY "
                f"({', '.join(ident(c) for c in columns)}); -- builds a unique index under "
                "ACCESS EXCLUSIVE; fails, changing nothing, on a duplicate written since",
                drop)
    if ctx.data is None:
        read = "the data was not read for a natural key"
    elif isinstance(natural, str):
        read = f"no natural key: {natural}"
    else:
        read = ("no NOT NULL column (or pair) of an integer, uuid or text type holds "
                f"distinct values in every row (at least {MIN_KEY_ROWS})")
    if table.column("id") is not None:
        return (f"{read}; its id column is not proven unique, so no fix: make id NOT NULL and "
                "unique, or choose the key", None, None)
    return (f"{read}: a new identity column",
            f"ALTER TABLE {target} ADD COLUMN {ident('id')} bigint GENERATED ALWAYS AS "
            f"IDENTITY, ADD CONSTRAINT {ident(name)} PRIMARY KEY ({ident('id')}); "
            "-- rewrites the table under ACCESS EXCLUSIVE",
            f"ALTER TABLE {target} DROP COLUMN {ident('id')};")


def _key_columns(snapshot: Snapshot, table: Table) -> tuple[str, ...] | Table:
    """The partition key columns of ``table`` and of its partitioned partitions.

    A primary key must hold every one of them, since it recurses to sub-partitions.
    Returns the first table partitioned by an expression instead, if any.
    """
    found: list[str] = []
    pending = [table]
    while pending:
        current = pending.pop(0)
        key = partition_key_columns(current)
        if key is None:
            return current
        found += [c for c in key if c not in found]
        pending += [p for p in partitions_of(snapshot, current) if p.kind == "partitioned"]
    return tuple(found)


def _partitioned_key_fix(snapshot: Snapshot, table: Table, name: str
                         ) -> tuple[str | None, str]:
    """(fix, fix_down) for a partitioned table; (None, why) when it can have no key."""
    target = qualified_ident(table.schema, table.name)
    key = _key_columns(snapshot, table)
    if isinstance(key, Table):
        return None, comment(f"{table_name(key)} is partitioned by an expression "
                             f"({key.partition_key}): PostgreSQL cannot give "
                             f"{table_name(table)} a primary key; partition by plain "
                             "columns to have one")
    columns = ", ".join(ident(c) for c in ("id", *(c for c in key if c != "id")))
    note = comment(f"-- a primary key of a partitioned table must include the partition "
                   f"key ({', '.join(quote_ident(c) for c in key)}); ")
    add = f"ALTER TABLE {target} ADD CONSTRAINT {ident(name)} PRIMARY KEY ({columns}); {note}"
    if table.column("id") is not None:
        return (f"{add}scans every partition under ACCESS EXCLUSIVE; fails on NULL or "
                "duplicate keys", f"ALTER TABLE {target} DROP CONSTRAINT {ident(name)};")
    column = ("bigint GENERATED ALWAYS AS IDENTITY"
              if snapshot.server_version_num >= _PARTITIONED_IDENTITY else "bigserial")
    return (f"ALTER TABLE {target} ADD COLUMN {ident('id')} {column};\n{add}rewrites every "
            "partition under ACCESS EXCLUSIVE", f"ALTER TABLE {target} DROP COLUMN {ident('id')};")
