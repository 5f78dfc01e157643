"""The checklist item "Queries use indexes (verify with EXPLAIN)", from the workload.

The workload is pg_stat_statements' statements with the most total time
(:data:`WORKLOAD_LIMIT`). Each is EXPLAINed (never run; a generic plan when it has
``$n`` parameters) and the item warns about every plan that reads a table of at least
:data:`LARGE_TABLE_ROWS` estimated rows with a filtered sequential scan: the table
size below which PgHero does not call a table "missing indexes"
(ankane/pghero ``lib/pghero/methods/indexes.rb``, ``n_live_tup >= 10000``), and the
plan anti-pattern "sequential scan discarding rows of a large table". Whether an
index would serve those queries, and which, is for ``pgkeel advise indexes``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

import psycopg

from pgkeel.advisor.costs import PlanQuery, explain
from pgkeel.advisor.shape import param_count, table_names
from pgkeel.advisor.statements import read_statements, statements_status
from pgkeel.advisor.tableinfo import read_tables
from pgkeel.advisor.workload import from_statements

if TYPE_CHECKING:
    from pgkeel.lint.context import CheckConfig

__all__ = ["LARGE_TABLE_ROWS", "WORKLOAD_LIMIT", "checklist_status"]

LARGE_TABLE_ROWS = 10_000
WORKLOAD_LIMIT = 50

Status = Literal["pass", "warn", "fail", "not checked"]


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if plan.get("Node Type") == "Seq Scan" and "Filter" in plan:
        yield plan
    for child in plan.get("Plans", ()):
        yield from _scans(child)


def checklist_status(conn: psycopg.Connection[Any], config: CheckConfig | None = None
                     ) -> tuple[Status, str]:
    """The item's status and detail for the database ``conn`` is connected to.

    ``not checked`` when pg_stat_statements cannot be read (saying how to enable it)
    or holds no query on a user table yet; ``pass`` when no plan filters a large table
    sequentially; ``warn`` naming up to three such queries otherwise. ``config`` is
    accepted for the checklist's common signature; no setting applies yet. Raises
    nothing for PostgreSQL's refusals: a workload that cannot be read makes the item
    ``not checked`` with PostgreSQL's reason, a query that cannot be planned is
    passed over.
    """
    del config
    status = statements_status(conn)
    if not status.usable:
        return "not checked", ("the workload comes from pg_stat_statements, which is not "
                               f"usable here: {'; then '.join(status.steps)}; or run "
                               "`pgkeel advise indexes --workload FILE.sql`")
    try:
        workload = from_statements(read_statements(conn, order="total",
                                                   limit=WORKLOAD_LIMIT))
        names = {q.label: table_names(q.sql) for q in workload}
        tables = read_tables(conn, set().union(*names.values()) if names else set())
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return "not checked", f"the workload could not be read: {first}"
    large = {(t.schema, t.name) for t in tables.values() if t.rows >= LARGE_TABLE_ROWS}
    planned, slow = 0, []
    for i, q in enumerate(workload):
        if not any(n in tables for n in names[q.label]):
            continue
        try:
            plan = explain(conn, PlanQuery(i, q.sql, param_count(q.sql)), verbose=True)
        except psycopg.Error:
            continue
        planned += 1
        hits = sorted({s["Relation Name"] for s in _scans(plan)
                       if (s.get("Schema"), s.get("Relation Name")) in large})
        if hits:
            slow.append(f"{q.label} ({' '.join(q.sql.split())[:60]}) scans "
                        f"{', '.join(hits)}")
    if not planned:
        return "not checked", ("pg_stat_statements holds no query on a user table yet: run "
                               "the application's workload first")
    if not slow:
        return "pass", (f"checked: the plans of the {planned} statements with the most "
                        f"time read no table of {LARGE_TABLE_ROWS:,}+ rows with a filtered "
                        "sequential scan")
    shown = "; ".join(slow[:3]) + ("; …" if len(slow) > 3 else "")
    return "warn", (f"{len(slow)} of {planned} statements filter a table of "
                    f"{LARGE_TABLE_ROWS:,}+ rows with a sequential scan: {shown}; "
                    "run `pgkeel advise indexes` for the index set")
