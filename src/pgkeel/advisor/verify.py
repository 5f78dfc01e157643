"""Measure the advice: time the workload on a scratch copy before and after the
suggested indexes are built (``advise indexes --verify``).

Each query runs ``runs`` times as ``EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON)``
inside a transaction that is rolled back (so writes leave nothing behind, though
sequences advance, as on any copy), and its median ``Execution Time`` counts (docs,
EXPLAIN: ANALYZE runs the statement; TIMING OFF drops per-node clock reads, the
overhead the docs warn of). The indexes are built with the very statements the
advice prints (``CREATE INDEX CONCURRENTLY``), then the tables are analysed. Queries
with ``$n`` parameters are not timed: nothing says which values to run them with.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.advisor.indexes import IndexAdvice
from pgkeel.advisor.scratch import scratch_copy
from pgkeel.advisor.shape import param_count
from pgkeel.advisor.workload import WorkloadQuery
from pgkeel.connect import connect

__all__ = ["Timing", "Verification", "time_queries", "verify_advice"]


@dataclass(frozen=True, slots=True)
class Timing:
    """One query's median execution time in ms, before and after the indexes."""

    label: str
    weight: float
    before_ms: float
    after_ms: float

    @property
    def speedup(self) -> float:
        """before / after (1.0 when both are zero)."""
        return self.before_ms / self.after_ms if self.after_ms else 1.0


@dataclass(frozen=True, slots=True)
class Verification:
    """``timings`` of the timed queries; ``untimed`` ``(label, reason)``; weighted
    totals in ms (``sum of weight * median``) before and after."""

    timings: tuple[Timing, ...]
    untimed: tuple[tuple[str, str], ...]
    before_ms: float
    after_ms: float


class _Rollback(Exception):
    """Undoes what a timed statement wrote."""


def _once(conn: psycopg.Connection[Any], text: str) -> float:
    query = sql.SQL("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {}").format(sql.SQL(text))
    ms = 0.0
    try:
        with conn.transaction():
            row = conn.execute(query).fetchone()
            assert row is not None
            ms = float(row[0][0]["Execution Time"])
            raise _Rollback
    except _Rollback:
        pass
    return ms


def time_queries(conn: psycopg.Connection[Any], texts: Sequence[str], runs: int = 5
                 ) -> list[float]:
    """Median execution time (ms) of each statement over ``runs`` runs, rolled back.

    Raises ``psycopg.Error`` when a statement fails."""
    return [statistics.median(_once(conn, t) for _ in range(runs)) for t in texts]


def verify_advice(url: str, workload: Sequence[WorkloadQuery], advice: IndexAdvice, *,
                  runs: int = 5, progress: Callable[[str], None] | None = None
                  ) -> Verification:
    """Time ``workload`` on a scratch copy of ``url`` without, then with, the
    advice's indexes. Raises ``DatabaseError`` when the copy cannot be made and
    ``psycopg.Error`` when a suggested statement or a query fails on the copy."""
    say = progress or (lambda _line: None)
    untimed = [(q.label, "has $n parameters: no values to time it with")
               for q in workload if param_count(q.sql)]
    timed = [q for q in workload if not param_count(q.sql)]
    with scratch_copy(url) as copy_url, connect(copy_url) as conn:
        say(f"timing {len(timed)} queries on a scratch copy, {runs} runs each")
        before = time_queries(conn, [q.sql for q in timed], runs)
        for s in advice.suggestions:
            say(f"building {s.name}")
            conn.execute(sql.SQL(s.create))  # type: ignore[arg-type]
            conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(s.table)))  # type: ignore[arg-type]
        after = time_queries(conn, [q.sql for q in timed], runs)
    timings = tuple(Timing(q.label, q.weight, b, a)
                    for q, b, a in zip(timed, before, after, strict=True))
    return Verification(timings, tuple(untimed),
                        sum(t.weight * t.before_ms for t in timings),
                        sum(t.weight * t.after_ms for t in timings))
