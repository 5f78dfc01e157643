"""A Dexter-style advisor, for comparison: the algorithm ankane/dexter describes and
implements (``lib/dexter/indexer.rb``, read for the shared notes; no code copied).

Per query, alone: every column the query names (the last field of each column
reference, matched against the columns of the tables it reads; json, jsonb and point
columns left out) becomes a single-column btree candidate, then every ordered pair of
them on one table; all costed with HypoPG. A single-column index is accepted when it
halves the query's cost; a pair when the single-column plan still costs over 100 and
the pair halves it again; at most one index per query. Suggestions that an existing
index's first columns equal are dropped. No expressions, operator classes, GIN,
partial indexes, workload weights or write cost.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pglast
import psycopg
from pglast import ast

from pgkeel.advisor.candidates import Candidate
from pgkeel.advisor.costs import PlanQuery, explain, total_cost
from pgkeel.advisor.coverage import covering_index
from pgkeel.advisor.evaluate import HypoEvaluator
from pgkeel.advisor.shape import param_count, table_names
from pgkeel.advisor.tableinfo import read_tables
from pgkeel.advisor.workload import WorkloadQuery

__all__ = ["dexter_like"]

_SKIPPED_TYPES = {"json", "jsonb", "point"}
_SAVINGS = 0.5  # --min-cost-savings-pct 50


def _column_names(text: str) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
            found.add(node.fields[-1].sval)
        if isinstance(node, ast.Node):
            for name in node.__slots__:
                walk(getattr(node, name))
        elif isinstance(node, tuple | list):
            for item in node:
                walk(item)

    walk(pglast.parse_sql(text)[0].stmt)
    return found


def dexter_like(conn: psycopg.Connection[Any], workload: Sequence[WorkloadQuery]
                ) -> list[str]:
    """The ``CREATE INDEX`` statements a Dexter-style run suggests (hypopg installed)."""
    hypo = HypoEvaluator(conn)
    chosen: dict[str, None] = {}
    for i, q in enumerate(workload):
        tables = read_tables(conn, table_names(q.sql))
        names = _column_names(q.sql)
        pq = PlanQuery(i, q.sql, param_count(q.sql))
        cost0 = total_cost(explain(conn, pq))
        best1: tuple[float, Candidate, str, str] | None = None
        singles: dict[str, list[str]] = {}
        for key, info in tables.items():
            cols = [c for c in sorted(names) if c in info.columns
                    and info.columns[c].type_name not in _SKIPPED_TYPES]
            singles[key] = cols
            for col in cols:
                cand = Candidate(key, (f'"{col}"',))
                got = hypo.measure(cand, info.qualified, [pq])
                if best1 is None or got.costs[i] < best1[0]:
                    best1 = (got.costs[i], cand, info.qualified, got.definition)
        if best1 is None or best1[0] >= cost0 * _SAVINGS:
            continue
        pick = best1
        if best1[0] > 100:
            for key, cols in singles.items():
                for a, b in itertools.permutations(cols, 2):
                    cand = Candidate(key, (f'"{a}"', f'"{b}"'))
                    got = hypo.measure(cand, tables[key].qualified, [pq])
                    if got.costs[i] < best1[0] * _SAVINGS and got.costs[i] < pick[0]:
                        pick = (got.costs[i], cand, tables[key].qualified, got.definition)
        _cost, cand, qualified, definition = pick
        existing = [(ix.name, ix.definition) for ix in tables[cand.table].indexes]
        if covering_index(definition, existing) is None:
            chosen.setdefault(cand.sql(qualified))
    return list(chosen)
