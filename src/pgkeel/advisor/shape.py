"""Read a query's parse tree (pglast): the tables it reads and what it asks of each.

For every SELECT, UPDATE and DELETE scope in the statement (subqueries and CTEs
included) :func:`query_shape` resolves the FROM list's aliases to tables, splits the
WHERE clause and the JOIN conditions into AND-ed conjuncts, and classifies each one
that compares one table's column (or an expression over one table's columns) with a
value: equality, range, LIKE prefix, infix/ILIKE text search, jsonb or array
containment, a join to another table, or a constant predicate (``status =
'pending'``, ``deleted_at IS NULL``, ``NOT archived``) a partial index can hold. ORDER
BY with or without LIMIT is kept per scope. Writes record their table, the columns an
UPDATE sets and the rows an INSERT ... VALUES adds.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, enums
from pglast.stream import RawStream
from psycopg.sql import Identifier

from pgkeel.advisor.tableinfo import TableInfo

__all__ = ["Pred", "QueryShape", "Scope", "param_count", "query_shape", "table_names"]

_RANGE_OPS = {"<", "<=", ">", ">="}


@dataclass(frozen=True, slots=True)
class Pred:
    """One usable conjunct on one table.

    ``kind``: ``eq``, ``range``, ``prefix`` (LIKE 'abc%'), ``trgm`` (LIKE '%abc%',
    ILIKE), ``jsonb_path`` (jsonb ``@>``), ``jsonb`` (jsonb ``?``/``?|``/``?&``),
    ``array`` (array ``@>``/``&&``), ``join`` (equality with another table's column) or
    ``null`` (``IS [NOT] NULL`` or a boolean column tested alone).
    ``element`` is the indexable SQL (a quoted column or a parenthesised expression),
    ``column`` the plain column when the element is one, else None. ``constant`` is
    the conjunct's text when it compares with literals only (a partial index
    predicate), else None; ``value`` the literal of an equality with one literal.
    """

    table: str
    kind: str
    element: str
    column: str | None
    columns: frozenset[str]
    constant: str | None = None
    value: str | None = None


@dataclass(slots=True)
class Scope:
    """One SELECT/UPDATE/DELETE level: its ``preds``, ``order`` (``(table, (element
    with direction, ...))`` when every ORDER BY key is on one table) and ``limit``
    (True when a LIMIT applies)."""

    preds: list[Pred] = field(default_factory=list)
    order: tuple[str, tuple[str, ...]] | None = None
    limit: bool = False


@dataclass(frozen=True, slots=True)
class QueryShape:
    """What one statement reads and writes.

    ``tables``: table keys (quoted, as given to :func:`read_tables`) it reads or
    writes; ``scopes``; ``write_table`` and ``kind`` (``select``, ``insert``,
    ``update``, ``delete``); ``updated`` (columns an UPDATE sets); ``rows_written``
    (rows of an INSERT ... VALUES; None when the planner must say).
    """

    kind: str
    tables: frozenset[str]
    scopes: tuple[Scope, ...]
    write_table: str | None = None
    updated: frozenset[str] = frozenset()
    rows_written: int | None = None


def _key(rv: ast.RangeVar) -> str:
    ident = Identifier(rv.relname).as_string(None)
    return f"{Identifier(rv.schemaname).as_string(None)}.{ident}" if rv.schemaname else ident


def _walk(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.Node):
        yield node
        for name in node.__slots__:
            yield from _walk(getattr(node, name))
    elif isinstance(node, tuple | list):
        for item in node:
            yield from _walk(item)


def _stmt(text: str) -> ast.Node:
    return pglast.parse_sql(text)[0].stmt


def table_names(text: str) -> set[str]:
    """The keys of every table-like name the statement mentions (CTE names included;
    :func:`read_tables` leaves out what is not a table)."""
    return {_key(n) for n in _walk(_stmt(text)) if isinstance(n, ast.RangeVar)}


def param_count(text: str) -> int:
    """The highest ``$n`` the statement uses (0 when it has none)."""
    return max((n.number for n in _walk(_stmt(text)) if isinstance(n, ast.ParamRef)),
               default=0)


class _Resolver:
    """Maps column references of one scope to (table key, column)."""

    def __init__(self, aliases: dict[str, str], tables: dict[str, TableInfo]) -> None:
        self.aliases = aliases
        self.tables = tables

    def column(self, ref: ast.ColumnRef) -> tuple[str, str] | None:
        names = [f.sval for f in ref.fields if isinstance(f, ast.String)]
        if len(names) != len(ref.fields) or not names:
            return None  # table.* or a row reference
        col = names[-1]
        if len(names) >= 2:
            key = self.aliases.get(names[-2])
            if key is None or col not in self.tables[key].columns:
                return None
            return key, col
        owners = [k for k in set(self.aliases.values()) if col in self.tables[k].columns]
        return (owners[0], col) if len(owners) == 1 else None

    def element(self, node: Any) -> tuple[str, str, str | None, frozenset[str]] | None:
        """(table, element SQL, plain column or None, columns) for a column or an
        expression over one table's columns; None otherwise."""
        if isinstance(node, ast.ColumnRef):
            hit = self.column(node)
            if hit is None:
                return None
            return hit[0], Identifier(hit[1]).as_string(None), hit[1], frozenset({hit[1]})
        if not isinstance(node, ast.FuncCall | ast.TypeCast | ast.A_Expr | ast.CoalesceExpr):
            return None
        refs = [n for n in _walk(node) if isinstance(n, ast.ColumnRef)]
        if not refs or any(isinstance(n, ast.SubLink) for n in _walk(node)):
            return None
        if isinstance(node, ast.FuncCall) and (node.agg_star or node.over is not None):
            return None
        hits = [self.column(r) for r in refs]
        if any(h is None for h in hits) or len({h[0] for h in hits if h}) != 1:
            return None
        copied = copy.deepcopy(node)
        for ref in (n for n in _walk(copied) if isinstance(n, ast.ColumnRef)):
            ref.fields = (ast.String(sval=ref.fields[-1].sval),)
        cols = frozenset(h[1] for h in hits if h)
        return hits[0][0], f"({RawStream()(copied)})", None, cols  # type: ignore[index]

    def is_value(self, node: Any) -> bool:
        """True when ``node`` refers to no column of this scope (literal, $n, now(),
        or an outer query's column)."""
        return not any(isinstance(n, ast.ColumnRef) and self.column(n) is not None
                       for n in _walk(node)) and not any(
            isinstance(n, ast.SubLink) for n in _walk(node))


def _literal(node: Any) -> bool:
    if isinstance(node, ast.TypeCast):
        return _literal(node.arg)
    if isinstance(node, tuple | list):
        return all(_literal(n) for n in node)
    return isinstance(node, ast.A_Const) and not node.isnull


def _value(node: Any) -> str | None:
    """The text of one literal (``'pending'``, ``42``, ``'x'::text``), else None."""
    if isinstance(node, ast.TypeCast):
        return _value(node.arg)
    if not isinstance(node, ast.A_Const) or node.isnull:
        return None
    val = node.val
    for attr in ("sval", "ival", "fval", "boolval"):
        if hasattr(val, attr):
            got = getattr(val, attr)
            return ("true" if got else "false") if attr == "boolval" else str(got)
    return None


def _text(node: Any) -> str:
    copied = copy.deepcopy(node)
    for ref in (n for n in _walk(copied) if isinstance(n, ast.ColumnRef)):
        ref.fields = (ast.String(sval=ref.fields[-1].sval),)
    return str(RawStream()(copied))


def _conjuncts(node: Any) -> Iterator[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.AND_EXPR:
        for arg in node.args:
            yield from _conjuncts(arg)
    elif node is not None:
        yield node


def _from(items: Any, aliases: dict[str, str], quals: list[Any],
          tables: dict[str, TableInfo]) -> None:
    for item in items or ():
        if isinstance(item, ast.RangeVar):
            key = _key(item)
            if key in tables:
                aliases[item.alias.aliasname if item.alias else item.relname] = key
        elif isinstance(item, ast.JoinExpr):
            _from((item.larg, item.rarg), aliases, quals, tables)
            if item.quals is not None:
                quals.append(item.quals)


def _like_prefix(pattern: str) -> str:
    prefix = []
    for ch in pattern:
        if ch in "%_\\":
            break
        prefix.append(ch)
    return "".join(prefix)


def _classify(node: Any, res: _Resolver) -> list[Pred]:
    """The predicates one conjunct yields (none when it compares nothing indexable)."""
    if isinstance(node, ast.NullTest):
        el = res.element(node.arg)
        return [Pred(el[0], "null", el[1], el[2], el[3], _text(node))] if el else []
    if isinstance(node, ast.ColumnRef) or (
            isinstance(node, ast.BoolExpr) and node.boolop == enums.BoolExprType.NOT_EXPR
            and isinstance(node.args[0], ast.ColumnRef)):
        ref = node if isinstance(node, ast.ColumnRef) else node.args[0]
        el = res.element(ref)
        if el and res.tables[el[0]].columns[el[2] or ""].type_name == "bool":
            return [Pred(el[0], "null", el[1], el[2], el[3], _text(node))]
        return []
    if not isinstance(node, ast.A_Expr) or node.lexpr is None:
        return []
    op = node.name[-1].sval if node.name else ""
    kind = node.kind
    left, right = node.lexpr, node.rexpr
    if kind == enums.A_Expr_Kind.AEXPR_OP and res.element(right) and not res.element(left):
        left, right = right, left  # 'x' = col
    el = res.element(left)
    if el is None:
        return []
    table, element, column, cols = el
    other = res.element(right) if kind == enums.A_Expr_Kind.AEXPR_OP else None
    if other is not None and op == "=" and other[0] != table:
        return [Pred(table, "join", element, column, cols),
                Pred(other[0], "join", other[1], other[2], other[3])]
    if not res.is_value(right):
        return []
    constant = _text(node) if _literal(right) else None
    info = res.tables[table]
    col = info.columns.get(column) if column else None
    if kind in (enums.A_Expr_Kind.AEXPR_IN, enums.A_Expr_Kind.AEXPR_OP_ANY) and op == "=":
        return [Pred(table, "eq", element, column, cols, constant)]
    if kind == enums.A_Expr_Kind.AEXPR_OP and op == "=":
        return [Pred(table, "eq", element, column, cols, constant, _value(right))]
    if kind == enums.A_Expr_Kind.AEXPR_OP and op in _RANGE_OPS:
        return [Pred(table, "range", element, column, cols)]
    if kind in (enums.A_Expr_Kind.AEXPR_BETWEEN, enums.A_Expr_Kind.AEXPR_BETWEEN_SYM):
        return [Pred(table, "range", element, column, cols)]
    if kind in (enums.A_Expr_Kind.AEXPR_LIKE, enums.A_Expr_Kind.AEXPR_ILIKE) and op in (
            "~~", "~~*"):
        pattern = right.val.sval if isinstance(right, ast.A_Const) and isinstance(
            right.val, ast.String) else None
        preds = [Pred(table, "trgm", element, column, cols)]
        if op == "~~" and pattern is not None and _like_prefix(pattern):
            preds.insert(0, Pred(table, "prefix", element, column, cols))
        return preds
    if kind == enums.A_Expr_Kind.AEXPR_OP and op == "%":
        return [Pred(table, "trgm", element, column, cols)]
    type_name = col.type_name if col else ""
    if kind == enums.A_Expr_Kind.AEXPR_OP and type_name == "jsonb":
        if op == "@>":
            return [Pred(table, "jsonb_path", element, column, cols)]
        if op in ("?", "?|", "?&"):
            return [Pred(table, "jsonb", element, column, cols)]
    if kind == enums.A_Expr_Kind.AEXPR_OP and type_name.startswith("_") and op in ("@>", "&&"):
        return [Pred(table, "array", element, column, cols)]
    return []


def _scope(node: Any, tables: dict[str, TableInfo]) -> Scope | None:
    aliases: dict[str, str] = {}
    quals: list[Any] = []
    scope = Scope()
    if isinstance(node, ast.SelectStmt):
        _from(node.fromClause, aliases, quals, tables)
        quals.append(node.whereClause)
    elif isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
        _from((node.relation,), aliases, quals, tables)
        _from(node.fromClause if isinstance(node, ast.UpdateStmt) else node.usingClause,
              aliases, quals, tables)
        quals.append(node.whereClause)
    if not aliases:
        return None
    res = _Resolver(aliases, tables)
    for qual in quals:
        for conj in _conjuncts(qual):
            scope.preds.extend(_classify(conj, res))
    if isinstance(node, ast.SelectStmt) and node.sortClause:
        elems = []
        for sort in node.sortClause:
            el = res.element(sort.node)
            if el is None:
                elems = []
                break
            direction = {enums.SortByDir.SORTBY_DESC: " DESC"}.get(sort.sortby_dir, "")
            nulls = {enums.SortByNulls.SORTBY_NULLS_FIRST: " NULLS FIRST",
                     enums.SortByNulls.SORTBY_NULLS_LAST: " NULLS LAST"}.get(
                         sort.sortby_nulls, "")
            elems.append((el[0], el[1] + direction + nulls))
        if elems and len({t for t, _ in elems}) == 1:
            scope.order = (elems[0][0], tuple(e for _, e in elems))
        scope.limit = node.limitCount is not None
    return scope


def query_shape(text: str, tables: dict[str, TableInfo]) -> QueryShape:
    """The :class:`QueryShape` of ``text`` (one statement) over ``tables`` (from
    :func:`~pgkeel.advisor.tableinfo.read_tables`, keyed as :func:`table_names` keys
    them). Raises ``pglast.parser.ParseError`` for text that does not parse."""
    stmt = _stmt(text)
    scopes = tuple(s for n in _walk(stmt)
                   if isinstance(n, ast.SelectStmt | ast.UpdateStmt | ast.DeleteStmt)
                   and (s := _scope(n, tables)) is not None)
    used = frozenset(k for k in table_names(text) if k in tables)
    if isinstance(stmt, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        target = _key(stmt.relation)
        kind = type(stmt).__name__.removesuffix("Stmt").lower()
        updated = frozenset(t.name for t in stmt.targetList or () if isinstance(t, ast.ResTarget)
                            and t.name) if isinstance(stmt, ast.UpdateStmt) else frozenset()
        rows = None
        if isinstance(stmt, ast.InsertStmt) and isinstance(stmt.selectStmt, ast.SelectStmt) \
                and stmt.selectStmt.valuesLists:
            rows = len(stmt.selectStmt.valuesLists)
        return QueryShape(kind, used, scopes, target if target in tables else None,
                          updated, rows)
    return QueryShape("select", used, scopes)
