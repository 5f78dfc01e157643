"""EXPLAIN a workload query for its estimated cost (never executed).

Queries with ``$n`` parameters get a generic plan: ``EXPLAIN (GENERIC_PLAN)`` on
PostgreSQL 16+ (docs, EXPLAIN), before that the method Dexter uses
(ankane/dexter ``lib/dexter/indexer.rb``): ``PREPARE``, then ``EXPLAIN EXECUTE`` with
NULLs under ``plan_cache_mode = force_generic_plan`` in a rolled-back transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

__all__ = ["PlanQuery", "explain", "index_names", "rows_written", "total_cost"]


@dataclass(frozen=True, slots=True)
class PlanQuery:
    """A query to EXPLAIN: its position in the workload, ``text`` and ``params``
    (the highest ``$n`` it uses)."""

    index: int
    text: str
    params: int = 0


class _Rollback(Exception):
    """Leaves the transaction of a PREPARE-based generic plan."""


def explain(conn: psycopg.Connection[Any], query: PlanQuery, *,
            verbose: bool = False) -> dict[str, Any]:
    """The top plan node of ``EXPLAIN (FORMAT JSON)`` for ``query`` (a dict);
    ``verbose`` adds each scan's ``Schema`` and output columns.

    ``conn`` must be in autocommit mode. Raises ``psycopg.Error`` when PostgreSQL
    cannot plan the query (a missing column, a syntax error).
    """
    body = sql.SQL(query.text)  # the workload's own text, as the user's server ran it
    options = sql.SQL("VERBOSE, FORMAT JSON" if verbose else "FORMAT JSON")
    if not query.params:
        row = conn.execute(sql.SQL("EXPLAIN ({}) {}").format(options, body)).fetchone()
    elif conn.info.server_version >= 160000:
        row = conn.execute(sql.SQL("EXPLAIN (GENERIC_PLAN, {}) {}").format(options, body)
                           ).fetchone()
    else:
        nulls = sql.SQL(", ").join([sql.SQL("NULL")] * query.params)
        # PREPARE is not undone by ROLLBACK: deallocate whatever happens, so the next
        # query can take the name.
        conn.execute(sql.SQL("PREPARE pgkeel_advise AS {}").format(body))
        try:
            with conn.transaction():
                conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                row = conn.execute(sql.SQL("EXPLAIN ({}) EXECUTE pgkeel_advise({})")
                                   .format(options, nulls)).fetchone()
                raise _Rollback
        except _Rollback:
            pass
        finally:
            conn.execute("DEALLOCATE pgkeel_advise")
    assert row is not None
    document = row[0]
    return dict(document[0]["Plan"])


def total_cost(plan: dict[str, Any]) -> float:
    """The planner's total cost of the whole plan (arbitrary units, docs 19.7.2)."""
    return float(plan["Total Cost"])


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def index_names(plan: dict[str, Any]) -> set[str]:
    """Names of the indexes the plan scans (``Index Name`` of every node)."""
    return {str(n["Index Name"]) for n in _nodes(plan) if "Index Name" in n}


def rows_written(plan: dict[str, Any]) -> float:
    """Rows a data-modifying plan writes (its ModifyTable input's estimate), else 0."""
    if plan.get("Node Type") != "ModifyTable" or not plan.get("Plans"):
        return 0.0
    return float(plan["Plans"][0]["Plan Rows"])
