"""The advisor benchmark's score: how much of the best set's gain a set captures.

``score = ln(T0 / T_set) / ln(T0 / T_best)`` (issue 11, "Benchmark"): T is the
workload's weighted total (``sum of weight * per-run figure``) with no added index
(T0), with the known best set, and with the set under test. The log scale makes a
10x speed-up count as much whether it takes 100 ms to 10 ms or 10 ms to 1 ms. The
figure is either the planner's estimated cost (deterministic, fit for CI) or the
median execution time in ms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.advisor.costs import PlanQuery, explain, total_cost
from pgkeel.advisor.verify import time_queries
from pgkeel.advisor.workload import WorkloadQuery

__all__ = ["built", "costs", "score", "timings", "weighted"]

_TABLE = re.compile(r"\bON\s+(\S+)", re.IGNORECASE)


def score(t0: float, t_best: float, t_set: float) -> float:
    """``ln(t0/t_set) / ln(t0/t_best)``; 1.0 when the best set gains nothing."""
    if t_best >= t0:
        return 1.0
    return math.log(t0 / t_set) / math.log(t0 / t_best)


@contextmanager
def built(conn: psycopg.Connection[Any], statements: Sequence[str]) -> Iterator[int]:
    """Build ``statements`` (CREATE INDEX ...) and analyse their tables; yield the
    indexes' total size in bytes; drop them after."""
    before = {r[0] for r in conn.execute("SELECT indexrelid::regclass::text FROM pg_index")}
    for stmt in statements:
        conn.execute(sql.SQL(stmt))  # type: ignore[arg-type]
        match = _TABLE.search(stmt.replace("CONCURRENTLY", ""))
        if match:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(match.group(1))))  # type: ignore[arg-type]
    try:
        row = conn.execute("SELECT coalesce(sum(pg_relation_size(indexrelid)), 0) FROM pg_index "
                           "WHERE NOT (indexrelid::regclass::text = ANY(%s))",
                           (sorted(before),)).fetchone()
        yield int(row[0]) if row else 0
    finally:
        after = {r[0] for r in conn.execute("SELECT indexrelid::regclass::text FROM pg_index")}
        for name in sorted(after - before):
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(name)))  # type: ignore[arg-type]


def costs(conn: psycopg.Connection[Any], workload: Sequence[WorkloadQuery]) -> list[float]:
    """Each query's estimated total cost (EXPLAIN, not run)."""
    return [total_cost(explain(conn, PlanQuery(i, q.sql))) for i, q in enumerate(workload)]


def timings(conn: psycopg.Connection[Any], workload: Sequence[WorkloadQuery],
            runs: int = 5) -> list[float]:
    """Each query's median execution time in ms (writes rolled back)."""
    return time_queries(conn, [q.sql for q in workload], runs)


def weighted(workload: Sequence[WorkloadQuery], figures: Sequence[float]) -> float:
    """``sum of weight * figure``."""
    return sum(q.weight * f for q, f in zip(workload, figures, strict=True))

