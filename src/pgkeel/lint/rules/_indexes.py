"""What the index rules share: an index's comparable key, and dropping one safely.

An index's key is, per key column, the column (or expression), its operator class,
its collation and its sort order: two indexes with the same key, method, predicate,
INCLUDE list and uniqueness answer exactly the same queries (PostgreSQL docs,
"Operator Classes and Operator Families", "Indexes and Collations", "Indexes and
ORDER BY").
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import Index, Snapshot, Table, View
from pgkeel.lint.rules._catalog import qualified_ident

__all__ = [
    "Key",
    "drop_index",
    "index_key",
    "indexed_relations",
    "referenced_indexes",
    "serves_foreign_key",
    "undroppable",
]

#: One key column: (column name, or the expression's text), opclass, collation, order.
Key = tuple[tuple[str, str | None, str | None, str], ...]


def index_key(index: Index) -> Key:
    """``index``'s key columns as comparable tuples (module docstring)."""
    expressions = iter(index.expressions)
    n = len(index.columns)
    opclasses = index.opclasses or (None,) * n
    collations = index.collations or (None,) * n
    orderings = index.orderings or ("",) * n
    return tuple(
        (column if column is not None else "(" + next(expressions, "?") + ")",
         opclass, collation, ordering)
        for column, opclass, collation, ordering
        in zip(index.columns, opclasses, collations, orderings, strict=True))


def indexed_relations(snapshot: Snapshot) -> Iterator[Table | View]:
    """Tables and materialized views, the relations that have indexes."""
    yield from snapshot.tables
    yield from (v for v in snapshot.views if v.materialized)


def referenced_indexes(snapshot: Snapshot) -> set[tuple[str, str]]:
    """``(schema, index)`` of every unique index a foreign key depends on."""
    return {(fk.ref_schema, fk.ref_index) for t in snapshot.tables
            for fk in t.foreign_keys if fk.ref_index is not None}


def undroppable(index: Index, relation: Table | View,
                referenced: set[tuple[str, str]]) -> str | None:
    """Why ``index`` cannot simply be dropped, or None when it can.

    A constraint's index goes with the constraint; a partition's index attached to
    its parent's goes with the parent's; a foreign key's referenced index and the
    replica identity index must stay while they serve (PostgreSQL docs, "DROP INDEX",
    "ALTER TABLE" REPLICA IDENTITY).
    """
    if index.constraint is not None:
        return f"it backs the constraint {index.constraint}"
    if index.inherited:
        return "it is attached to an index of the partitioned parent"
    if (relation.schema, index.name) in referenced:
        return "a foreign key references it"
    if index.replica_identity:
        return "it is the table's replica identity"
    return None


def drop_index(relation: Table | View, index: Index) -> tuple[str, str]:
    """``(fix, fix_down)``: drop ``index`` and re-create it exactly.

    Concurrently, so neither blocks writes (PostgreSQL docs, "DROP INDEX",
    "CREATE INDEX" Building Indexes Concurrently); an index of a partitioned table
    can be neither dropped nor built concurrently, so those lock the table.
    """
    target = qualified_ident(relation.schema, index.name)
    partitioned = isinstance(relation, Table) and relation.kind == "partitioned"
    if partitioned:
        # pg_get_indexdef writes ON ONLY for a partitioned index; re-created with it,
        # the index would cover no partition.
        definition = index.definition.replace(" ON ONLY ", " ON ", 1)
        return (f"DROP INDEX {target}; -- a partitioned table's index cannot be dropped "
                "concurrently: this locks the table and its partitions",
                f"{definition};")
    prefix = "CREATE UNIQUE INDEX " if index.unique else "CREATE INDEX "
    definition = index.definition
    if definition.startswith(prefix):
        definition = prefix + "CONCURRENTLY " + definition[len(prefix):]
    return f"DROP INDEX CONCURRENTLY {target};", f"{definition};"


def serves_foreign_key(table: Table | View, index: Index) -> bool:
    """True when ``index`` can serve the lookups of one of ``table``'s foreign keys.

    A valid, non-partial B-tree led by the key's columns in any order, or a hash
    index on a one-column key: what the referencing side's checks and cascades use
    (PostgreSQL docs, "Constraints", Foreign Keys).
    """
    if not isinstance(table, Table) or not index.valid or index.predicate is not None:
        return False
    for fk in table.foreign_keys:
        n = len(fk.columns)
        if index.method == "btree" and sorted(map(str, index.columns[:n])) == sorted(fk.columns):
            return True
        if index.method == "hash" and index.columns == fk.columns:
            return True
    return False
