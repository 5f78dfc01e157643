"""Reading row-level security policy expressions with pglast (the PostgreSQL parser).

A policy's ``USING``/``WITH CHECK`` text is ``pg_get_expr`` output: valid SQL that
pglast parses as ``SELECT <expression>``. The rules read the parse tree, never the
text: a call is "wrapped" only when it sits inside a scalar sub-select
(``SubLink``), which PostgreSQL plans as an initPlan run once per statement
(PostgreSQL docs, "Subquery Expressions"; Supabase docs, "Row Level Security",
RLS performance recommendations: "Call functions with select").

Column references resolve the way the parser scopes them: an unqualified column at
the top level is the policy table's; inside a sub-select, the innermost ``FROM``
relation's (``pg_get_expr`` qualifies every column once a sub-select brings a second
relation into scope).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, SubLinkType
from pglast.stream import RawStream

__all__ = ["Filter", "calls", "filters", "parse", "reads_user_metadata", "wrap_calls"]

# The comparisons an index can serve.
_COMPARE = frozenset({"=", "<", "<=", ">", ">="})
_SUPABASE_META = ("user_metadata", "raw_user_meta_data")


def parse(expression: str | None) -> ast.Node | None:
    """The parse tree of a policy expression, or None (absent, or pglast cannot read it)."""
    if not expression:
        return None
    try:
        stmt = pglast.parse_sql(f"SELECT {expression}")[0].stmt
    except pglast.parser.ParseError:
        return None
    return stmt.targetList[0].val  # type: ignore[no-any-return,union-attr]


def _children(node: Any) -> Iterator[Any]:
    for name in node.__slots__:
        value = getattr(node, name)
        if isinstance(value, ast.Node):
            yield value
        elif isinstance(value, tuple | list):
            yield from (v for v in value if isinstance(v, ast.Node))


def _walk(node: Any, wrapped: bool = False) -> Iterator[tuple[Any, bool]]:
    """Every node under ``node`` with whether a scalar sub-select encloses it."""
    yield node, wrapped
    inner = wrapped or (isinstance(node, ast.SubLink)
                        and node.subLinkType == SubLinkType.EXPR_SUBLINK)
    for child in _children(node):
        yield from _walk(child, inner)


def func_name(node: ast.FuncCall) -> str:
    """``schema.name`` or ``name`` of a call, lower case, ``pg_catalog.`` dropped."""
    parts = [(p.sval or "").lower() for p in node.funcname or () if isinstance(p, ast.String)]
    if parts[:1] == ["pg_catalog"]:
        parts = parts[1:]
    return ".".join(parts)


def _row_free(node: ast.FuncCall) -> bool:
    # A call whose arguments name a column changes per row: wrapping it is wrong.
    return not any(isinstance(n, ast.ColumnRef) for arg in node.args or ()
                   for n, _ in _walk(arg))


def calls(node: ast.Node | None, functions: frozenset[str]) -> list[str]:
    """Names of the calls to ``functions`` evaluated per row (not in a scalar sub-select).

    Only calls whose arguments name no column count: those are constant for a
    statement, so the planner can run them once.
    """
    if node is None:
        return []
    return [func_name(n) for n, wrapped in _walk(node)
            if isinstance(n, ast.FuncCall) and not wrapped
            and func_name(n) in functions and _row_free(n)]


def _wrap(node: Any, functions: frozenset[str]) -> Any:
    if isinstance(node, ast.FuncCall) and func_name(node) in functions and _row_free(node):
        return ast.SubLink(subLinkType=SubLinkType.EXPR_SUBLINK,
                           subselect=ast.SelectStmt(targetList=(ast.ResTarget(val=node),)))
    if isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.EXPR_SUBLINK:
        return node
    for name in node.__slots__:
        value = getattr(node, name)
        if isinstance(value, ast.Node):
            setattr(node, name, _wrap(value, functions))
        elif isinstance(value, tuple | list):
            setattr(node, name, tuple(_wrap(v, functions) if isinstance(v, ast.Node) else v
                                      for v in value))
    return node


def wrap_calls(expression: str, functions: frozenset[str]) -> str:
    """``expression`` with each per-row call to ``functions`` put in ``(SELECT ...)``."""
    node = parse(expression)
    if node is None:
        raise ValueError(f"cannot parse policy expression {expression!r}")
    return str(RawStream()(_wrap(node, functions)))


def reads_user_metadata(node: ast.Node | None) -> bool:
    """True when the expression reads data the end user can edit.

    Supabase's ``user_metadata`` claim (``auth.jwt() -> 'user_metadata'``, or the
    same path through ``request.jwt.claims``) and ``auth.users.raw_user_meta_data``
    (Supabase docs, "Row Level Security", Advanced policies; splinter 0015).
    """
    if node is None:
        return False
    for n, _ in _walk(node):
        if isinstance(n, ast.ColumnRef) and n.fields and isinstance(n.fields[-1], ast.String) \
                and n.fields[-1].sval == "raw_user_meta_data":
            return True
        if isinstance(n, ast.A_Expr) and n.kind == A_Expr_Kind.AEXPR_OP and n.rexpr is not None:
            op = n.name[-1].sval if n.name else ""
            if op in ("->", "->>", "#>", "#>>", "?") and _mentions(n.rexpr, _SUPABASE_META):
                return True
    return False


def _mentions(node: Any, words: tuple[str, ...]) -> bool:
    # A string constant naming the key, or a text-array path whose first key is it.
    for n, _ in _walk(node):
        if isinstance(n, ast.String) and (n.sval in words or any(
                (n.sval or "").lstrip("{ ").startswith(w) for w in words)):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Filter:
    """A column a policy compares with something else, so an index on it could serve.

    ``relation`` is ``(schema or None, name)`` of a sub-select's table, or None for
    the policy's own table; ``constant`` is True when the other side is a literal.
    """

    relation: tuple[str | None, str] | None
    column: str
    constant: bool


# A scope entry: (relation key, names it answers to).
_Scope = tuple[tuple[str | None, str] | None, frozenset[str]]


def _relations(from_clause: Any) -> Iterator[ast.RangeVar]:
    for item in from_clause or ():
        if isinstance(item, ast.RangeVar):
            yield item
        elif isinstance(item, ast.JoinExpr):
            yield from _relations((item.larg, item.rarg))


def _column(node: Any, scopes: list[_Scope]) -> tuple[Any, str] | None:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if not isinstance(node, ast.ColumnRef) or not node.fields:
        return None
    names = [f.sval or "" for f in node.fields if isinstance(f, ast.String)]
    if len(names) != len(node.fields):
        return None  # table.*
    if len(names) == 1:
        return scopes[-1][0], names[0]
    qualifier = names[-2]
    for relation, aliases in reversed(scopes):
        if qualifier in aliases:
            return relation, names[-1]
    return None


def _constant(node: Any) -> bool:
    while isinstance(node, ast.TypeCast):
        node = node.arg
    return isinstance(node, ast.A_Const)


def filters(node: ast.Node | None, table: str) -> list[Filter]:
    """The columns ``node`` (a policy of table ``table``) compares, with their relation.

    Comparisons counted: ``=``, ``<``, ``<=``, ``>``, ``>=``, ``IN (list)``,
    ``= ANY (...)`` and ``IN (SELECT ...)``, with a column on one side and, on the
    other, anything that is not a column of the same relation.
    """
    if node is None:
        return []
    found: list[Filter] = []
    _collect(node, [(None, frozenset({table}))], found)
    return found


def _pair(left: Any, right: Any, scopes: list[_Scope], found: list[Filter]) -> None:
    for this, other in ((left, right), (right, left)):
        col = _column(this, scopes)
        if col is None or other is None:
            continue
        other_col = _column(other, scopes)
        if other_col is not None and other_col[0] == col[0]:
            continue
        found.append(Filter(col[0], col[1], _constant(other)))


def _collect(node: Any, scopes: list[_Scope], found: list[Filter]) -> None:
    if isinstance(node, ast.SelectStmt) and node.fromClause:
        inner: list[_Scope] = [*scopes]
        for rv in _relations(node.fromClause):
            name = rv.relname or ""
            alias = rv.alias.aliasname if rv.alias and rv.alias.aliasname else name
            inner.append(((rv.schemaname, name), frozenset({name, alias})))
        for child in _children(node):
            _collect(child, inner, found)
        return
    if isinstance(node, ast.A_Expr) and node.name:
        op = node.name[-1].sval if isinstance(node.name[-1], ast.String) else ""
        kind = node.kind
        if (kind == A_Expr_Kind.AEXPR_OP and op in _COMPARE) or (
                kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY) and op == "="):
            _pair(node.lexpr, node.rexpr, scopes, found)
    if isinstance(node, ast.SubLink) and node.subLinkType == SubLinkType.ANY_SUBLINK:
        _pair(node.testexpr, node.subselect, scopes, found)
    for child in _children(node):
        _collect(child, scopes, found)
