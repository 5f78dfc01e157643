"""Live-catalog integrity: primary keys, foreign-key indexes, row timestamps.

Family H of ``reference/lint-rules.md`` (and the ``require-primary-key`` /
``mandatory-columns`` rules of family D), checked against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import ForeignKey, Index, Snapshot, Table
from pgkeel.lint.rules._catalog import (
    ident,
    index_name,
    inherited_foreign_key,
    own_tables,
    parent_of,
    partitions_of,
    qualified_ident,
    updated_at_trigger,
)
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

    A table is reported when it has no PRIMARY KEY constraint, unless it is a
    partition of a table that has one (PostgreSQL then gives the partition the same
    key).

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
    lock, so schedule it.

    References
    ----------
    - PostgreSQL docs, "Constraints", Primary Keys; "Logical Replication",
      Publication (replica identity).
    - Supabase splinter `no_primary_key` (0004); reference/lint-rules.md
      `require-primary-key`.
    """

    id = "missing-primary-key"
    severity = Severity.ERROR
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-PRIMARY-KEYS"
    upstream = ("splinter:no_primary_key",)

    def check(self, snapshot: Snapshot) -> Iterator[Finding]:
        for table in snapshot.tables:
            if table.primary_key is not None:
                continue
            parent = parent_of(snapshot, table)
            if parent is not None and parent.primary_key is not None:
                continue
            yield self.finding(f"table {table.qualified} has no primary key",
                               object=table.qualified, fix=_primary_key_fix(table))


def _primary_key_fix(table: Table) -> str:
    target = qualified_ident(table.schema, table.name)
    if table.kind == "partitioned":
        return (f"ALTER TABLE {target} ADD PRIMARY KEY (...); -- the key must include the "
                f"partition key columns: {table.partition_key}")
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


def fk_index(table: Table, columns: tuple[str, ...]) -> Index | None:
    """The first index of ``table`` that serves lookups on ``columns``, if any.

    It must be valid (not left over by a failed ``CREATE INDEX CONCURRENTLY``) and
    not partial, and either a B-tree whose leading key columns are exactly
    ``columns`` in any order (a composite primary key or unique index counts), or a
    hash index on the single column of a single-column key. Expressions and INCLUDE
    columns never count.
    """
    want = set(columns)
    for ix in table.indexes:
        if not ix.valid or ix.predicate is not None:
            continue
        lead = ix.columns[:len(columns)]
        if len(lead) < len(columns) or None in lead:
            continue
        if ix.method == "btree" and set(lead) == want:
            return ix
        if ix.method == "hash" and len(columns) == 1 and lead == columns:
            return ix
    return None


class UnindexedForeignKey(SchemaRule):
    """Index the referencing columns of every foreign key.

    A foreign key is reported when no valid, non-partial B-tree index of the
    referencing table leads with its columns (in any order), or, for a one-column
    key, no hash index is on that column. On a partitioned table the key is reported
    once, on the parent; keys declared on a partition itself (as in Pagila's
    `payment_p2022_01`) are reported on that partition.

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
    run inside a transaction block. A partitioned table cannot be indexed
    concurrently: the fix creates the index `ON ONLY` the parent, builds each
    partition's index concurrently and attaches it.

    References
    ----------
    - PostgreSQL docs, "Constraints", Foreign Keys ("it is often a good idea to
      index the referencing columns too"); "CREATE INDEX", Building Indexes
      Concurrently.
    - Supabase splinter `unindexed_foreign_keys` (0001); reference/lint-rules.md
      `unindexed-foreign-key`.
    """

    id = "unindexed-foreign-key"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0001_unindexed_foreign_keys"
    upstream = ("splinter:unindexed_foreign_keys",)

    def check(self, snapshot: Snapshot) -> Iterator[Finding]:
        taken = _relation_names(snapshot)
        for table in snapshot.tables:
            for fk in table.foreign_keys:
                if inherited_foreign_key(snapshot, table, fk):
                    continue
                if fk_index(table, fk.columns) is not None:
                    continue
                cols = ", ".join(fk.columns)
                yield self.finding(
                    f"foreign key {fk.name} on {table.qualified}({cols}) has no index "
                    f"leading with its columns: each DELETE or key UPDATE on "
                    f"{fk.ref_qualified} scans {table.qualified}",
                    object=f"{table.qualified}.{fk.name}",
                    fix=_index_fix(snapshot, table, fk, taken),
                )


def _relation_names(snapshot: Snapshot) -> set[tuple[str, str]]:
    # Index names share pg_class with tables, so a new one must avoid both.
    names = {(t.schema, t.name) for t in snapshot.tables}
    names |= {(t.schema, ix.name) for t in snapshot.tables for ix in t.indexes}
    names |= {(v.schema, v.name) for v in snapshot.views}
    names |= {(s.schema, s.name) for s in snapshot.sequences}
    return names


def _free_name(taken: set[tuple[str, str]], schema: str, table: str,
               columns: tuple[str, ...]) -> str:
    name = index_name(table, columns)
    n = 1
    while (schema, name) in taken:
        name = index_name(table, columns, f"idx{n}")
        n += 1
    taken.add((schema, name))
    return name


def _index_fix(snapshot: Snapshot, table: Table, fk: ForeignKey,
               taken: set[tuple[str, str]]) -> str:
    cols = ", ".join(ident(c) for c in fk.columns)
    name = _free_name(taken, table.schema, table.name, fk.columns)
    target = qualified_ident(table.schema, table.name)
    if table.kind != "partitioned":
        return f"CREATE INDEX CONCURRENTLY {ident(name)} ON {target} ({cols});"
    lines = [f"CREATE INDEX {ident(name)} ON ONLY {target} ({cols});"]
    for part in partitions_of(snapshot, table):
        part_name = _free_name(taken, part.schema, part.name, fk.columns)
        part_target = qualified_ident(part.schema, part.name)
        concurrently = "CONCURRENTLY " if part.kind != "partitioned" else ""
        lines.append(f"CREATE INDEX {concurrently}{ident(part_name)} ON {part_target} ({cols});")
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
    `updated-at-not-maintained`).

    References
    ----------
    - The skill (seeds/000), "Workflow", Data Integrity.
    - PostgreSQL docs, "ALTER TABLE", Notes (fast defaults).
    - reference/lint-rules.md `mandatory-columns` (squawk has no equivalent).
    """

    id = "missing-timestamps"
    severity = Severity.WARNING
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"

    def check(self, snapshot: Snapshot) -> Iterator[Finding]:
        for table in own_tables(snapshot):
            missing = [c for c in TIMESTAMP_COLUMNS if table.column(c) is None]
            if not missing:
                continue
            target = qualified_ident(table.schema, table.name)
            adds = ", ".join(f"ADD COLUMN {ident(c)} timestamptz NOT NULL DEFAULT now()"
                             for c in missing)
            fix = f"ALTER TABLE {target} {adds};"
            if "updated_at" in missing:
                fix += "\n" + updated_at_trigger(table)
            yield self.finding(
                f"table {table.qualified} lacks {' and '.join(missing)}",
                object=table.qualified,
                fix=fix,
            )


def _keeps_updated_at(table: Table) -> bool:
    return any(t.enabled and t.timing == "BEFORE" and t.level == "ROW" and "UPDATE" in t.events
               for t in table.triggers)


class UpdatedAtNotMaintained(SchemaRule):
    """Keep `updated_at` current with a BEFORE UPDATE row trigger.

    A table with an `updated_at` column is reported when no enabled `BEFORE UPDATE
    ... FOR EACH ROW` trigger is on it (for a partitioned table: on it, or on every
    one of its partitions). The catalog cannot show what a trigger function does, so
    any such trigger counts.

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

    References
    ----------
    - PostgreSQL docs, PL/pgSQL "Trigger Functions", Triggers on Data Changes;
      "CREATE TRIGGER".
    - The skill (seeds/000), "Workflow", Data Integrity.
    """

    id = "updated-at-not-maintained"
    severity = Severity.WARNING
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/plpgsql-trigger.html"

    def check(self, snapshot: Snapshot) -> Iterator[Finding]:
        for table in own_tables(snapshot):
            if table.column("updated_at") is None or _keeps_updated_at(table):
                continue
            parts = partitions_of(snapshot, table)
            if parts and all(_keeps_updated_at(p) for p in parts):
                continue
            yield self.finding(
                f"table {table.qualified} has updated_at but no BEFORE UPDATE row trigger "
                "keeps it current",
                object=table.qualified,
                fix=updated_at_trigger(table),
            )
