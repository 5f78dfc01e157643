"""Read the expressions EXPLAIN prints (``Filter``, ``Sort Key``) with pglast.

EXPLAIN prints conditions as SQL (``((lower(t.email) = 'a'::text) AND (t.id > 3))``),
so PostgreSQL's own parser reads them back; a text that does not parse yields nothing
rather than a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast
from pglast.parser import ParseError, parse_sql
from pglast.stream import RawStream

from pgkeel.advisor.statement import walk
from pgkeel.sqltext import quote_ident

__all__ = ["WrappedColumn", "columns", "sort_columns", "wrapped_columns"]


def _condition(text: str) -> ast.Node | None:
    try:
        stmt = parse_sql(f"SELECT 1 WHERE {text}")[0].stmt
    except (ParseError, IndexError):
        return None
    return stmt.whereClause if isinstance(stmt, ast.SelectStmt) else None


def _name(ref: ast.ColumnRef) -> str | None:
    last = ref.fields[-1] if ref.fields else None
    return last.sval if isinstance(last, ast.String) else None


def columns(condition: str) -> tuple[str, ...]:
    """The column names a condition reads, in order of appearance, each once."""
    tree = _condition(condition)
    names = [_name(n) for n in walk(tree) if isinstance(n, ast.ColumnRef)]
    return tuple(dict.fromkeys(n for n in names if n))


@dataclass(frozen=True, slots=True)
class WrappedColumn:
    """A column inside a function call, cast or arithmetic: ``column`` its name,
    ``expression`` the expression as SQL with the column unqualified
    (``lower(email)``), ``kind`` ``function``, ``cast`` or ``arithmetic``."""

    column: str
    expression: str
    kind: str


def _unqualified(node: ast.Node) -> str:
    # Rebuild the expression with bare column names, as CREATE INDEX wants them.
    for ref in walk(node):
        if isinstance(ref, ast.ColumnRef) and ref.fields and len(ref.fields) > 1:
            ref.fields = ref.fields[-1:]
    return str(RawStream()(node))


def wrapped_columns(condition: str) -> tuple[WrappedColumn, ...]:
    """The columns a condition compares only through a function, cast or arithmetic
    (``lower(email) = 'x'``, ``created::date = ...``, ``a + 1 > 3``), outermost first."""
    tree = _condition(condition)
    found: list[WrappedColumn] = []
    for node in walk(tree):
        if not isinstance(node, ast.A_Expr):
            continue
        for side in (node.lexpr, node.rexpr):
            if not isinstance(side, ast.FuncCall | ast.TypeCast | ast.A_Expr):
                continue
            kind = ("function" if isinstance(side, ast.FuncCall)
                    else "cast" if isinstance(side, ast.TypeCast) else "arithmetic")
            if kind == "arithmetic" and not _arithmetic(side):
                continue
            refs = [r for r in walk(side) if isinstance(r, ast.ColumnRef)]
            if len(refs) != 1:
                continue
            if kind == "cast" and isinstance(side, ast.TypeCast) and \
                    isinstance(side.arg, ast.A_Const):
                continue
            name = _name(refs[0])
            if name:
                found.append(WrappedColumn(name, _unqualified(side), kind))
    return tuple(found)


def _arithmetic(node: ast.Node) -> bool:
    if not isinstance(node, ast.A_Expr) or not node.name:
        return False
    op = node.name[-1]
    return isinstance(op, ast.String) and op.sval in ("+", "-", "*", "/", "||")


def sort_columns(keys: list[str]) -> tuple[str, ...] | None:
    """``Sort Key`` entries (``t.created DESC``) as index elements (``created DESC``);
    None when a key is not a plain column."""
    elements = []
    for key in keys:
        text, _, direction = key.partition(" ")
        tree = _condition(f"{text} IS NULL")
        arg = tree.arg if isinstance(tree, ast.NullTest) else None
        if not isinstance(arg, ast.ColumnRef) or _name(arg) is None:
            return None
        suffix = f" {direction.strip()}" if direction.strip() else ""
        elements.append(f"{quote_ident(str(_name(arg)))}{suffix}")
    return tuple(elements)
