"""N+1 lookups and OFFSET pagination, found in the pg_stat_statements workload.

pg_stat_statements keeps no order of execution, so an N+1 pattern shows only by its
shape (the heuristic of layer 3 in Sentry's and nplusone's terms, see
getsentry/sentry ``n_plus_one_db_span_detector.py`` for the ordered variant, which
:mod:`pgkeel.advisor.querylog` applies to a server log):

- a SELECT of one table whose WHERE compares a foreign-key column with a parameter
  (``WHERE order_id = $1``), the lookup of children one parent at a time;
- called at least :data:`MIN_CALLS` times, returning at most :data:`MAX_ROWS_PER_CALL`
  rows per call.

The fix fetches every key in one statement: ``WHERE order_id = ANY($1)`` with an
array, or a join to the query that produced the keys. When another statement reads
the referenced table at most a fifth as often, it is named as the likely source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType
from pglast.parser import ParseError, parse_sql
from pglast.stream import RawStream

from pgkeel.advisor.keyset import keyset_rewrite
from pgkeel.advisor.statement import param_number, walk
from pgkeel.report.findings import Finding, Severity

if TYPE_CHECKING:
    import psycopg

    from pgkeel.advisor.statements import Statement

__all__ = ["KeyLookup", "any_rewrite", "key_lookup", "n_plus_one", "offset_pagination"]

#: Calls from which a per-key lookup is an N+1 suspect (proposed: "very many times").
MIN_CALLS = 100
#: "Few rows per call" (proposed; nplusone and Bullet flag single-row loads, a parent's
#: children are a few rows).
MAX_ROWS_PER_CALL = 10.0
#: A source statement runs at most a fifth as often as the lookup (proposed: k >= 5
#: lookups per source row).
SOURCE_RATIO = 5
_DOCS = "https://www.postgresql.org/docs/current/functions-comparisons.html"


@dataclass(frozen=True, slots=True)
class KeyLookup:
    """A SELECT of one table by ``column = $number``: ``schema`` (None: search_path),
    ``table`` and ``column`` as the parser read them."""

    schema: str | None
    table: str
    column: str
    number: int


def _parse(query: str) -> ast.Node | None:
    try:
        raw = parse_sql(query)
    except ParseError:
        return None
    return raw[0].stmt if len(raw) == 1 else None


def _equality(node: ast.Node | None) -> tuple[ast.A_Expr, ast.ColumnRef, ast.ParamRef] | None:
    if not isinstance(node, ast.A_Expr) or node.kind != A_Expr_Kind.AEXPR_OP:
        return None
    op = node.name[-1] if node.name else None
    if not isinstance(op, ast.String) or op.sval != "=":
        return None
    for col, param in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
        if isinstance(col, ast.ColumnRef) and isinstance(param, ast.ParamRef):
            return node, col, param
    return None


def _lookup_parts(stmt: ast.Node | None) -> tuple[ast.RangeVar, ast.A_Expr, str, int] | None:
    if not isinstance(stmt, ast.SelectStmt) or not stmt.fromClause or \
            len(stmt.fromClause) != 1 or not isinstance(stmt.fromClause[0], ast.RangeVar):
        return None
    where = stmt.whereClause
    parts = list(where.args or ()) if isinstance(where, ast.BoolExpr) and \
        where.boolop == BoolExprType.AND_EXPR else [where]
    for part in parts:
        found = _equality(part if isinstance(part, ast.Node) else None)
        if found is not None:
            expr, col, param = found
            last = col.fields[-1] if col.fields else None
            if isinstance(last, ast.String) and last.sval:
                return stmt.fromClause[0], expr, last.sval, param_number(param)
    return None


def key_lookup(query: str) -> KeyLookup | None:
    """The ``column = $n`` lookup of a one-table SELECT, or None for any other shape."""
    parts = _lookup_parts(_parse(query))
    if parts is None:
        return None
    table, _, column, number = parts
    return KeyLookup(table.schemaname or None, str(table.relname), column, number)


def any_rewrite(query: str) -> str | None:
    """``query`` with its ``column = $n`` lookup turned into ``column = ANY($n)``, so
    ``$n`` takes an array of every key at once (PostgreSQL docs §9.25.3 "ANY/SOME
    (array)"); None when the query is not such a lookup."""
    stmt = _parse(query)
    parts = _lookup_parts(stmt)
    if stmt is None or parts is None:
        return None
    _, expr, _, _ = parts
    if isinstance(expr.lexpr, ast.ParamRef) and isinstance(expr.rexpr, ast.ColumnRef):
        expr.lexpr, expr.rexpr = expr.rexpr, expr.lexpr
    expr.kind = A_Expr_Kind.AEXPR_OP_ANY
    return str(RawStream()(stmt))


def _foreign_keys(conn: psycopg.Connection[tuple[object, ...]],
                  lookups: Sequence[KeyLookup]) -> dict[int, str | None]:
    """index in ``lookups`` -> the referenced table (``schema.table``) when the column
    is the single column of a foreign key."""
    if not lookups:
        return {}
    rows = conn.execute(
        "SELECT l.i, format('%%I.%%I', rn.nspname, r.relname)"
        " FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[]) AS l(i, nsp, rel, col)"
        " JOIN pg_catalog.pg_constraint con ON con.contype = 'f'"
        "  AND con.conrelid = to_regclass(CASE WHEN l.nsp IS NULL THEN quote_ident(l.rel)"
        "      ELSE quote_ident(l.nsp) || '.' || quote_ident(l.rel) END)"
        "  AND cardinality(con.conkey) = 1"
        " JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid"
        "  AND a.attnum = con.conkey[1] AND a.attname = l.col"
        " JOIN pg_catalog.pg_class r ON r.oid = con.confrelid"
        " JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace",
        (list(range(len(lookups))), [k.schema for k in lookups], [k.table for k in lookups],
         [k.column for k in lookups]),
    ).fetchall()
    return {int(str(i)): str(ref) for i, ref in rows}


def _reads(query: str, table: str) -> bool:
    """Whether the SELECT ``query`` reads ``table`` (``schema.name``, quoted as
    ``format('%I.%I')`` writes it; matched on the name)."""
    stmt = _parse(query)
    name = table.rsplit(".", 1)[-1].strip('"')
    return isinstance(stmt, ast.SelectStmt) and any(
        isinstance(n, ast.RangeVar) and n.relname == name for n in walk(stmt))


def _short(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 100 else text[:97] + "..."


def n_plus_one(conn: psycopg.Connection[tuple[object, ...]],
               statements: Sequence[Statement]) -> tuple[Finding, ...]:
    """``n-plus-one`` findings for the per-key lookups of ``statements`` (from
    :func:`pgkeel.advisor.statements.read_statements`), judged with ``conn``'s catalog.

    Each finding's ``object`` is ``table.column`` and its ``fix`` the ``= ANY($n)``
    form of the statement.
    """
    suspects: list[tuple[Statement, KeyLookup]] = []
    for stmt in statements:
        if stmt.calls < MIN_CALLS or stmt.rows_per_call > MAX_ROWS_PER_CALL:
            continue
        lookup = key_lookup(stmt.query)
        if lookup is not None:
            suspects.append((stmt, lookup))
    referenced = _foreign_keys(conn, [lookup for _, lookup in suspects])
    found = []
    for i, (stmt, lookup) in enumerate(suspects):
        parent = referenced.get(i)
        if parent is None:
            continue
        where = ".".join(p for p in (lookup.schema, lookup.table, lookup.column) if p)
        source = max((s for s in statements if s.calls * SOURCE_RATIO <= stmt.calls
                      and _reads(s.query, parent)), key=lambda s: s.calls, default=None)
        message = (f"{_short(stmt.query)} ran {stmt.calls:,} times, {stmt.rows_per_call:.1f} "
                   f"rows per call: {where} (a foreign key to {parent}) is looked up one key "
                   "at a time, an N+1 pattern; fetch every key at once with "
                   f"= ANY(${lookup.number}) and an array, or join it to the query that "
                   "produced the keys")
        if source is not None:
            message += f" (likely after: {_short(source.query)}, {source.calls:,} calls)"
        found.append(Finding(rule="n-plus-one", severity=Severity.WARNING, message=message,
                             object=where, fix=any_rewrite(stmt.query), docs=_DOCS))
    return tuple(found)


def offset_pagination(statements: Sequence[Statement]) -> tuple[Finding, ...]:
    """``offset-pagination`` findings for statements that page with OFFSET.

    pg_stat_statements replaces the OFFSET's value with a parameter, so how large it
    gets is unknown: these are ``info``, with the keyset form as the fix when the
    ORDER BY allows one (:func:`pgkeel.advisor.keyset.keyset_rewrite`).
    """
    found = []
    for stmt in statements:
        parsed = _parse(stmt.query)
        if not isinstance(parsed, ast.SelectStmt) or parsed.limitOffset is None:
            continue
        params = max((param_number(n) for n in walk(parsed) if isinstance(n, ast.ParamRef)),
                     default=0)
        rewrite = keyset_rewrite(stmt.query, params)
        found.append(Finding(
            rule="offset-pagination", severity=Severity.INFO,
            message=(f"{_short(stmt.query)} pages with OFFSET ({stmt.calls:,} calls, "
                     f"{stmt.mean_ms:,.2f} ms mean): every page recomputes the rows before "
                     "it; use keyset pagination"
                     + (f", passing the last row's {', '.join(rewrite.keys)}" if rewrite else "")),
            fix=rewrite.sql if rewrite else None,
            docs="https://www.postgresql.org/docs/current/queries-limit.html"))
    return tuple(found)
