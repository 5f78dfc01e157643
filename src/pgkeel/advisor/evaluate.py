"""Measure what one candidate index (or a set) would do to the workload's plans.

Two evaluators with one interface:

- :class:`HypoEvaluator`: HypoPG hypothetical indexes (HypoPG/hypopg
  ``docs/usage.rst``), private to the session, nothing built; btree only (HypoPG
  cannot fake GIN: "access method gin is not supported").
- :class:`RealEvaluator`: real indexes built on a scratch copy of the database
  (:mod:`.scratch`), any access method; the table is analysed after an expression
  index is built, since ANALYZE gathers statistics on index expressions (docs,
  ANALYZE: "statistics ... for expression indexes").

Each returns a :class:`Measured`: the index's definition as the server prints it,
its size in bytes (HypoPG's estimate, or the built index), each query's estimated
cost with it, and which queries' plans use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg import sql

from pgkeel.advisor.candidates import Candidate
from pgkeel.advisor.costs import PlanQuery, explain, index_names, total_cost

__all__ = ["Evaluator", "HypoEvaluator", "Measured", "RealEvaluator", "hypopg_installed"]


@dataclass(frozen=True, slots=True)
class Measured:
    """One candidate's effect: ``definition`` (server's text), ``size`` (bytes),
    ``costs`` ``{query index: estimated total cost}``, ``used`` (query indexes whose
    plan scans the index)."""

    definition: str
    size: int
    costs: dict[int, float]
    used: frozenset[int]


class Evaluator(Protocol):
    """What the advisor asks of an evaluator."""

    method: str

    def measure(self, cand: Candidate, table_sql: str,
                queries: Sequence[PlanQuery]) -> Measured:
        """Build or fake ``cand``, EXPLAIN ``queries``, undo. Raises psycopg.Error."""
        ...

    def measure_set(self, cands: Sequence[tuple[Candidate, str]],
                    queries: Sequence[PlanQuery]) -> dict[int, float]:
        """Costs of ``queries`` with every candidate of ``cands`` at once."""
        ...


def hypopg_installed(conn: psycopg.Connection[Any]) -> bool:
    """True when the hypopg extension is created in the connected database."""
    row = conn.execute("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'hypopg')"
                       ).fetchone()
    return bool(row and row[0])


def _plans(conn: psycopg.Connection[Any], queries: Sequence[PlanQuery]
           ) -> dict[int, dict[str, Any]]:
    return {q.index: explain(conn, q) for q in queries}


class HypoEvaluator:
    """Hypothetical btree indexes on ``conn`` (autocommit, hypopg installed)."""

    method = "hypopg"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def measure(self, cand: Candidate, table_sql: str,
                queries: Sequence[PlanQuery]) -> Measured:
        """See :class:`Evaluator`."""
        row = self.conn.execute("SELECT indexrelid, indexname FROM hypopg_create_index(%s)",
                                (cand.sql(table_sql),)).fetchone()
        assert row is not None
        oid, name = row
        try:
            info = self.conn.execute(
                "SELECT hypopg_get_indexdef(%s), hypopg_relation_size(%s)", (oid, oid)
            ).fetchone()
            assert info is not None
            plans = _plans(self.conn, queries)
        finally:
            self.conn.execute("SELECT hypopg_drop_index(%s)", (oid,))
        return Measured(str(info[0]), int(info[1]),
                        {i: total_cost(p) for i, p in plans.items()},
                        frozenset(i for i, p in plans.items() if name in index_names(p)))

    def measure_set(self, cands: Sequence[tuple[Candidate, str]],
                    queries: Sequence[PlanQuery]) -> dict[int, float]:
        """Costs of ``queries`` with every candidate of ``cands`` at once."""
        try:
            for cand, table_sql in cands:
                self.conn.execute("SELECT hypopg_create_index(%s)", (cand.sql(table_sql),))
            return {i: total_cost(p) for i, p in _plans(self.conn, queries).items()}
        finally:
            self.conn.execute("SELECT hypopg_reset()")


class RealEvaluator:
    """Real indexes on ``conn``, a connection (autocommit) to a scratch copy."""

    method = "scratch"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def baseline(self, queries: Sequence[PlanQuery]) -> dict[int, dict[str, Any]]:
        """Plans on the copy before any candidate: ``{query index: top plan node}``."""
        return _plans(self.conn, queries)

    def _build(self, cand: Candidate, table_sql: str, name: str) -> None:
        self.conn.execute(sql.SQL(cand.sql(table_sql, sql.Identifier(name).as_string(None))))
        if any(el.startswith("(") for el in cand.elements):
            self.conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(table_sql)))

    def measure(self, cand: Candidate, table_sql: str,
                queries: Sequence[PlanQuery]) -> Measured:
        """See :class:`Evaluator`."""
        name = "pgkeel_advise_candidate"
        self._build(cand, table_sql, name)
        try:
            row = self.conn.execute(
                "SELECT pg_get_indexdef(c.oid), pg_relation_size(c.oid) FROM pg_class c "
                "WHERE c.oid = to_regclass(%s)", (sql.Identifier(name).as_string(None),)
            ).fetchone()
            assert row is not None
            plans = _plans(self.conn, queries)
        finally:
            self.conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))
        return Measured(str(row[0]), int(row[1]), {i: total_cost(p) for i, p in plans.items()},
                        frozenset(i for i, p in plans.items() if name in index_names(p)))

    def measure_set(self, cands: Sequence[tuple[Candidate, str]],
                    queries: Sequence[PlanQuery]) -> dict[int, float]:
        """Costs of ``queries`` with every candidate of ``cands`` built."""
        names = [f"pgkeel_advise_set_{n}" for n in range(len(cands))]
        try:
            for (cand, table_sql), name in zip(cands, names, strict=True):
                self._build(cand, table_sql, name)
            return {i: total_cost(p) for i, p in _plans(self.conn, queries).items()}
        finally:
            for name in names:
                self.conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(
                    sql.Identifier(name)))
