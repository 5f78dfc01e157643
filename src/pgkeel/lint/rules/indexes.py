"""Index hygiene: duplicate, redundant, invalid and unused indexes.

The index checks of Supabase splinter, PgHero and pg-index-health, checked against a
catalog snapshot and its statistics.
Every index counts, on tables, partitioned tables and materialized views; indexes are
only ever compared with indexes of the same relation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Index, Table, View
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import (
    comment,
    object_name,
    qualified_ident,
    quote_ident,
    table_name,
)
from pgkeel.lint.rules._indexes import (
    drop_index,
    index_key,
    indexed_relations,
    referenced_indexes,
    serves_foreign_key,
    undroppable,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["DuplicateIndex", "InvalidIndex", "RedundantIndex", "UnusedIndex"]


def _signature(index: Index) -> tuple[object, ...]:
    """What two indexes must share to be the same index under two names."""
    return (index.method, index_key(index), tuple(sorted(index.include)), index.predicate,
            index.unique, index.nulls_not_distinct)


def _keep_order(index: Index, relation: Table | View,
                referenced: set[tuple[str, str]]) -> tuple[object, ...]:
    # The copy to keep sorts first: one that cannot be dropped, then the most scanned,
    # then the first name.
    return (undroppable(index, relation, referenced) is None, -(index.scans or 0), index.name)


def duplicate_groups(relation: Table | View, referenced: set[tuple[str, str]]
                     ) -> list[tuple[Index, list[Index]]]:
    """``(kept, duplicates)`` for each set of identical valid indexes of ``relation``."""
    groups: dict[tuple[object, ...], list[Index]] = {}
    for index in relation.indexes:
        if index.valid:
            groups.setdefault(_signature(index), []).append(index)
    result = []
    for same in groups.values():
        if len(same) > 1:
            same.sort(key=lambda ix: _keep_order(ix, relation, referenced))
            result.append((same[0], same[1:]))
    return result


class DuplicateIndex(SchemaRule):
    """Drop indexes that repeat another index of the same table.

    Two valid indexes of one table (or materialized view) are duplicates when they
    have the same access method, the same key columns and expressions with the same
    operator classes, collations and sort orders, the same INCLUDE columns, the same
    predicate, and the same uniqueness. Indexes of different tables or schemas are
    never compared. Of each set one is kept (one backing a constraint, attached to a
    partitioned parent's index, referenced by a foreign key or serving as replica
    identity; else the most scanned; else the first by name) and the others are
    reported; copies on a partition that are both attached to its parent's indexes
    are reported once, on the parent.

    Why
    ---
    Every copy is written on each INSERT and on each UPDATE of its columns, vacuumed,
    WAL-logged and cached, for no query the kept one does not answer as well.
    Severity `warning`: storage and write cost, not wrong data.

    Bad
    ---
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    ```

    Good
    ----
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint NOT NULL);
    CREATE INDEX orders_customer_id_idx ON orders (customer_id);
    CREATE INDEX orders_recent_customer_idx ON orders (customer_id) WHERE id > 1000;
    ```

    Notes
    -----
    The fix drops the duplicate with `DROP INDEX CONCURRENTLY` (no write lock; it
    cannot run in a transaction block) and its undo re-creates it from its own
    definition. When every copy backs a constraint, is referenced by a foreign key,
    or is attached to a partitioned parent's index, no fix is printed: the message
    says what holds it. An index of a partitioned table cannot be dropped
    concurrently, so that fix takes a lock on the table and its partitions.

    References
    ----------
    - PostgreSQL docs, "Indexes", Operator Classes and Operator Families, Indexes and
      Collations; "DROP INDEX" (CONCURRENTLY).
    - Supabase splinter `duplicate_index` (0009); PgHero `duplicate_indexes`;
      pg-index-health `duplicated_indexes`.
    """

    id = "duplicate-index"
    severity = Severity.WARNING
    checklist = None
    object_kind = "index"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0009_duplicate_index"
    upstream = ("splinter:duplicate_index", "pghero:duplicate_indexes")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        referenced = referenced_indexes(ctx.snapshot)
        for relation in indexed_relations(ctx.snapshot):
            for kept, copies in duplicate_groups(relation, referenced):
                for index in copies:
                    if index.inherited:
                        continue  # both copies hang off the parent's: reported there
                    held = undroppable(index, relation, referenced)
                    fix, down = (None, None) if held else drop_index(relation, index)
                    what = (f"; it cannot simply be dropped: {held} (drop that instead, "
                            "keeping one copy)" if held else "")
                    yield self.finding(
                        f"index {quote_ident(index.name)} on {table_name(relation)} "
                        f"repeats {quote_ident(kept.name)} (same method, key, operator "
                        f"classes, collations, INCLUDE and predicate){what}",
                        object=object_name(relation.schema, relation.name, index.name),
                        fix=fix, fix_down=down,
                    )


class RedundantIndex(SchemaRule):
    """Drop a plain index whose key leads another index of the same table.

    A valid, non-unique index that backs no constraint is reported when another valid
    index of the same table has the same access method and predicate and a key that
    starts with all of its key columns (same operator classes, collations and sort
    orders; for a method other than B-tree the keys must be equal), and its INCLUDE
    columns are all in that index. A plain index with the same key as the primary key
    or a unique index counts. Identical copies are `duplicate-index` findings instead.

    Why
    ---
    A B-tree on `(a, b)` answers every lookup, range and ordering on `a` alone that an
    index on `(a)` answers, so the shorter index only adds write, vacuum and cache
    cost. Severity `info`: the narrower index is smaller and can still be the faster
    one for a hot query (PgHero's note), so look at its scans before dropping.

    Bad
    ---
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, placed_on date);
    CREATE INDEX orders_customer_idx ON orders (customer_id);
    CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_on);
    ```

    Good
    ----
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, placed_on date);
    CREATE INDEX orders_placed_idx ON orders (placed_on);
    CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_on);
    ```

    Notes
    -----
    A unique index, or one backing a constraint, enforces something the longer index
    does not, so it is never reported; nor is an index attached to a partitioned
    parent's index (its parent is). The fix drops the index concurrently; the undo
    re-creates it from its definition.

    References
    ----------
    - PostgreSQL docs, "Multicolumn Indexes" (a B-tree is most efficient with
      constraints on the leading columns); "DROP INDEX" (CONCURRENTLY).
    - PgHero `duplicate_indexes` (an index covered by another's leading columns);
      pg-index-health `intersected_indexes`.
    """

    id = "redundant-index"
    severity = Severity.INFO
    checklist = None
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/indexes-multicolumn.html"
    upstream = ("pghero:duplicate_indexes",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        referenced = referenced_indexes(ctx.snapshot)
        for relation in indexed_relations(ctx.snapshot):
            duplicates = {ix.name for _, copies in duplicate_groups(relation, referenced)
                          for ix in copies}
            for index in relation.indexes:
                if (not index.valid or index.unique or index.name in duplicates
                        or undroppable(index, relation, referenced)):
                    continue
                cover = _covering(relation, index)
                if cover is None:
                    continue
                fix, down = drop_index(relation, index)
                kind = ("the primary key" if cover.primary else
                        "unique index" if cover.unique else "index")
                yield self.finding(
                    f"index {quote_ident(index.name)} on {table_name(relation)} "
                    f"is covered by {kind} {quote_ident(cover.name)}, whose key starts "
                    f"with the same columns ({_scans(index)})",
                    object=object_name(relation.schema, relation.name, index.name),
                    fix=fix, fix_down=down,
                )


def _scans(index: Index) -> str:
    return ("no scan statistics" if index.scans is None
            else f"{index.scans} scans counted on this server")


def _covering(relation: Table | View, index: Index) -> Index | None:
    """The longest other valid index whose key starts with ``index``'s, if any."""
    key = index_key(index)
    found: Index | None = None
    for other in relation.indexes:
        if (other is index or not other.valid or other.method != index.method
                or other.predicate != index.predicate):
            continue
        other_key = index_key(other)
        prefix = other_key[:len(key)] == key if index.method == "btree" else other_key == key
        if not prefix or not set(index.include) <= {*map(str, other.columns), *other.include}:
            continue
        if other_key == key and not other.unique and not other.include:
            continue  # an identical plain index: duplicate-index's finding
        if found is None or len(other_key) > len(index_key(found)):
            found = other
    return found


class InvalidIndex(SchemaRule):
    """Rebuild or drop indexes left INVALID by a failed concurrent build.

    An index is reported when `pg_index.indisvalid` is false and no `CREATE INDEX` or
    `REINDEX` is building it right now (`pg_stat_progress_create_index`).

    Why
    ---
    A `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` that fails (a duplicate
    value for a unique index, a deadlock, a cancelled statement, a timeout) leaves the
    index behind, marked invalid. The planner never uses it, yet every write may
    still maintain it, a unique one may still reject rows, and a retried
    `CREATE INDEX CONCURRENTLY IF NOT EXISTS` silently does nothing because the name
    exists. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
    CREATE INDEX accounts_email_idx ON accounts (email);
    UPDATE pg_index SET indisvalid = false
    WHERE indexrelid = 'accounts_email_idx'::regclass;
    ```

    Good
    ----
    ```sql
    CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL);
    CREATE INDEX accounts_email_idx ON accounts (email);
    ```

    Notes
    -----
    The fix rebuilds the index with `REINDEX INDEX CONCURRENTLY` (PostgreSQL 12+),
    which keeps its name and definition. A unique index fails again while duplicate
    values remain: remove them first, or drop it with `DROP INDEX CONCURRENTLY`. An
    invalid index of a partitioned table means a partition has no attached index:
    the message says so and no fix is printed. The rebuild has no undo (there is no
    way back to an invalid index, nor any reason to want one). The Bad example
    marks the index invalid by hand, as the failed build would have left it.

    References
    ----------
    - PostgreSQL docs, "CREATE INDEX", Building Indexes Concurrently ("the index is
      left INVALID... drop the index and try again, or REINDEX INDEX CONCURRENTLY");
      "REINDEX".
    - PgHero `invalid_indexes`; pg-index-health `invalid_indexes`.
    """

    id = "invalid-index"
    severity = Severity.WARNING
    checklist = None
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
    upstream = ("pghero:invalid_indexes",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for relation in indexed_relations(ctx.snapshot):
            for index in relation.indexes:
                if index.valid or index.building:
                    continue
                name = object_name(relation.schema, relation.name, index.name)
                if isinstance(relation, Table) and relation.kind == "partitioned":
                    yield self.finding(
                        f"index {quote_ident(index.name)} on partitioned table "
                        f"{object_name(relation.schema, relation.name)} is INVALID: a "
                        "partition has no index attached to it; create the partition's "
                        "index and ALTER INDEX ... ATTACH PARTITION it",
                        object=name)
                    continue
                fix = f"REINDEX INDEX CONCURRENTLY {qualified_ident(relation.schema, index.name)};"
                if index.unique:
                    fix += comment(" -- unique: this fails again while duplicate values "
                                   "remain; remove them, or DROP INDEX CONCURRENTLY")
                yield self.finding(
                    f"index {quote_ident(index.name)} on "
                    f"{object_name(relation.schema, relation.name)} is INVALID (left by a "
                    "failed concurrent build): never used by queries, still a cost to "
                    "writes",
                    object=name, fix=fix)


def _dropped_elsewhere(relation: Table | View, referenced: set[tuple[str, str]]
                       ) -> set[str]:
    """Indexes duplicate-index or redundant-index already drop (one DROP per index)."""
    copies = {ix.name for _, same in duplicate_groups(relation, referenced) for ix in same}
    return copies | {ix.name for ix in relation.indexes
                     if not ix.unique and ix.name not in copies and _covering(relation, ix)}


def _age(seconds: float) -> str:
    days = seconds / 86400
    if days >= 2:
        return f"{days:.0f} days"
    hours = seconds / 3600
    return f"{hours:.1f} hours" if hours >= 1 else f"{seconds / 60:.0f} minutes"


class UnusedIndex(SchemaRule):
    """Drop indexes that queries do not use.

    An index is reported when `pg_stat_user_indexes.idx_scan` is at most `max_scans`
    (option, default 0) since the statistics were last reset, on a table of at least
    `min_rows` rows (option, default 10000, from `pg_class.reltuples`). Never
    reported: unique indexes, indexes backing a constraint, attached to a
    partitioned parent's index, referenced by a foreign key, used as replica
    identity, or able to serve a foreign key's lookups (dropping those creates an
    `unindexed-foreign-key`), invalid ones (`invalid-index`), and those
    `duplicate-index` or `redundant-index` already drops. When the statistics
    were reset less than `min_stats_age_days` ago (option, default 7), no index is
    judged: one finding on the database says the statistics are too young.

    Why
    ---
    An index nobody scans still costs on every write (the index entry, its WAL, its
    share of vacuum) and takes cache and backup space. Severity `info`: the counts
    are this server's since the last reset, so an index used only by a monthly
    report, or only on a replica, looks unused here.

    Bad
    ---
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL);
    INSERT INTO events SELECT g, 'k' || g % 7 FROM generate_series(1, 20000) AS g;
    CREATE INDEX events_kind_idx ON events (kind);
    ANALYZE events;
    ```

    Good
    ----
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, kind text NOT NULL UNIQUE);
    INSERT INTO events SELECT g, 'k' || g FROM generate_series(1, 20000) AS g;
    ANALYZE events;
    ```

    Notes
    -----
    The message states the statistics' age (since `pg_stat_database.stats_reset`);
    a database never reset has counted since its statistics began (PostgreSQL 15+
    keeps them across clean restarts; a crash or a failover loses them). Check the
    replicas' `pg_stat_user_indexes` before dropping: scans there are not counted
    here. The fix drops the index concurrently; the undo re-creates it from its
    definition. Indexes of partitioned tables have no scan counts of their own and
    are not judged.

    References
    ----------
    - PostgreSQL docs, "The Cumulative Statistics System", pg_stat_all_indexes
      (`idx_scan`), pg_stat_database (`stats_reset`).
    - Supabase splinter `unused_index` (0005, `idx_scan = 0`); PgHero
      `unused_indexes` (at most 50 scans); pg-index-health `unused_indexes`.
    """

    id = "unused-index"
    options: ClassVar[dict[str, RuleOption]] = {
        "max_scans": RuleOption(int, "most index scans that still count as unused", 0),
        "min_rows": RuleOption(
            int, "fewest table rows (estimate) before an index is judged",
            10_000),
        "min_stats_age_days": RuleOption(
            float, "youngest statistics (days since stats_reset) that can judge",
            7.0),
    }
    severity = Severity.INFO
    checklist = None
    object_kind = "index"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0005_unused_index"
    upstream = ("splinter:unused_index", "pghero:unused_indexes")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        max_scans = int(ctx.option(self.id, "max_scans", 0))
        min_rows = int(ctx.option(self.id, "min_rows", 10_000))
        min_days = float(ctx.option(self.id, "min_stats_age_days", 7))
        referenced = referenced_indexes(snapshot)
        candidates = []
        for relation in indexed_relations(snapshot):
            if not isinstance(relation, Table) or relation.row_estimate < min_rows:
                continue
            dropped = _dropped_elsewhere(relation, referenced)  # once per table
            candidates += [
                (relation, index) for index in relation.indexes
                if index.valid and not index.unique and index.scans is not None
                and index.scans <= max_scans
                and undroppable(index, relation, referenced) is None
                and not serves_foreign_key(relation, index) and index.name not in dropped]
        if not candidates:
            return
        age = snapshot.stats_age_seconds
        if age is not None and age < min_days * 86400:
            yield self.finding(
                f"the statistics of database {quote_ident(snapshot.database)} were reset "
                f"{_age(age)} ago ({snapshot.stats_reset}): too young to judge index use "
                f"(min_stats_age_days = {min_days:g}); {len(candidates)} indexes with at "
                f"most {max_scans} scans were not reported",
                object=quote_ident(snapshot.database))
            return
        since = (f"in the {_age(age)} since the statistics were reset ({snapshot.stats_reset})"
                 if age is not None else
                 "since this database's statistics began (never reset)")
        for relation, index in candidates:
            fix, down = drop_index(relation, index)
            yield self.finding(
                f"index {quote_ident(index.name)} on {table_name(relation)} "
                f"({relation.row_estimate} rows) was scanned {index.scans} times {since} "
                "on this server; check replicas before dropping it",
                object=object_name(relation.schema, relation.name, index.name),
                fix=fix, fix_down=down)
