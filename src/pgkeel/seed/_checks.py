"""Turn simple CHECK expressions into per-column generator rules.

A CHECK constraint's text (``pg_get_expr`` of ``pg_constraint.conbin``) is parsed with
pglast; the conjuncts of a top-level ``AND`` that compare one column with constants
(``>``, ``>=``, ``<``, ``<=``, ``=``, ``<>``, ``BETWEEN``, ``IN`` / ``= ANY (ARRAY[...])``,
``char_length(col)``/``length(col)`` against a number, ``col ~ 'regex'``) or two
columns with each other become :class:`Rule` fields. Whatever else a CHECK says is
left to the server: the generator evaluates every CHECK on its candidate rows before
loading them (see :mod:`pgkeel.seed.generate`), so a rule here is an optimisation,
never the proof.

A domain's CHECK names its value ``VALUE`` (PostgreSQL docs, "CREATE DOMAIN"); parse it
with ``column="value"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType

__all__ = ["ColumnOrder", "Rule", "parse_check"]

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>", "!=": "<>"}
_LENGTH_FUNCS = {"char_length", "length", "character_length"}


@dataclass
class Rule:
    """What a generated value of one column must satisfy.

    ``low``/``high`` are bounds (constants as parsed: int, Decimal text, or string for
    dates and text), ``low_strict``/``high_strict`` whether they are excluded;
    ``choices`` the allowed values (an IN list); ``excluded`` values ``<>`` rules out;
    ``min_len``/``max_len`` bounds on the text length in characters; ``pattern`` a
    regular expression the text must match (``~``/``~*``).
    """

    low: Any = None
    low_strict: bool = False
    high: Any = None
    high_strict: bool = False
    choices: tuple[Any, ...] | None = None
    excluded: set[Any] = field(default_factory=set)
    min_len: int | None = None
    max_len: int | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class ColumnOrder:
    """``left op right`` between two columns of one row (``op`` is ``<``, ``<=``, ...)."""

    left: str
    op: str
    right: str


def parse_check(
    expression: str, rules: dict[str, Rule], orders: list[ColumnOrder], *, column: str | None = None
) -> bool:
    """Add what ``expression`` says to ``rules`` (by column name) and ``orders``.

    ``column`` renames the ``VALUE`` of a domain CHECK. Returns True when every conjunct
    was understood (the rules alone satisfy the CHECK), False when some part is left to
    the server. Never raises: an expression pglast cannot parse is simply not understood.
    """
    try:
        stmt = pglast.parse_sql(f"SELECT {expression}")[0].stmt
    except pglast.parser.ParseError:
        return False
    node = stmt.targetList[0].val  # type: ignore[union-attr]
    understood = True
    for part in _conjuncts(node):
        if not _one(part, rules, orders, column):
            understood = False
    return understood


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR:
        return [p for arg in node.args for p in _conjuncts(arg)]
    return [node]


def _column(node: Any, rename: str | None) -> str | None:
    while isinstance(node, ast.TypeCast):  # (a)::text compares the column itself
        node = node.arg
    if isinstance(node, ast.ColumnRef) and isinstance(node.fields[-1], ast.String):
        name = node.fields[-1].sval
        return rename if rename is not None and name == "value" else name
    return None


NOT_CONST = object()


def constant(node: Any) -> Any:
    """The Python value of a pglast constant node (cast or negated), else ``NOT_CONST``."""
    if isinstance(node, ast.TypeCast):
        return constant(node.arg)
    if isinstance(node, ast.A_Const):
        if node.isnull:
            return NOT_CONST
        val = node.val
        if isinstance(val, ast.Integer):
            return val.ival
        if isinstance(val, ast.Float):
            return val.fval
        if isinstance(val, ast.String):
            return val.sval
        if isinstance(val, ast.Boolean):
            return val.boolval
    if (isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP
            and node.lexpr is None and node.name[0].sval == "-"):
        inner = constant(node.rexpr)
        if isinstance(inner, int):
            return -inner
        if isinstance(inner, str):
            return "-" + inner
    return NOT_CONST


def _length_of(node: Any, rename: str | None) -> str | None:
    if (isinstance(node, ast.FuncCall) and node.funcname[-1].sval in _LENGTH_FUNCS
            and node.args and len(node.args) == 1):
        return _column(node.args[0], rename)
    return None


def _one(node: Any, rules: dict[str, Rule], orders: list[ColumnOrder], rename: str | None) -> bool:
    if isinstance(node, ast.NullTest):
        return True  # generated values are never NULL unless a key cycle needs it
    if not isinstance(node, ast.A_Expr):
        return False
    op = node.name[-1].sval if node.name else ""
    if node.kind == A_Expr_Kind.AEXPR_BETWEEN:
        col = _column(node.lexpr, rename)
        low, high = (constant(n) for n in node.rexpr)
        if col is None or low is NOT_CONST or high is NOT_CONST:
            return False
        rule = rules.setdefault(col, Rule())
        _bound(rule, ">=", low)
        _bound(rule, "<=", high)
        return True
    if node.kind in (A_Expr_Kind.AEXPR_IN, A_Expr_Kind.AEXPR_OP_ANY) and op == "=":
        col = _column(node.lexpr, rename)
        items = node.rexpr.elements if isinstance(node.rexpr, ast.A_ArrayExpr) else node.rexpr
        values = tuple(constant(n) for n in items or ())
        if col is None or not values or NOT_CONST in values:
            return False
        rule = rules.setdefault(col, Rule())
        rule.choices = values if rule.choices is None else tuple(
            v for v in rule.choices if v in values)
        return True
    if node.kind == A_Expr_Kind.AEXPR_OP and op in ("~", "~*"):
        col, regex = _column(node.lexpr, rename), constant(node.rexpr)
        if col is None or not isinstance(regex, str):
            return False
        rules.setdefault(col, Rule()).pattern = regex
        return True
    if node.kind != A_Expr_Kind.AEXPR_OP or op not in _FLIP:
        return False
    left_col, right_col = _column(node.lexpr, rename), _column(node.rexpr, rename)
    if left_col and right_col:
        orders.append(ColumnOrder(left_col, op, right_col))
        return op in ("<", "<=", ">", ">=")
    left_len, right_len = _length_of(node.lexpr, rename), _length_of(node.rexpr, rename)
    left_c, right_c = constant(node.lexpr), constant(node.rexpr)
    if left_col and right_c is not NOT_CONST:
        _bound(rules.setdefault(left_col, Rule()), op, right_c)
        return True
    if right_col and left_c is not NOT_CONST:
        _bound(rules.setdefault(right_col, Rule()), _FLIP[op], left_c)
        return True
    if left_len and isinstance(right_c, int):
        return _length(rules.setdefault(left_len, Rule()), op, right_c)
    if right_len and isinstance(left_c, int):
        return _length(rules.setdefault(right_len, Rule()), _FLIP[op], left_c)
    return False


def _bound(rule: Rule, op: str, value: Any) -> None:
    if op in (">", ">="):
        rule.low, rule.low_strict = value, op == ">"
    elif op in ("<", "<="):
        rule.high, rule.high_strict = value, op == "<"
    elif op == "=":
        rule.choices = (value,)
    else:
        rule.excluded.add(value)


def _length(rule: Rule, op: str, n: int) -> bool:
    if op in (">", ">="):
        rule.min_len = n + (op == ">")
    elif op in ("<", "<="):
        rule.max_len = n - (op == "<")
    elif op == "=":
        rule.min_len = rule.max_len = n
    else:
        return False
    return True
