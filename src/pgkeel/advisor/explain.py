"""``explain``: run EXPLAIN safely, parse the plan, and judge it with the plan rules.

Safety, as PgHero's and Dexter's runners do it plus our own additions (PostgreSQL
docs, EXPLAIN, SET TRANSACTION, §20.11.1 statement_timeout / lock_timeout):

- the statement is read with pglast: exactly one plannable statement
  (:func:`pgkeel.advisor.statement.read_statement`);
- it runs inside a transaction that is always rolled back, with
  ``statement_timeout``, ``lock_timeout`` and ``idle_in_transaction_session_timeout``
  set for that transaction only, and ``READ ONLY`` unless it is a write being
  analyzed (so a volatile function that writes makes the run fail);
- ``ANALYZE`` of a statement that writes or locks rows is refused unless
  ``allow_writes``: even rolled back, sequences advance, row locks are held while it
  runs, and side effects outside the database (dblink, FDW, programs) happen.

Parameters ``$n``: values given by the caller; else on PostgreSQL 16+ without ANALYZE
``EXPLAIN (GENERIC_PLAN)``; else values sampled from ``pg_stats``
(:mod:`pgkeel.advisor.params`); else (before 16, costs only) the generic plan of a
prepared statement executed with NULLs under ``plan_cache_mode =
force_generic_plan``, the way Dexter does it (ankane/dexter ``lib/dexter/query.rb``).
"""

from __future__ import annotations

import importlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from psycopg import sql

from pgkeel.advisor.params import sample_params
from pgkeel.advisor.plan import Plan, parse_plan
from pgkeel.advisor.plan_rules.base import (
    ForeignKeyFacts,
    PlanContext,
    PlanFinding,
    PlanRule,
    RelationFacts,
)
from pgkeel.advisor.statement import SqlStatement, read_statement
from pgkeel.errors import Refused, UsageError
from pgkeel.lint import registry
from pgkeel.report.findings import FailOn

if TYPE_CHECKING:
    import psycopg

__all__ = ["ExplainResult", "Mode", "ParamSource", "explain", "plan_rules"]

#: ``analyze``: executed (actual rows and times); ``costs``: planned only;
#: ``generic``: planned without parameter values (a generic plan).
Mode = Literal["analyze", "costs", "generic"]
ParamSource = Literal["none", "given", "sampled", "generic"]

_PREPARED = "pgkeel_explain"
_WRITE_WARNING = ("EXPLAIN ANALYZE executes the statement: the transaction is rolled "
                  "back, but sequences advance, row locks are held while it runs, and "
                  "side effects outside the database (dblink, FDW, programs) happen")


@dataclass(frozen=True, slots=True)
class ExplainResult:
    """The outcome of :func:`explain`.

    ``findings`` are ranked by the time a fix could save, then severity; ``params``
    the parameter values used (text) and ``param_source`` where they came from;
    ``warnings`` what the user should know about the run (e.g. that a write was
    executed and rolled back).
    """

    statement: SqlStatement
    plan: Plan
    findings: tuple[PlanFinding, ...]
    mode: Mode
    params: tuple[str, ...]
    param_source: ParamSource
    server_version_num: int
    warnings: tuple[str, ...] = ()

    def at(self, node_id: int | None) -> tuple[PlanFinding, ...]:
        """The findings attached to node ``node_id`` (None: to the whole statement)."""
        return tuple(f for f in self.findings if f.node_id == node_id)

    def breaches(self, fail_on: FailOn) -> bool:
        """True when a finding is at or above ``fail_on`` (never for None)."""
        return fail_on is not None and any(f.finding.severity >= fail_on
                                           for f in self.findings)


def plan_rules() -> tuple[type[PlanRule], ...]:
    """Every registered plan rule, sorted by id."""
    importlib.import_module("pgkeel.advisor.plan_rules")
    return tuple(r for r in registry.all_rules() if issubclass(r, PlanRule))


def _options(mode: Mode) -> sql.SQL:
    if mode == "analyze":
        return sql.SQL("ANALYZE, BUFFERS, VERBOSE, FORMAT JSON")
    if mode == "generic":
        return sql.SQL("GENERIC_PLAN, VERBOSE, FORMAT JSON")
    return sql.SQL("VERBOSE, FORMAT JSON")


def _run(conn: psycopg.Connection[tuple[object, ...]], statement: SqlStatement, mode: Mode,
         values: Sequence[str | None] | None) -> Any:
    """EXPLAIN the statement in the current transaction; returns EXPLAIN's JSON."""
    body = sql.SQL(statement.text)  # text read by pglast: one statement, no semicolon
    if values is None:
        row = conn.execute(sql.SQL("EXPLAIN ({}) {}").format(_options(mode), body)).fetchone()
        assert row is not None
        return row[0]
    conn.execute(sql.SQL("PREPARE {} AS {}").format(sql.Identifier(_PREPARED), body))
    row = conn.execute(sql.SQL("EXPLAIN ({}) EXECUTE {}({})").format(
        _options(mode), sql.Identifier(_PREPARED),
        sql.SQL(", ").join(sql.Literal(v) for v in values))).fetchone()
    assert row is not None
    return row[0]


def _deallocate(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Drop the prepared statement: PREPARE is not undone by a rollback, and a run that
    failed after it would leave it behind, making the next run's PREPARE fail."""
    with conn.transaction():
        if conn.execute("SELECT FROM pg_catalog.pg_prepared_statements WHERE name = %s",
                        (_PREPARED,)).fetchone() is not None:
            conn.execute(sql.SQL("DEALLOCATE {}").format(sql.Identifier(_PREPARED)))


def _relations(conn: psycopg.Connection[tuple[object, ...]],
               plan: Plan) -> dict[str, RelationFacts]:
    pairs = {(str(n.data["Schema"]), str(n.data["Relation Name"])) for n in plan.nodes()
             if n.data.get("Schema") and n.data.get("Relation Name")}
    if not pairs:
        return {}
    rows = conn.execute(
        "SELECT r.nsp, r.rel, c.reltuples, coalesce(s.n_live_tup, 0),"
        " coalesce(s.n_mod_since_analyze, 0),"
        " (s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL),"
        " ARRAY(SELECT DISTINCT a.attname::text FROM pg_catalog.pg_index i"
        "       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid"
        "        AND a.attnum = ANY (i.indkey[0:i.indnkeyatts - 1])"
        "       WHERE i.indrelid = c.oid AND i.indisvalid),"
        " ARRAY(SELECT DISTINCT a.attname::text FROM pg_catalog.pg_index i"
        "       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid"
        "        AND a.attnum = i.indkey[0]"
        "       WHERE i.indrelid = c.oid AND i.indisvalid)"
        " FROM unnest(%s::text[], %s::text[]) AS r(nsp, rel)"
        " JOIN pg_catalog.pg_namespace n ON n.nspname = r.nsp"
        " JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel"
        " LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid",
        ([p[0] for p in pairs], [p[1] for p in pairs]),
    ).fetchall()
    return {
        f"{nsp}.{rel}": RelationFacts(
            schema=str(nsp), table=str(rel), reltuples=float(str(tuples)), live_rows=int(str(live)),
            modified_since_analyze=int(str(modified)), analyzed=bool(analyzed),
            index_columns=frozenset(str(c) for c in keys),  # type: ignore[attr-defined]
            leading_columns=frozenset(str(c) for c in leading))  # type: ignore[attr-defined]
        for nsp, rel, tuples, live, modified, analyzed, keys, leading in rows
    }


def _foreign_keys(conn: psycopg.Connection[tuple[object, ...]],
                  plan: Plan) -> dict[str, ForeignKeyFacts]:
    names = sorted({t.constraint for t in plan.triggers if t.constraint})
    if not names:
        return {}
    rows = conn.execute(
        "SELECT con.conname, format('%%I.%%I', n.nspname, c.relname),"
        " ARRAY(SELECT quote_ident(a.attname) FROM unnest(con.conkey) WITH ORDINALITY"
        "       AS k(attnum, ord) JOIN pg_catalog.pg_attribute a"
        "       ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord),"
        " EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = con.conrelid"
        "         AND i.indisvalid AND (i.indkey::int2[])[0:cardinality(con.conkey) - 1]"
        "             = con.conkey)"
        " FROM pg_catalog.pg_constraint con"
        " JOIN pg_catalog.pg_class c ON c.oid = con.conrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE con.contype = 'f' AND con.conname = ANY (%s)"
        " AND (con.confrelid = ANY (%s::regclass[]) OR con.conrelid = ANY (%s::regclass[]))",
        (names, *([_regclasses(conn, plan)] * 2)),
    ).fetchall()
    return {str(name): ForeignKeyFacts(str(name), str(table),
                                       tuple(str(c) for c in cols),  # type: ignore[attr-defined]
                                       bool(indexed))
            for name, table, cols, indexed in rows}


def _regclasses(conn: psycopg.Connection[tuple[object, ...]], plan: Plan) -> list[int]:
    # Trigger entries name their table without a schema: resolve through search_path,
    # the way the statement itself resolved it.
    names = sorted({t.relation for t in plan.triggers if t.relation})
    rows = conn.execute("SELECT to_regclass(quote_ident(r))::oid FROM unnest(%s::text[]) r",
                        (names,)).fetchall()
    return [int(str(r[0])) for r in rows if r[0] is not None]


def _explain(conn: psycopg.Connection[tuple[object, ...]], statement: SqlStatement,
             mode: Mode, values: tuple[str | None, ...] | None, source: ParamSource, *,
             writes: bool, timeouts: tuple[int, int],
             ) -> tuple[Plan, dict[str, RelationFacts], dict[str, ForeignKeyFacts]]:
    """One rolled-back transaction: the safety settings, EXPLAIN, and the catalog facts."""
    statement_timeout_ms, lock_timeout_ms = timeouts
    with conn.transaction(force_rollback=True):
        if not writes:
            conn.execute("SET TRANSACTION READ ONLY")
        for name, value in (("statement_timeout", statement_timeout_ms),
                            ("lock_timeout", lock_timeout_ms),
                            ("idle_in_transaction_session_timeout",
                             statement_timeout_ms + lock_timeout_ms)):
            conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", (name, f"{value}ms"))
        if source == "generic" and values is not None:
            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        run_mode: Mode = "costs" if mode == "generic" and values is not None else mode
        plan = parse_plan(_run(conn, statement, run_mode, values))
        return plan, _relations(conn, plan), _foreign_keys(conn, plan)


def explain(
    conn: psycopg.Connection[tuple[object, ...]],
    query: str,
    *,
    analyze: bool = False,
    allow_writes: bool = False,
    params: Sequence[str] | None = None,
    statement_timeout_ms: int = 10_000,
    lock_timeout_ms: int = 1_000,
    rules: Collection[str] | None = None,
) -> ExplainResult:
    """Explain ``query`` on ``conn`` and return the plan with the plan rules' findings.

    ``analyze`` executes it (``EXPLAIN (ANALYZE, BUFFERS)``) in a transaction that is
    rolled back; ``params`` are the values of ``$1`` .. ``$n`` as text (None: sample
    them, or plan generically, see the module docstring); timeouts are in ms and hold
    for this run only; ``rules`` limits the plan rules run to those ids (None: all).
    ``conn`` must not be inside a transaction.

    Raises ``UsageError`` (exit 2) for a statement that is not one plannable
    statement, a wrong number of ``params``, or a value that cannot be sampled;
    ``Refused`` (exit 4) for ``analyze`` of a write without ``allow_writes``; psycopg's
    errors for what the server refuses (a timeout is ``QueryCanceled``).
    """
    statement = read_statement(query)
    warnings: list[str] = []
    if analyze and statement.writes:
        if not allow_writes:
            raise Refused(f"this {statement.kind.upper()} writes or locks rows: "
                          f"{_WRITE_WARNING}",
                          hint="add --allow-writes if that is acceptable (better: run it "
                          "on a scratch copy of the database)")
        warnings.append(_WRITE_WARNING)
    if params is not None and len(params) != statement.params:
        raise UsageError(f"the statement has {statement.params} parameter(s), "
                         f"{len(params)} value(s) given",
                         hint="give one --param per $n, in order")
    version = conn.info.server_version
    mode: Mode = "analyze" if analyze else "costs"
    values: tuple[str | None, ...] | None = None
    source: ParamSource = "none"
    if statement.params and params is not None:
        values, source = tuple(params), "given"
    elif statement.params and not analyze and version >= 160000:
        mode, source = "generic", "generic"
    elif statement.params:
        try:
            values, source = sample_params(conn, statement), "sampled"
        except UsageError:
            if analyze:
                raise
            values, source, mode = (None,) * statement.params, "generic", "generic"
    try:
        plan, relations, keys = _explain(conn, statement, mode, values, source,
                                         writes=analyze and statement.writes,
                                         timeouts=(statement_timeout_ms, lock_timeout_ms))
    finally:
        if values is not None:
            _deallocate(conn)
    ctx = PlanContext(plan=plan, statement=statement, relations=relations, foreign_keys=keys)
    chosen = [r for r in plan_rules() if rules is None or r.id in rules]
    found = [f for rule in chosen for f in rule().check(ctx)]
    found.sort(key=lambda f: (-f.saving_ms, -f.finding.severity.rank, f.finding.rule))
    return ExplainResult(statement=statement, plan=plan, findings=tuple(found), mode=mode,
                         params=tuple(v for v in values or () if v is not None),
                         param_source=source, server_version_num=version,
                         warnings=tuple(warnings))
