"""``advise_indexes``: the index set that serves a workload, with the evidence.

Steps (each in its own module): parse every query (:mod:`.shape`), read the tables it
uses (:mod:`.tableinfo`), propose candidates (:mod:`.candidates`), cost each with
HypoPG when the extension is installed in the database, otherwise (and always for
GIN) with real indexes on a scratch copy (:mod:`.evaluate`, :mod:`.scratch`), drop
candidates an existing index covers (:mod:`.coverage`), choose one set for the whole
workload (:mod:`.select`), then cost the chosen set together.

Write cost: PostgreSQL adds an entry to every index of a table for each row an
INSERT writes, and for each row an UPDATE writes unless the update is HOT, which
needs that no indexed column changes (docs 65.7, "Heap-Only Tuples"). Each such
entry is charged ``random_page_cost``: one leaf page found and dirtied, which the
planner prices as it prices the leaf page of a one-row index lookup (docs 19.7.2).
GIN is charged the same: with ``fastupdate`` (the default) new entries go to a
pending list and are merged in bulk (docs 65.4.4.1, "GIN Fast Update Technique").
DELETE adds no entries (VACUUM removes the dead ones).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from typing import Any

import pglast
import psycopg

from pgkeel.advisor.candidates import Candidate, candidates_for
from pgkeel.advisor.costs import PlanQuery, explain, rows_written, total_cost
from pgkeel.advisor.coverage import covering_index
from pgkeel.advisor.evaluate import (
    Evaluator,
    HypoEvaluator,
    Measured,
    RealEvaluator,
    hypopg_installed,
)
from pgkeel.advisor.naming import index_name
from pgkeel.advisor.scratch import scratch_copy
from pgkeel.advisor.select import Option, choose
from pgkeel.advisor.shape import QueryShape, param_count, query_shape, table_names
from pgkeel.advisor.tableinfo import TableInfo, read_tables
from pgkeel.advisor.workload import WorkloadQuery
from pgkeel.connect import connect
from pgkeel.errors import DatabaseError, UsageError

__all__ = ["IndexAdvice", "QueryEffect", "Suggestion", "advise_indexes"]


@dataclass(frozen=True, slots=True)
class QueryEffect:
    """A query's estimated cost (planner units) before and after the chosen set."""

    label: str
    weight: float
    cost_before: float
    cost_after: float


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One index to build.

    ``create``: ``CREATE INDEX CONCURRENTLY name ON table ...``; ``drop``: its undo;
    ``name``, ``table`` (qualified); ``size_bytes`` (HypoPG's estimate or the built
    index's size); ``queries``: the queries it serves, with their costs alone
    without and with it; ``reduction``: the share of the workload's weighted cost it
    saves alone (0..1); ``write_cost``: weighted upkeep it adds; ``evaluated_by``:
    ``hypopg`` or ``scratch``.
    """

    name: str
    table: str
    create: str
    drop: str
    size_bytes: int
    queries: tuple[QueryEffect, ...]
    reduction: float
    write_cost: float
    evaluated_by: str


@dataclass(frozen=True, slots=True)
class IndexAdvice:
    """What :func:`advise_indexes` found.

    ``suggestions``, largest share of the saving first; ``queries``: every planned query's weighted
    cost before and after the whole set (costed together); ``cost_before`` and
    ``cost_after``: the workload's weighted totals (write cost included after);
    ``skipped``: ``(label, reason)`` of queries that could not be planned;
    ``candidates``: how many were measured; ``covered``: ``(candidate, existing
    index)`` pairs left out because an index already serves them; ``methods``: the
    evaluators used; ``notes``: what could not be evaluated and why (GIN candidates
    when HypoPG did the rest but no scratch copy could be made).
    """

    suggestions: tuple[Suggestion, ...]
    queries: tuple[QueryEffect, ...]
    cost_before: float
    cost_after: float
    skipped: tuple[tuple[str, str], ...]
    candidates: int
    covered: tuple[tuple[str, str], ...]
    methods: tuple[str, ...]
    notes: tuple[str, ...] = ()

    @property
    def reduction(self) -> float:
        """Share of the weighted workload cost the set saves (0..1)."""
        return 1 - self.cost_after / self.cost_before if self.cost_before else 0.0


@dataclass(slots=True)
class _Measured:
    cand: Candidate
    measured: Measured
    method: str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _prepare(conn: psycopg.Connection[Any], workload: Sequence[WorkloadQuery],
             skipped: list[tuple[str, str]]
             ) -> tuple[dict[str, TableInfo], dict[int, QueryShape], list[PlanQuery]]:
    names: set[str] = set()
    for q in workload:
        try:
            names |= table_names(q.sql)
        except pglast.parser.ParseError as exc:
            skipped.append((q.label, f"does not parse: {exc.args[0]}"))
    tables = read_tables(conn, names)
    shapes: dict[int, QueryShape] = {}
    plans: list[PlanQuery] = []
    bad = {label for label, _ in skipped}
    for i, q in enumerate(workload):
        if q.label in bad:
            continue
        if not any(name in tables for name in table_names(q.sql)):
            skipped.append((q.label, "reads no user table"))
            continue
        shapes[i] = query_shape(q.sql, tables)
        plans.append(PlanQuery(i, q.sql, param_count(q.sql)))
    return tables, shapes, plans


def _baseline(conn: psycopg.Connection[Any], plans: list[PlanQuery],
              workload: Sequence[WorkloadQuery], skipped: list[tuple[str, str]]
              ) -> dict[int, dict[str, Any]]:
    out = {}
    for pq in plans:
        try:
            out[pq.index] = explain(conn, pq)
        except psycopg.Error as exc:
            skipped.append((workload[pq.index].label, _first_line(exc)))
    return out


def _write_cost(cand: Candidate, info: TableInfo, shapes: dict[int, QueryShape],
                written: dict[int, float], weights: dict[int, float], page_cost: float
                ) -> float:
    # An UPDATE stays HOT, adding no index entry, unless it changes a column some index
    # reads: one of the candidate's, or one an existing index reads.
    breakers = cand.columns | info.indexed_columns
    total = 0.0
    for q, shape in shapes.items():
        if shape.write_table != cand.table or q not in written:
            continue
        if shape.kind == "insert" or (shape.kind == "update" and breakers & shape.updated):
            total += weights[q] * written[q] * page_cost
    return total


def advise_indexes(url: str, workload: Sequence[WorkloadQuery], *,
                   hypopg: bool | None = None, min_total_gain: float = 0.01,
                   progress: Callable[[str], None] | None = None) -> IndexAdvice:
    """Advise the index set for ``workload`` on the database at ``url``.

    ``hypopg``: None uses HypoPG when the extension is installed in the database,
    False never does (every candidate is built on a scratch copy), True requires it.
    ``min_total_gain``: the least share of the weighted workload cost an index must
    save, after its write cost, to be suggested. ``progress`` receives one line per
    step. Nothing is written to the database at ``url``: HypoPG's indexes are
    private to the session, real ones are built on a copy that is dropped.

    Raises ``UsageError`` when ``hypopg`` is True and the extension is missing, or no
    query could be planned; ``DatabaseError``/``ConnectError`` when connecting fails,
    or the scratch copy does (see :func:`~pgkeel.advisor.scratch.scratch_copy`)
    while it was needed for btree candidates too (with HypoPG, only the GIN
    candidates are then left out, and ``notes`` says so).
    """
    say = progress or (lambda _line: None)
    skipped: list[tuple[str, str]] = []
    weights = {i: q.weight for i, q in enumerate(workload)}
    with connect(url) as conn:
        tables, shapes, plans = _prepare(conn, workload, skipped)
        base_plans = _baseline(conn, plans, workload, skipped)
        plans = [p for p in plans if p.index in base_plans]
        if not plans:
            raise UsageError("no query of the workload could be planned",
                             hint="; ".join(f"{lbl}: {why}" for lbl, why in skipped[:3]))
        installed = hypopg_installed(conn)
        if hypopg and not installed:
            raise UsageError("HypoPG is not installed in this database",
                             hint="install postgresql-NN-hypopg, then CREATE EXTENSION hypopg")
        use_hypo = installed if hypopg is None else hypopg
        trgm = bool(conn.execute("SELECT EXISTS (SELECT FROM pg_extension "
                                 "WHERE extname = 'pg_trgm')").fetchone()[0])  # type: ignore[index]
        page_cost = float(conn.execute("SELECT current_setting('random_page_cost')::float8"
                                       ).fetchone()[0])  # type: ignore[index]
        base = {i: total_cost(p) for i, p in base_plans.items()}
        written = {i: rows_written(p) for i, p in base_plans.items()}
        for i, shape in shapes.items():
            if shape.rows_written is not None and i in written:
                written[i] = float(shape.rows_written)
        cands: dict[Candidate, None] = {}
        for i in base:
            for cand in candidates_for(shapes[i], tables, trgm=trgm):
                cands.setdefault(cand)
        say(f"{len(base)} queries planned, {len(cands)} candidates")
        measured: list[_Measured] = []
        if use_hypo:
            hypo = HypoEvaluator(conn)
            _measure(hypo, [c for c in cands if c.method == "btree"], tables, shapes, plans,
                     measured, say)
    pending = [c for c in cands if not use_hypo or c.method != "btree"]
    notes: list[str] = []
    with ExitStack() as stack:
        real: RealEvaluator | None = None
        if pending:
            say(f"copying the database to build {len(pending)} candidates for real")
            try:
                scratch_url = stack.enter_context(scratch_copy(url))
            except DatabaseError as exc:
                if not use_hypo:
                    raise
                # HypoPG answered for btree; only what it cannot fake is lost.
                notes.append(f"{len(pending)} GIN candidate(s) not evaluated: {exc} — "
                             f"fix: {exc.hint}")
                pending = []
        if pending:
            real = RealEvaluator(stack.enter_context(connect(scratch_url)))
            scratch_base = {i: total_cost(p) for i, p in real.baseline(plans).items()}
            start = len(measured)
            _measure(real, pending, tables, shapes, plans, measured, say)
            for m in measured[start:]:
                # The copy has the source's statistics; scale in case plans differ.
                m.measured.costs.update({q: c * base[q] / scratch_base[q] if scratch_base[q]
                                         else c for q, c in m.measured.costs.items()})
        advice = _decide(measured, base, weights, shapes, written, page_cost, tables,
                         workload, skipped, len(cands), min_total_gain, url, real,
                         ("hypopg",) * use_hypo + ("scratch",) * bool(pending), plans)
    return replace(advice, notes=tuple(notes))


def _measure(ev: Evaluator, cands: Sequence[Candidate],
             tables: dict[str, TableInfo], shapes: dict[int, QueryShape],
             plans: list[PlanQuery], out: list[_Measured], say: Callable[[str], None]) -> None:
    for n, cand in enumerate(cands, 1):
        queries = [p for p in plans if cand.table in shapes[p.index].tables]
        try:
            out.append(_Measured(cand, ev.measure(cand, tables[cand.table].qualified, queries),
                                 ev.method))
        except psycopg.Error as exc:
            # An expression PostgreSQL will not index (a non-immutable function) or
            # an operator class the type lacks: not a candidate.
            say(f"candidate {n}/{len(cands)} refused: {_first_line(exc)}")
        if n % 10 == 0:
            say(f"{ev.method}: {n}/{len(cands)} candidates measured")



def _uncovered(chosen: list[Option], measured: list[_Measured]) -> list[Option]:
    """``chosen`` without any index another chosen one covers (widest first kept)."""
    kept: list[Option] = []
    for opt in sorted(chosen, key=lambda o: -len(measured[o.key].cand.elements)):
        others = [(str(k.key), measured[k.key].measured.definition) for k in kept]
        if covering_index(measured[opt.key].measured.definition, others) is None:
            kept.append(opt)
    return [o for o in chosen if o in kept]


def _decide(measured: list[_Measured], base: dict[int, float], weights: dict[int, float],
            shapes: dict[int, QueryShape], written: dict[int, float], page_cost: float,
            tables: dict[str, TableInfo], workload: Sequence[WorkloadQuery],
            skipped: list[tuple[str, str]], n_cands: int, min_total_gain: float, url: str,
            real: RealEvaluator | None, methods: tuple[str, ...], plans: list[PlanQuery]
            ) -> IndexAdvice:
    covered: list[tuple[str, str]] = []
    options: list[Option] = []
    for key, m in enumerate(measured):
        existing = [(ix.name, ix.definition) for ix in tables[m.cand.table].indexes]
        hit = covering_index(m.measured.definition, existing)
        if hit is not None:
            covered.append((m.cand.sql(tables[m.cand.table].qualified), hit))
            continue
        options.append(Option(key, m.measured.costs, m.measured.used, m.measured.size,
                              _write_cost(m.cand, tables[m.cand.table], shapes, written,
                                          weights, page_cost)))
    chosen = _uncovered(choose(options, base, weights, min_total_gain=min_total_gain),
                        measured)
    picked = [(measured[o.key], o) for o in chosen]
    pairs = [(m.cand, tables[m.cand.table].qualified) for m, _ in picked]
    if not pairs:
        after = dict(base)
    elif real is not None and any(m.method == "scratch" for m, _ in picked):
        after = real.measure_set(pairs, plans)
    else:
        with connect(url) as conn:
            after = HypoEvaluator(conn).measure_set(pairs, plans)
    before_total = sum(weights[q] * c for q, c in base.items())
    taken: set[str] = {ix.name for t in tables.values() for ix in t.indexes}
    suggestions = []
    for m, opt in picked:
        info = tables[m.cand.table]
        name = index_name(info, m.cand, taken)
        taken.add(name)
        served = tuple(
            QueryEffect(workload[q].label, weights[q], base[q], c)
            for q, c in sorted(m.measured.costs.items())
            if q in m.measured.used and c <= base[q] * 0.9)
        saved = sum(e.weight * (e.cost_before - e.cost_after) for e in served)
        quoted = psycopg.sql.Identifier(name).as_string(None)
        suggestions.append(Suggestion(
            name=name, table=info.qualified,
            create=m.cand.sql(info.qualified, quoted, concurrently=True),
            drop=f"DROP INDEX CONCURRENTLY IF EXISTS "
                 f"{psycopg.sql.Identifier(info.schema, name).as_string(None)}",
            size_bytes=m.measured.size, queries=served,
            reduction=saved / before_total if before_total else 0.0,
            write_cost=opt.write_cost, evaluated_by=m.method))
    effects = tuple(QueryEffect(workload[q].label, weights[q], base[q], after.get(q, base[q]))
                    for q in sorted(base))
    after_total = sum(e.weight * e.cost_after for e in effects) + sum(
        o.write_cost for o in chosen)
    suggestions.sort(key=lambda s: -s.reduction)
    return IndexAdvice(tuple(suggestions), effects, before_total, after_total,
                       tuple(skipped), len(measured), tuple(covered), methods)
