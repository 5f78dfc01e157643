"""Index candidates for a workload, from each query's shape (:mod:`.shape`).

Dexter (ankane/dexter, ``lib/dexter/indexer.rb``) tries single columns and pairs of
plain columns; pganalyze's Indexing Engine orders equality columns first (its docs,
"Index Element Extraction"). Per scope and table this module proposes:

- each equality, range and join column or expression alone;
- the equality elements in every order (up to three), then one range element, or the
  ORDER BY elements (an index that returns rows in order serves ``ORDER BY ... LIMIT``
  without a sort);
- the ORDER BY elements alone;
- ``LIKE 'abc%'``: the column with ``text_pattern_ops`` (``varchar_pattern_ops``,
  ``bpchar_pattern_ops``) unless its collation is C (PostgreSQL docs 11.10, "Operator
  Classes and Operator Families");
- GIN: ``jsonb_path_ops`` for jsonb ``@>``, the default ``jsonb_ops`` for ``?``,
  ``?|``, ``?&``, the array default for ``@>``/``&&`` (docs 8.14.4 "jsonb Indexing",
  65.4 "GIN Indexes"), and ``gin_trgm_ops`` for infix LIKE/ILIKE when pg_trgm is
  installed (docs F.35 pg_trgm, "Index Support");
- partial variants: the same keys without the constant conjuncts, which move to the
  index's WHERE (docs 11.8 "Partial Indexes"): ``IS [NOT] NULL`` and boolean tests,
  and equality with a value ``pg_stats`` lists among the most common values with a
  frequency of at most 5 % (a rare value of a column whose values repeat, as
  ``status = 'pending'``; the threshold the pg_qualstats/PoWA and pganalyze notes
  use for "rare").

Which of them help, and which set serves the workload, is for evaluation and
selection to decide.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from pgkeel.advisor.shape import Pred, QueryShape, Scope
from pgkeel.advisor.tableinfo import TableInfo

__all__ = ["Candidate", "candidates_for"]

_PATTERN_OPS = {"text": "text_pattern_ops", "varchar": "varchar_pattern_ops",
                "bpchar": "bpchar_pattern_ops"}
_MAX_EQ_PERMUTED = 3
_RARE = 0.05


@dataclass(frozen=True, slots=True)
class Candidate:
    """A possible index: on ``table`` (key into the tables read), its ``elements``
    (index element SQL, with operator class and direction), ``method`` (``btree``
    or ``gin``), partial ``where`` (SQL or None) and the table's ``columns`` its
    elements or predicate mention (an UPDATE of one of them must update the index)."""

    table: str
    elements: tuple[str, ...]
    method: str = "btree"
    where: str | None = None
    columns: frozenset[str] = frozenset()

    def sql(self, table_sql: str, name: str | None = None, *,
            concurrently: bool = False) -> str:
        """``CREATE INDEX [CONCURRENTLY] [name] ON table_sql [USING gin] (...) [WHERE ...]``.

        ``name`` must already be a quoted identifier."""
        parts = ["CREATE INDEX"]
        if concurrently:
            parts.append("CONCURRENTLY")
        if name:
            parts.append(name)
        parts.append(f"ON {table_sql}")
        if self.method != "btree":
            parts.append(f"USING {self.method}")
        parts.append(f"({', '.join(self.elements)})")
        if self.where:
            parts.append(f"WHERE {self.where}")
        return " ".join(parts)


def _pattern(pred: Pred, info: TableInfo) -> str | None:
    """The element for LIKE 'prefix%' (None when the type has no pattern opclass)."""
    col = info.columns.get(pred.column) if pred.column else None
    if col is not None and col.c_collation:
        return pred.element
    type_name = col.type_name if col else "text"
    ops = _PATTERN_OPS.get(type_name)
    return f"{pred.element} {ops}" if ops else None


def _btree_keys(eq: Sequence[str], tail: Sequence[Sequence[str]]) -> Iterable[tuple[str, ...]]:
    for el in eq:
        yield (el,)
    orders = (itertools.permutations(eq) if len(eq) <= _MAX_EQ_PERMUTED else [tuple(eq)])
    for order in orders if eq else ():
        yield tuple(order)
        for extra in tail:
            yield tuple(order) + tuple(extra)
    for extra in tail:
        yield tuple(extra)


def _table_candidates(table: str, preds: list[Pred], scope: Scope, info: TableInfo,
                      trgm: bool) -> list[Candidate]:
    eq = list(dict.fromkeys(p.element for p in preds if p.kind in ("eq", "join")))
    ranges = list(dict.fromkeys(p.element for p in preds if p.kind == "range"))
    tail: list[tuple[str, ...]] = [(r,) for r in ranges]
    order = scope.order[1] if scope.order and scope.order[0] == table else ()
    if order:
        tail.append(order)
    out: list[Candidate] = []
    for keys in _btree_keys(eq, tail):
        out.append(Candidate(table, keys))
    for pred in preds:
        if pred.kind == "prefix" and (el := _pattern(pred, info)):
            out.append(Candidate(table, (el,)))
            out.extend(Candidate(table, (*keys, el))
                       for keys in itertools.permutations(eq) if len(eq) <= 2 and keys)
        elif pred.kind == "trgm" and trgm:
            out.append(Candidate(table, (f"{pred.element} gin_trgm_ops",), "gin"))
        elif pred.kind == "jsonb_path":
            out.append(Candidate(table, (f"{pred.element} jsonb_path_ops",), "gin"))
        elif pred.kind in ("jsonb", "array"):
            out.append(Candidate(table, (pred.element,), "gin"))
    out.extend(_partials(table, preds, order, ranges, info))
    return out


def _rare(pred: Pred, info: TableInfo) -> bool:
    if pred.kind == "null":
        return True
    col = info.columns.get(pred.column) if pred.column else None
    freq = col.mcv.get(pred.value) if col is not None and pred.value is not None else None
    return freq is not None and freq <= _RARE


def _partials(table: str, preds: list[Pred], order: Sequence[str], ranges: Sequence[str],
              info: TableInfo) -> list[Candidate]:
    """Keys without the constant conjuncts, which move to the index predicate."""
    constants = [p for p in preds if p.constant is not None and p.kind in ("eq", "null")
                 and _rare(p, info)]
    if not constants:
        return []
    where = " AND ".join(dict.fromkeys(p.constant for p in constants if p.constant))
    fixed = {p.element for p in constants}
    eq = [el for el in dict.fromkeys(p.element for p in preds if p.kind in ("eq", "join"))
          if el not in fixed]
    tail: list[tuple[str, ...]] = [(r,) for r in ranges]
    if order:
        tail.append(tuple(order))
    keys_list = list(_btree_keys(eq, tail)) or [(constants[0].element,)]
    return [Candidate(table, keys, where=where) for keys in keys_list]


def candidates_for(shape: QueryShape, tables: dict[str, TableInfo], *,
                   trgm: bool) -> list[Candidate]:
    """Every candidate one query suggests, without duplicates, in a stable order.

    ``tables`` as read by :func:`~pgkeel.advisor.tableinfo.read_tables`; ``trgm``
    True when pg_trgm is installed in the database (its operator class must exist).
    """
    seen: dict[Candidate, None] = {}
    for scope in shape.scopes:
        by_table: dict[str, list[Pred]] = {}
        for pred in scope.preds:
            by_table.setdefault(pred.table, []).append(pred)
        if scope.order and scope.order[0] not in by_table:
            by_table[scope.order[0]] = []
        for table, preds in by_table.items():
            info = tables[table]
            for cand in _table_candidates(table, preds, scope, info, trgm):
                text = " ".join((*cand.elements, cand.where or ""))
                seen.setdefault(replace(cand, columns=info.mentioned(text)))
    return list(seen)
