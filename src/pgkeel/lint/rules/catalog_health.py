"""Live-catalog integrity: foreign-key indexes (primary keys: :mod:`.primary_keys`).

Family H of ``reference/lint-rules.md``, checked against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import ForeignKey, Index, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.rules._catalog import (
    ident,
    index_name,
    inherited_foreign_key,
    object_name,
    partitions_of,
    qualified_ident,
    quote_ident,
    relation_names,
    table_name,
)
from pgkeel.lint.rules._undo import drop_created_indexes
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "UnindexedForeignKey",
    "fk_index",
]


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
        taken = relation_names(snapshot)
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
