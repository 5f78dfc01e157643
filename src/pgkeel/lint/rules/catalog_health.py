"""Live-catalog integrity: primary keys, foreign-key indexes, row timestamps.

Family H of ``reference/lint-rules.md`` (and the ``require-primary-key`` /
``mandatory-columns`` rules of family D), checked against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import ForeignKey, Index, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.rules._catalog import (
    comment,
    ident,
    index_name,
    inherited_foreign_key,
    object_name,
    own_tables,
    parent_of,
    partition_key_columns,
    partitions_of,
    qualified_ident,
    quote_ident,
    table_name,
    updated_at_trigger,
)
from pgkeel.lint.rules._undo import drop_created_indexes
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "MissingPrimaryKey",
    "MissingTimestamps",
    "UnindexedForeignKey",
    "UpdatedAtNotMaintained",
    "fk_index",
]

TIMESTAMP_COLUMNS = ("created_at", "updated_at")


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
    The suggested fix reuses a unique, non-partial index on NOT NULL columns when the
    table has one (`ADD CONSTRAINT ... PRIMARY KEY USING INDEX`, no table scan);
    otherwise adding an identity column rewrites the table under an ACCESS EXCLUSIVE
    lock, so schedule it. A primary key of a partitioned table must include every
    partition key column (its sub-partitions' too), so the fix adds them to the
    key; PostgreSQL before 17 cannot add an identity column to a partitioned table
    (the fix adds a `bigserial` there), and no version can put a primary key on a
    table partitioned by an expression (the fix then only says so).

    References
    ----------
    - PostgreSQL docs, "Constraints", Primary Keys; "Logical Replication",
      Publication (replica identity); "Table Partitioning", Limitations.
    - Supabase splinter `no_primary_key` (0004); reference/lint-rules.md
      `require-primary-key`.
    """

    id = "missing-primary-key"
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
            yield self.finding(f"{kind} {table_name(table)} has no primary key",
                               object=table_name(table),
                               fix=_primary_key_fix(snapshot, table))


# PostgreSQL 17 added identity columns on partitioned tables.
_PARTITIONED_IDENTITY = 170000


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


def _partitioned_key_fix(snapshot: Snapshot, table: Table) -> str:
    target = qualified_ident(table.schema, table.name)
    key = _key_columns(snapshot, table)
    if isinstance(key, Table):
        return comment(f"-- {table_name(key)} is partitioned by an expression "
                       f"({key.partition_key}): PostgreSQL cannot give "
                       f"{table_name(table)} a primary key; partition by plain columns "
                       "to have one")
    columns = ", ".join(ident(c) for c in ("id", *(c for c in key if c != "id")))
    note = comment(f"-- a primary key of a partitioned table must include the partition "
                   f"key ({', '.join(quote_ident(c) for c in key)}); ")
    if table.column("id") is not None:
        return (f"ALTER TABLE {target} ADD PRIMARY KEY ({columns}); {note}scans every "
                "partition under ACCESS EXCLUSIVE; fails on NULL or duplicate keys")
    column = ("bigint GENERATED ALWAYS AS IDENTITY"
              if snapshot.server_version_num >= _PARTITIONED_IDENTITY else "bigserial")
    return (f"ALTER TABLE {target} ADD COLUMN {ident('id')} {column};\n"
            f"ALTER TABLE {target} ADD PRIMARY KEY ({columns}); {note}rewrites every "
            "partition under ACCESS EXCLUSIVE")


def _primary_key_fix(snapshot: Snapshot, table: Table) -> str:
    if table.kind == "partitioned":
        return _partitioned_key_fix(snapshot, table)
    target = qualified_ident(table.schema, table.name)
    for ix in table.indexes:
        columns = [table.column(c) for c in ix.columns if c is not None]
        if (ix.unique and ix.valid and ix.method == "btree" and ix.predicate is None
                and ix.constraint is None and None not in ix.columns
                and all(c is not None and not c.nullable for c in columns)):
            return (f"ALTER TABLE {target} ADD CONSTRAINT {ident(table.name + '_pkey')} "
                    f"PRIMARY KEY USING INDEX {ident(ix.name)};")
    if table.column("id") is not None:
        return (f"ALTER TABLE {target} ADD PRIMARY KEY ({ident('id')}); -- scans the table "
                "under ACCESS EXCLUSIVE; fails on NULL or duplicate ids")
    return (f"ALTER TABLE {target} ADD COLUMN {ident('id')} bigint GENERATED ALWAYS AS "
            "IDENTITY PRIMARY KEY; -- rewrites the table under ACCESS EXCLUSIVE")


def _serves(ix: Index, columns: tuple[str, ...], *, gist: bool = False) -> bool:
    """True when ``ix``, valid or not, would serve lookups on ``columns``."""
    if ix.predicate is not None:
        return False
    lead = ix.columns[:len(columns)]
    if len(lead) < len(columns) or None in lead:
        return False
    if ix.method == "btree" or (gist and ix.method == "gist"):
        return set(lead) == set(columns)
    return ix.method == "hash" and len(columns) == 1 and lead == columns


def fk_index(table: Table, columns: tuple[str, ...], *, gist: bool = False) -> Index | None:
    """The first index of ``table`` that serves lookups on ``columns``, if any.

    It must be valid (not left over by a failed ``CREATE INDEX CONCURRENTLY``) and
    not partial, and either a B-tree whose leading key columns are exactly
    ``columns`` in any order (a composite primary key or unique index counts), or a
    hash index on the single column of a single-column key; with ``gist`` (a
    temporal key) a GiST index led by ``columns`` counts too. Expressions and
    INCLUDE columns never count.
    """
    return next((ix for ix in table.indexes if ix.valid and _serves(ix, columns, gist=gist)),
                None)


def _invalid_index(table: Table, columns: tuple[str, ...], gist: bool) -> Index | None:
    """An INVALID index that would serve ``columns`` once rebuilt."""
    return next((ix for ix in table.indexes if not ix.valid and _serves(ix, columns, gist=gist)
                 and not (table.kind == "partitioned" and ix.constraint is not None)), None)


def _temporal(snapshot: Snapshot, fk: ForeignKey) -> bool:
    """True for a temporal key (``PERIOD``, PostgreSQL 18+).

    The snapshot does not record ``conperiod``; a temporal key is the only kind that
    may reference a key ``WITHOUT OVERLAPS``, whose constraint index is GiST, while a
    plain key references a B-tree unique index on the same columns.
    """
    ref = next((t for t in snapshot.tables
                if (t.schema, t.name) == (fk.ref_schema, fk.ref_table)), None)
    if ref is None:
        return False
    keys = [ix for ix in ref.indexes if ix.constraint is not None and ix.predicate is None
            and sorted(map(str, ix.columns)) == sorted(fk.ref_columns)]
    return (any(ix.method == "gist" for ix in keys)
            and not any(ix.method == "btree" and ix.unique for ix in keys))


class UnindexedForeignKey(SchemaRule):
    """Index the referencing columns of every foreign key.

    A foreign key is reported when no valid, non-partial B-tree index of the
    referencing table leads with its columns (in any order), or, for a one-column
    key, no hash index is on that column. On a partitioned table the key is reported
    once, on the parent; keys declared on a partition itself (as in Pagila's
    `payment_p2022_01`) are reported on that partition. `NOT ENFORCED` keys
    (PostgreSQL 18) are never checked, so they need no index and are skipped.

    Why
    ---
    PostgreSQL indexes the referenced key, never the referencing columns. Every
    DELETE of a parent row, every UPDATE of its key, and every `ON DELETE CASCADE`
    then scans the whole child table (under a lock), and joins from parent to child
    cannot use an index. The skill's checklist asks that "All foreign keys have
    indexes". Severity `warning`: a performance and locking hazard, not wrong data.

    Bad
    ---
    ```sql
    CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    CREATE TABLE orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers (id)
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE customers (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    CREATE TABLE orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES customers (id)
    );
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    ```

    Notes
    -----
    The fix uses `CREATE INDEX CONCURRENTLY`, which does not block writes but cannot
    run inside a transaction block, and names the index as PostgreSQL would
    (`table_columns_idx`, cut to 63 bytes, numbered when taken). A partitioned table
    cannot be indexed concurrently: the fix creates the index `ON ONLY` the parent,
    builds each partition's index concurrently and attaches it.

    When the only index that would serve the key is INVALID (a failed
    `CREATE INDEX CONCURRENTLY` or `REINDEX`), the fix rebuilds that index with
    `REINDEX INDEX CONCURRENTLY` instead of adding a second one (a unique index fails
    again while duplicates remain); on a partitioned table it drops the invalid index
    and builds a new one.

    A temporal key (`PERIOD`, PostgreSQL 18) is reported like any other: its checks
    look the referencing rows up by the key's columns and compare the periods with
    `&&`. A B-tree or a GiST index led by its columns counts, and the fix builds a
    GiST one (the non-range columns need the `btree_gist` extension, which the
    referenced `WITHOUT OVERLAPS` key already needs). The snapshot does not record
    `PERIOD`, so a key is taken as temporal when the key it references is backed by
    a GiST index.

    References
    ----------
    - PostgreSQL docs, "Constraints", Foreign Keys ("it is often a good idea to
      index the referencing columns too"); "CREATE INDEX", Building Indexes
      Concurrently; "REINDEX", Rebuilding Indexes Concurrently.
    - Supabase splinter `unindexed_foreign_keys` (0001); reference/lint-rules.md
      `unindexed-foreign-key`.
    """

    id = "unindexed-foreign-key"
    severity = Severity.WARNING
    checklist = checklist_items.FK_INDEXES
    object_kind = "constraint"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0001_unindexed_foreign_keys"
    upstream = ("splinter:unindexed_foreign_keys",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        taken = _relation_names(snapshot)
        for table in snapshot.tables:
            for fk in table.foreign_keys:
                if not fk.enforced or inherited_foreign_key(snapshot, table, fk):
                    continue
                temporal = _temporal(snapshot, fk)
                if fk_index(table, fk.columns, gist=temporal) is not None:
                    continue
                invalid = _invalid_index(table, fk.columns, temporal)
                cols = ", ".join(quote_ident(c) for c in fk.columns)
                what = "temporal foreign key" if temporal else "foreign key"
                why = (f"its only matching index, {quote_ident(invalid.name)}, is INVALID "
                       "(left by a failed CREATE INDEX CONCURRENTLY or REINDEX)"
                       if invalid is not None else "no index leads with its columns")
                yield self.finding(
                    f"{what} {quote_ident(fk.name)} on {table_name(table)}({cols}) has no "
                    f"usable index: {why}; each DELETE or key UPDATE on "
                    f"{object_name(fk.ref_schema, fk.ref_table)} scans {table_name(table)}",
                    object=object_name(table.schema, table.name, fk.name),
                    fix=(fix := _index_fix(snapshot, table, fk, taken, temporal, invalid)),
                    fix_down=drop_created_indexes(fix),
                )


def _relation_names(snapshot: Snapshot) -> dict[str, set[str]]:
    # Index names share pg_class with tables, so a new one must avoid both. The
    # snapshot lists no composite types or foreign tables, which share it too.
    names: dict[str, set[str]] = {}
    for schema, name in (
        *((t.schema, t.name) for t in snapshot.tables),
        *((t.schema, ix.name) for t in snapshot.tables for ix in t.indexes),
        *((v.schema, v.name) for v in snapshot.views),
        *((v.schema, ix.name) for v in snapshot.views for ix in v.indexes),
        *((s.schema, s.name) for s in snapshot.sequences),
    ):
        names.setdefault(schema, set()).add(name)
    return names


def _free_name(taken: dict[str, set[str]], schema: str, table: str,
               columns: tuple[str, ...]) -> str:
    in_schema = taken.setdefault(schema, set())
    name = index_name(table, columns, in_schema)
    in_schema.add(name)
    return name


def _index_fix(snapshot: Snapshot, table: Table, fk: ForeignKey,
               taken: dict[str, set[str]], temporal: bool, invalid: Index | None) -> str:
    target = qualified_ident(table.schema, table.name)
    lines = []
    if invalid is not None and table.kind != "partitioned":
        fix = f"REINDEX INDEX CONCURRENTLY {qualified_ident(table.schema, invalid.name)};"
        if invalid.unique:
            fix += (" -- a unique index: this fails again until the duplicate values are "
                    "gone (or drop it and create a plain index)")
        return fix
    if invalid is not None:
        lines.append(f"DROP INDEX {qualified_ident(table.schema, invalid.name)}; -- INVALID, "
                     "and an index of a partitioned table cannot be rebuilt concurrently")
    cols = ", ".join(ident(c) for c in fk.columns)
    using = ""
    if temporal:
        using = "USING gist "
        if not any(e.name == "btree_gist" for e in snapshot.extensions):
            lines.append("CREATE EXTENSION IF NOT EXISTS btree_gist; -- GiST operator "
                         "classes for the key's scalar columns")
    name = _free_name(taken, table.schema, table.name, fk.columns)
    if table.kind != "partitioned":
        lines.append(f"CREATE INDEX CONCURRENTLY {ident(name)} ON {target} {using}({cols});")
        return "\n".join(lines)
    lines.append(f"CREATE INDEX {ident(name)} ON ONLY {target} {using}({cols});")
    for part in partitions_of(snapshot, table):
        part_name = _free_name(taken, part.schema, part.name, fk.columns)
        part_target = qualified_ident(part.schema, part.name)
        concurrently = "CONCURRENTLY " if part.kind != "partitioned" else ""
        lines.append(f"CREATE INDEX {concurrently}{ident(part_name)} ON {part_target} "
                     f"{using}({cols});")
        lines.append(f"ALTER INDEX {qualified_ident(table.schema, name)} "
                     f"ATTACH PARTITION {qualified_ident(part.schema, part_name)};")
    return "\n".join(lines)


class MissingTimestamps(SchemaRule):
    """Give every table `created_at` and `updated_at` columns.

    A table (or partitioned table; partitions have their parent's columns) is
    reported when it lacks either column; the message names the missing ones.

    Why
    ---
    The skill's Data Integrity rule: "Ensure all tables have `created_at` and
    `updated_at` timestamps". They answer "when did this row appear, when did it last
    change" in incidents, audits, incremental exports and cache invalidation, and
    they cannot be recovered after the fact. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ```

    Notes
    -----
    `ADD COLUMN ... NOT NULL DEFAULT now()` does not rewrite the table
    (PostgreSQL 11+ stores a non-volatile default once); existing rows get the time
    of the ALTER. The fix also adds the trigger that keeps `updated_at` current (see
    `updated-at-not-maintained`). It says `ADD COLUMN IF NOT EXISTS`: with table
    inheritance (`INHERITS`), adding a column to the parent adds it to the children
    too, and the snapshot does not say which tables inherit, so each child is
    reported as well and its fix must not fail once the parent's has run.

    References
    ----------
    - The skill (seeds/000), "Workflow", Data Integrity.
    - PostgreSQL docs, "ALTER TABLE", Notes (fast defaults); "Inheritance".
    - reference/lint-rules.md `mandatory-columns` (squawk has no equivalent).
    """

    id = "missing-timestamps"
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in own_tables(snapshot):
            missing = [c for c in TIMESTAMP_COLUMNS if table.column(c) is None]
            if not missing:
                continue
            target = qualified_ident(table.schema, table.name)
            adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {ident(c)} timestamptz NOT NULL "
                             "DEFAULT now()" for c in missing)
            fix = f"ALTER TABLE {target} {adds};"
            if "updated_at" in missing:
                fix += "\n" + updated_at_trigger(table)
            yield self.finding(
                f"table {table_name(table)} lacks {' and '.join(missing)}",
                object=table_name(table),
                fix=fix,
            )


def _keeps_updated_at(table: Table) -> bool:
    return any(t.enabled and t.timing == "BEFORE" and t.level == "ROW" and "UPDATE" in t.events
               for t in table.triggers)


class UpdatedAtNotMaintained(SchemaRule):
    """Keep `updated_at` current with a BEFORE UPDATE row trigger.

    A table with an `updated_at` column is reported when no enabled `BEFORE UPDATE
    ... FOR EACH ROW` trigger is on it (for a partitioned table: on it, or on every
    one of its partitions).

    Why
    ---
    A `DEFAULT now()` only fills `updated_at` on INSERT. Without a trigger the column
    keeps the insert time unless every writer remembers to set it, so "changed since"
    queries, sync jobs and caches silently miss updates. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at := now();
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER notes_set_updated_at BEFORE UPDATE ON notes
      FOR EACH ROW EXECUTE FUNCTION set_updated_at();
    ```

    Notes
    -----
    A heuristic: the catalog snapshot records a trigger's timing, events, level and
    function name, not the function's body, so any enabled BEFORE UPDATE row trigger
    counts, whatever it does. A trigger that never sets `updated_at`, one limited to
    `UPDATE OF` other columns, or one whose `WHEN` condition rarely holds passes
    unnoticed.

    The fix creates pgkeel's own trigger function, `pgkeel_set_updated_at()` in the
    table's schema (`CREATE OR REPLACE` touches only that name, never a function of
    yours), and a trigger of the same name on the table.

    References
    ----------
    - PostgreSQL docs, PL/pgSQL "Trigger Functions", Triggers on Data Changes;
      "CREATE TRIGGER".
    - The skill (seeds/000), "Workflow", Data Integrity.
    """

    id = "updated-at-not-maintained"
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/plpgsql-trigger.html"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in own_tables(snapshot):
            if table.column("updated_at") is None or _keeps_updated_at(table):
                continue
            parts = partitions_of(snapshot, table)
            if parts and all(_keeps_updated_at(p) for p in parts):
                continue
            yield self.finding(
                f"table {table_name(table)} has updated_at but no BEFORE UPDATE row trigger "
                "keeps it current",
                object=table_name(table),
                fix=updated_at_trigger(table),
            )
