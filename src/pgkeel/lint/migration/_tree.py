"""PostgreSQL's parse tree as pglast nodes, built fast: :func:`parse`.

``pglast.parse_sql`` builds each node through its validating constructor (a type check,
an enum lookup and a dynamic import per attribute), which is most of the linter's time
on a real migration history. PostgreSQL's parser (libpg_query, inside pglast) also
serialises the same tree as JSON (``pglast.parser.parse_sql_json``, the JSON form of
its protobuf definition); :func:`parse` reads that with the C JSON decoder and fills the
same ``pglast.ast`` classes slot by slot, with the defaults the C structs have (0,
``False``, ``'\\0'``, NULL as None) for what the JSON leaves out. The result is equal,
node for node and location for location, to ``parse_sql``'s
(``tests/lint/migration/test_tree.py`` compares them over the Harness corpus and every
rule example); anything this module does not recognise falls back to ``parse_sql``.
"""

from __future__ import annotations

import json
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import parse_sql_json

__all__ = ["build", "parse"]

_set = object.__setattr__
_VALUES = {"ival": ast.Integer, "fval": ast.Float, "boolval": ast.Boolean,
           "sval": ast.String, "bsval": ast.BitString}
_NUMBERS = frozenset({"int", "int16", "int32", "long", "AttrNumber", "Index",
                      "AclMode", "Cardinality", "Cost", "RelFileNumber",
                      "SubTransactionId", "bits32"})


class _Unknown(Exception):
    """A shape this module does not handle: the caller falls back to ``parse_sql``."""


def _plan(cls: type[ast.Node]) -> tuple[tuple[str, str, str, Any], ...]:
    """``(slot, json key, kind, extra)`` for each slot of ``cls``, computed once."""
    slots = getattr(cls, "__slots__", None)
    if not isinstance(slots, dict):
        raise _Unknown(cls.__name__)
    plan = []
    for slot, info in slots.items():
        ctype = info.c_type
        key = slot[:-1] if slot.endswith("_") else slot  # def_ is "def" in the JSON
        if ctype == "bool":
            plan.append((slot, key, "bool", False))
        elif ctype == "char":
            plan.append((slot, key, "char", "\x00"))
        elif ctype == "char*":
            plan.append((slot, key, "str", None))
        elif ctype in _NUMBERS:
            plan.append((slot, key, "num", 0))
        elif ctype == "ParseLoc":  # pglast gives None for -1, "unknown"
            plan.append((slot, key, "loc", 0))
        elif ctype == "double":
            plan.append((slot, key, "num", 0.0))
        elif ctype == "List*":
            plan.append((slot, key, "list", None))
        elif ctype in ("Node*", "Expr*"):  # an abstract type: the JSON names the class
            plan.append((slot, key, "node", None))
        elif ctype == "ValUnion":
            plan.append((slot, key, "value", None))
        elif hasattr(enums, ctype):
            enum = getattr(enums, ctype)
            plan.append((slot, key, "enum", enum))
        elif hasattr(ast, ctype.rstrip("*")):
            plan.append((slot, key, "struct", getattr(ast, ctype.rstrip("*"))))
        else:
            plan.append((slot, key, "unknown", ctype))
    return tuple(plan)


_PLANS: dict[type[ast.Node], tuple[tuple[str, str, str, Any], ...]] = {}


def _struct(cls: type[ast.Node], body: dict[str, Any]) -> ast.Node:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    node = object.__new__(cls)
    for slot, key, kind, extra in plan:
        value = body.get(key)
        if value is None:
            if kind == "enum":
                value = extra(0)
            elif kind == "value":  # A_Const: the value is whichever key is present
                value = next((_value(k, body[k]) for k in _VALUES if k in body), None)
            elif kind == "unknown" and key in body:
                raise _Unknown(extra)
            else:
                value = extra if kind in ("bool", "char", "num", "loc") else None
        elif kind == "list":
            value = tuple(_wrapped(item) for item in value)
        elif kind == "node":
            value = _wrapped(value)
        elif kind == "struct":
            value = _struct(extra, value)
        elif kind == "enum":
            value = extra[value] if isinstance(value, str) else extra(value)
        elif kind == "loc" and value == -1:
            value = None
        elif kind == "unknown":
            raise _Unknown(extra)
        _set(node, slot, value)
    return node


def _value(key: str, body: dict[str, Any]) -> ast.Node:
    cls = _VALUES[key]
    return _struct(cls, body)


def _wrapped(item: Any) -> Any:
    """A ``{"ClassName": {...}}`` node, or a ``{"List": {"items": [...]}}`` tuple."""
    if isinstance(item, dict) and not item:
        return None  # a NULL pointer inside a list (RangeFunction.functions)
    if not isinstance(item, dict) or len(item) != 1:
        raise _Unknown(repr(item)[:40])
    (name, body), = item.items()
    if name == "List":
        return tuple(_wrapped(i) for i in body.get("items", ()))
    cls = getattr(ast, name, None)
    if cls is None or not isinstance(body, dict):
        raise _Unknown(name)
    return _struct(cls, body)


def build(text: str) -> list[tuple[int, int, ast.Node]]:
    """:func:`parse` without the fallback: raises ``LookupError`` for a shape this
    module does not know (and ``ParseError`` for SQL the parser rejects)."""
    tree = json.loads(parse_sql_json(text))
    try:
        return [(raw.get("stmt_location", 0), raw.get("stmt_len", 0), _wrapped(raw["stmt"]))
                for raw in tree.get("stmts", ())]
    except (_Unknown, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise LookupError(f"no fast tree for {exc!r}") from exc


def parse(text: str) -> list[tuple[int, int, ast.Node]]:
    """``(stmt_location, stmt_len, statement node)`` of each statement of ``text``, as
    ``pglast.parse_sql`` gives them (locations in characters; ``stmt_len`` 0 means "to
    the end"). Raises ``pglast.parser.ParseError`` for SQL the parser rejects."""
    if text.isascii():
        # The JSON's locations are byte offsets into the UTF-8 text and pglast's are
        # characters: the same numbers only for ASCII text (parse_sql does the rest).
        try:
            return build(text)
        except LookupError:
            pass  # a shape this module does not know: pglast's own builder
    return [(raw.stmt_location, raw.stmt_len, raw.stmt) for raw in parse_sql(text)]
