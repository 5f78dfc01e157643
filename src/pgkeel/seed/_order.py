"""Load order for generated rows: parents before children, cycles broken on purpose.

Tables are ordered topologically by their foreign keys (Kahn's algorithm, ties broken
by name so the order is deterministic). A cycle of foreign keys (strongly connected
component, Tarjan's algorithm) is broken through one key whose columns are all
nullable (its rows are loaded with NULL, then updated to a real parent) or that is
``DEFERRABLE`` (loaded with a placeholder and updated before the commit checks it;
PostgreSQL docs, "SET CONSTRAINTS"). A cycle with neither is refused, naming its
constraints: no order of inserts can satisfy it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pgkeel.catalog.model import ForeignKey, Table
from pgkeel.errors import UsageError

__all__ = ["CycleError", "Edge", "LoadOrder", "load_order"]


class CycleError(UsageError):
    """The foreign keys form a cycle no insert order can satisfy."""


@dataclass(frozen=True)
class Edge:
    """Foreign key ``fk`` of ``child`` onto ``parent`` (qualified names).

    ``nullable`` is True when all the key's columns may hold NULL: such rows are loaded
    with NULL there and updated afterwards; a deferrable key with a NOT NULL column
    is loaded with a placeholder instead.
    """

    child: str
    parent: str
    fk: ForeignKey
    nullable: bool = False

    @property
    def breakable(self) -> bool:
        """True when rows can be loaded before their parent exists (module docstring)."""
        return self.fk.deferrable or self.nullable


@dataclass(frozen=True)
class LoadOrder:
    """``tables`` in load order; ``deferred`` the keys loaded empty and set afterwards."""

    tables: tuple[str, ...]
    deferred: tuple[Edge, ...]


def load_order(tables: Mapping[str, Table], leaves: Mapping[str, tuple[str, ...]]) -> LoadOrder:
    """Order ``tables`` (qualified name to table) for loading.

    ``leaves`` maps a partitioned table to the leaf partitions rows are loaded into,
    so a key onto it waits for all of them. Self-references are always deferred when
    breakable; keys onto tables outside ``tables`` are ignored (their rows exist).
    Returns a :class:`LoadOrder`. Raises :class:`CycleError` naming the constraints of
    a cycle in which no key is nullable or deferrable.
    """
    edges: list[Edge] = []
    for name, table in tables.items():
        for fk in table.foreign_keys:
            if not fk.enforced:
                continue
            parent = fk.ref_qualified
            nullable = all(c is not None and c.nullable for c in map(table.column, fk.columns))
            for target in leaves.get(parent, (parent,)):
                if target in tables:
                    edges.append(Edge(name, target, fk, nullable))
    deferred = [e for e in edges if e.child == e.parent and e.breakable]
    live = [e for e in edges if e.child != e.parent]
    while True:
        cycle = _first_cycle(tables, live)
        if cycle is None:
            break
        breakable = sorted((e for e in live if e.child in cycle and e.parent in cycle
                            and e.breakable), key=lambda e: (not e.nullable, e.child, e.fk.name))
        if not breakable:
            names = sorted({f"{e.fk.name} on {e.child}" for e in live
                            if e.child in cycle and e.parent in cycle})
            raise CycleError(
                f"foreign keys {' and '.join(names)} form a cycle of NOT NULL, "
                "non-deferrable keys: no insert order satisfies it",
                hint="make one of them DEFERRABLE or its columns nullable")
        chosen = breakable[0]
        deferred += [e for e in live if e.child == chosen.child and e.fk == chosen.fk]
        live = [e for e in live if not (e.child == chosen.child and e.fk == chosen.fk)]
    return LoadOrder(_kahn(tables, live), tuple(deferred))


def _kahn(tables: Iterable[str], edges: list[Edge]) -> tuple[str, ...]:
    waiting = {t: {e.parent for e in edges if e.child == t} for t in tables}
    order: list[str] = []
    while waiting:
        ready = sorted(t for t, parents in waiting.items() if not parents)
        for t in ready:
            del waiting[t]
            order.append(t)
        for parents in waiting.values():
            parents.difference_update(ready)
    return tuple(order)


def _first_cycle(tables: Iterable[str], edges: list[Edge]) -> set[str] | None:
    """Return the tables of one strongly connected component larger than one, if any."""
    succ: dict[str, list[str]] = {t: [] for t in tables}
    for e in edges:
        succ[e.child].append(e.parent)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(succ):
        if root in index:
            continue
        work = [(root, iter(sorted(succ[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(succ[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    return component
    return None
