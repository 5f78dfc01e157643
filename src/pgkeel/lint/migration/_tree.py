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
from collections import deque
from functools import partial
from itertools import repeat
from typing import Any

from pglast import ast, enums, parse_sql
from pglast.parser import parse_sql_json

__all__ = ["build", "parse"]

_set = object.__setattr__
_drain = partial(deque, maxlen=0)
_VALUES = {"ival": ast.Integer, "fval": ast.Float, "boolval": ast.Boolean,
           "sval": ast.String, "bsval": ast.BitString}
_NUMBERS = frozenset({"int", "int16", "int32", "long", "AttrNumber", "Index",
                      "AclMode", "Cardinality", "Cost", "RelFileNumber",
                      "SubTransactionId", "bits32"})


class _Unknown(Exception):
    """A shape this module does not handle: the caller falls back to ``parse_sql``."""


Convert = Any  # a function of the JSON value, or None to keep it as it is
Plan = tuple[tuple[str, ...], tuple[Any, ...], dict[str, tuple[str, Convert]]]


def _list(value: list[Any]) -> tuple[Any, ...]:
    return tuple([_wrapped(item) for item in value])


def _location(value: int) -> int | None:
    return None if value == -1 else value


def _enum(enum: Any) -> Convert:
    def convert(value: Any) -> Any:
        return enum[value] if isinstance(value, str) else enum(value)
    return convert


def _refuse(ctype: str) -> Convert:
    def convert(value: Any) -> Any:
        raise _Unknown(ctype)
    return convert


def _plan(cls: type[ast.Node]) -> Plan:
    """``(slots, defaults, converters)`` of ``cls``, computed once: its slots, the value
    of each when the JSON leaves it out, and ``{json key: (slot, convert)}``."""
    slots = getattr(cls, "__slots__", None)
    if not isinstance(slots, dict):
        raise _Unknown(cls.__name__)
    defaults: list[tuple[str, Any]] = []
    converters: dict[str, tuple[str, Convert]] = {}
    for slot, info in slots.items():
        ctype = info.c_type
        key = slot[:-1] if slot.endswith("_") else slot  # def_ is "def" in the JSON
        default: Any = None
        convert: Convert = None
        if ctype == "bool":
            default = False
        elif ctype == "char":
            default = "\x00"
        elif ctype in _NUMBERS:
            default = 0
        elif ctype == "ParseLoc":  # pglast gives None for -1, "unknown"
            default, convert = 0, _location
        elif ctype == "double":
            default = 0.0
        elif ctype == "List*":
            convert = _list
        elif ctype in ("Node*", "Expr*"):  # an abstract type: the JSON names the class
            convert = _wrapped
        elif ctype == "ValUnion":  # A_Const: the value is whichever key is present
            for name, value_cls in _VALUES.items():
                converters[name] = (slot, partial(_struct, value_cls))
            defaults.append((slot, None))
            continue
        elif hasattr(enums, ctype):
            enum = getattr(enums, ctype)
            convert = _enum(enum)
            # The C default 0; a char-valued enum (FunctionParameterMode) has no 0 and
            # the JSON always carries it.
            default = enum(0) if 0 in enum._value2member_map_ else None
        elif hasattr(ast, ctype.rstrip("*")):
            convert = partial(_struct, getattr(ast, ctype.rstrip("*")))
        elif ctype != "char*":
            convert = _refuse(ctype)
        defaults.append((slot, default))
        converters[key] = (slot, convert)
    return (tuple(slot for slot, _ in defaults), tuple(value for _, value in defaults),
            converters)


_PLANS: dict[type[ast.Node], Plan] = {}


def _struct(cls: type[ast.Node], body: dict[str, Any]) -> ast.Node:
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _PLANS[cls] = _plan(cls)
    slots, defaults, converters = plan
    node = object.__new__(cls)
    # Every slot gets its C default in one C-level loop, then the JSON's keys overwrite.
    _drain(map(_set, repeat(node, len(slots)), slots, defaults))
    for key, value in body.items():
        entry = converters.get(key)
        if entry is not None:  # else not a slot of pglast's class (A_Const's location)
            slot, convert = entry
            _set(node, slot, value if convert is None else convert(value))
    return node


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
