"""The entity-relationship model the diagrams draw: tables, and foreign keys as edges.

Partitions fold into their root parent (``pg_class.relispartition``; the pitfall
"partition explosion" of SchemaSpy, schemaspy/schemaspy#717 and #1577): a partitioned
table is one entity showing its partition key and partition count, and the foreign
keys PostgreSQL clones onto each partition (PostgreSQL docs, 5.12 "Table
Partitioning") collapse into the parent's one edge.

Cardinality comes from the catalog, never from names (tbls drew 1:1 as 1:N,
k1LoW/tbls#534): the referencing side is "one" when a primary key, unique
constraint or valid non-partial unique index covers a subset of the key's columns
(then no two rows can share a key value), "many" otherwise; the referenced side is
"optional" when a key column is nullable (a row with a NULL in its key references
nothing: MATCH SIMPLE, PostgreSQL docs, "CREATE TABLE").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pgkeel.catalog.model import Snapshot, Table

__all__ = ["Edge", "Entity", "Erd", "build_erd", "root_of"]


@dataclass(frozen=True, slots=True)
class Entity:
    """One box: a table (a partitioned table stands for its ``partitions``).

    ``rows`` and ``size_bytes`` add up the table and its partitions (estimates:
    :class:`~pgkeel.catalog.model.Table`); ``rows`` is -1 when none was analysed.
    """

    table: Table
    partitions: int = 0
    rows: int = -1
    size_bytes: int = 0

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return self.table.qualified


@dataclass(frozen=True, slots=True)
class Edge:
    """A foreign key from ``child`` (``schema.table``) to ``parent``.

    ``unique`` is True when at most one child row may reference a parent row (1:1),
    ``optional`` when a child row may reference none (a nullable key column).
    """

    child: str
    parent: str
    name: str
    columns: tuple[str, ...]
    ref_columns: tuple[str, ...]
    unique: bool
    optional: bool

    @property
    def cardinality(self) -> str:
        """``1:1`` or ``1:N``, with ``optional`` appended when the key may be NULL."""
        base = "1:1" if self.unique else "1:N"
        return f"{base} optional" if self.optional else base


@dataclass(frozen=True, slots=True)
class Erd:
    """Entities sorted by ``schema.name``; edges sorted by child, name, parent."""

    entities: tuple[Entity, ...]
    edges: tuple[Edge, ...]

    def entity(self, qualified: str) -> Entity | None:
        """The entity ``schema.name``, if drawn."""
        return next((e for e in self.entities if e.qualified == qualified), None)

    def neighbourhood(self, qualified: str) -> Erd:
        """The entity ``qualified`` with every entity one foreign key away, and those keys."""
        edges = tuple(e for e in self.edges if qualified in (e.child, e.parent))
        names = {qualified} | {e.child for e in edges} | {e.parent for e in edges}
        return Erd(tuple(e for e in self.entities if e.qualified in names), edges)

    def by_schema(self) -> dict[str, Erd]:
        """One sub-diagram per schema: its entities, and edges whose child lives there.

        An edge to another schema's table brings that table along, so no key is lost.
        """
        schemas = sorted({e.table.schema for e in self.entities})
        out: dict[str, Erd] = {}
        for schema in schemas:
            edges = tuple(e for e in self.edges if self._schema(e.child) == schema)
            names = ({e.qualified for e in self.entities if e.table.schema == schema}
                     | {e.parent for e in edges})
            out[schema] = Erd(tuple(e for e in self.entities if e.qualified in names), edges)
        return out

    def _schema(self, qualified: str) -> str | None:
        entity = self.entity(qualified)
        return entity.table.schema if entity else None


def root_of(table: Table, by_name: dict[str, Table]) -> Table:
    """The top partitioned table above a partition (itself for any other table).

    ``by_name`` maps ``schema.name`` to every table of the snapshot.
    """
    seen = set()
    while table.partition_of and table.partition_of in by_name and table.qualified not in seen:
        seen.add(table.qualified)
        table = by_name[table.partition_of]
    return table


def _unique(table: Table, columns: Iterable[str]) -> bool:
    """True when a key, unique constraint or unique index covers a subset of ``columns``."""
    cols = set(columns)
    keys = [c.columns for c in table.unique_constraints]
    if table.primary_key:
        keys.append(table.primary_key.columns)
    keys += [tuple(c for c in i.columns if c is not None) for i in table.indexes
             if i.unique and i.valid and i.predicate is None and None not in i.columns]
    return any(k and set(k) <= cols for k in keys)


def build_erd(snap: Snapshot, schemas: Iterable[str] = ()) -> Erd:
    """Build the ER model of ``snap``'s tables (those of ``schemas`` when given).

    Returns an :class:`Erd`; edges whose two ends are not both drawn are left out.
    Deterministic: the same snapshot gives the same model, sorted.
    """
    wanted = set(schemas)
    by_name = {t.qualified: t for t in snap.tables}
    counts: dict[str, int] = {}
    rows: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for t in snap.tables:
        root = root_of(t, by_name).qualified
        if t.is_partition:
            counts[root] = counts.get(root, 0) + 1
        if t.row_estimate >= 0:
            rows[root] = rows.get(root, 0) + t.row_estimate
        sizes[root] = sizes.get(root, 0) + t.size_bytes
    entities = tuple(
        Entity(t, counts.get(t.qualified, 0), rows.get(t.qualified, -1),
               sizes.get(t.qualified, 0))
        for t in sorted(snap.tables, key=lambda t: (t.schema, t.name))
        if not t.is_partition and (not wanted or t.schema in wanted))
    drawn = {e.qualified for e in entities}
    edges: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Edge] = {}
    for t in snap.tables:
        child = root_of(t, by_name)
        for fk in t.foreign_keys:
            ref = by_name.get(fk.ref_qualified)
            parent = root_of(ref, by_name).qualified if ref else fk.ref_qualified
            if child.qualified not in drawn or parent not in drawn:
                continue
            key = (child.qualified, parent, fk.columns, fk.ref_columns)
            columns = [child.column(c) for c in fk.columns]
            edge = Edge(child.qualified, parent, fk.name, fk.columns, fk.ref_columns,
                        unique=_unique(child, fk.columns),
                        optional=any(c is None or c.nullable for c in columns))
            # The parent's own key wins over the clones on its partitions.
            if key not in edges or t is child:
                edges[key] = edge
    ordered = sorted(edges.values(), key=lambda e: (e.child, e.name, e.parent, e.columns))
    return Erd(entities, tuple(ordered))
