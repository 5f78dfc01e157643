"""One generated value for one column, from its type, its rules and its name.

:func:`column_spec` reads what a column allows from the catalog model (type, length,
precision, enum labels, a domain's CHECKs); :func:`value` draws a value from a seeded
``random.Random`` and, for text whose name says what it holds (``email``,
``first_name``, ``city``...), from a seeded Faker (https://faker.readthedocs.io). Names
are used only to choose a *realistic* value of a type that already fits: the type,
length and CHECK rules decide what is *valid*, so a misleading name costs realism,
never validity (DESIGN.md principle 7).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from random import Random
from typing import Any

from pgkeel.catalog.model import Column, Domain, Enum
from pgkeel.seed._checks import Rule, parse_check

__all__ = ["ColumnSpec", "column_spec", "value"]

_INT_RANGE = {"int2": (1, 32_767), "int4": (1, 1_000_000), "int8": (1, 1_000_000)}
_INT_LIMIT = {"int2": (-32_768, 32_767), "int4": (-(2**31), 2**31 - 1),
              "int8": (-(2**63), 2**63 - 1)}
_TEXT = {"text", "varchar", "bpchar", "citext", "name"}
_POOL = 256  # Faker values drawn per text column
_EPOCH = dt.datetime(2020, 1, 1)
_SPAN = dt.timedelta(days=6 * 365)
# Column-name evidence for Faker providers; first match wins (checked on whole words).
_FAKER = (
    ("email", "email"), ("first_name", "first_name"), ("firstname", "first_name"),
    ("last_name", "last_name"), ("lastname", "last_name"), ("surname", "last_name"),
    ("company", "company"), ("phone", "phone_number"), ("fax", "phone_number"),
    ("address", "street_address"), ("city", "city"), ("country", "country"),
    ("region", "state"), ("state", "state"), ("postal_code", "postcode"),
    ("zip", "postcode"), ("postcode", "postcode"), ("url", "url"), ("website", "url"),
    ("homepage", "url"), ("username", "user_name"), ("login", "user_name"),
    ("name", "name"), ("title", "catch_phrase"), ("description", "sentence"),
    ("notes", "sentence"), ("comment", "sentence"),
)


@dataclass
class ColumnSpec:
    """What one column accepts: ``base`` is the base ``typname`` (``_int4`` for arrays),
    ``length`` the ``varchar(n)``/``char(n)`` limit, ``precision``/``scale`` those of
    ``numeric(p,s)``, ``labels`` an enum's labels, ``rule`` the parsed CHECK rules,
    ``checks_understood`` False when a domain CHECK is left to the server; ``narrow``
    shrinks the default number ranges when the server rejected earlier draws;
    ``provider`` the Faker provider the column's name points to (None: words), and
    ``pool`` the values drawn from it."""

    name: str
    base: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    labels: tuple[str, ...] = ()
    rule: Rule = field(default_factory=Rule)
    domain: Domain | None = None
    checks_understood: bool = True
    narrow: int = 0  # each step divides default number ranges by 100 (CHECK redraws)
    provider: str | None = None
    pool: list[str] = field(default_factory=list)


def column_spec(column: Column, domains: tuple[Domain, ...], enums: tuple[Enum, ...]) -> ColumnSpec:
    """Build the :class:`ColumnSpec` of ``column`` from the snapshot's domains and enums."""
    spec = ColumnSpec(column.name, column.type_name)
    lowered = column.name.lower()
    words = set(re.split(r"[^a-z]+", lowered)) | {lowered}
    spec.provider = next((p for key, p in _FAKER if key in words or lowered.endswith(key)),
                         None)
    declared = column.type
    bare = declared.replace('"', "")
    domain = next((d for d in domains if bare in (d.name, d.qualified)), None)
    if domain is not None:
        spec.domain = domain
        declared = domain.base_type
        orders: list[Any] = []
        rules = {column.name: spec.rule}
        for check in domain.checks:
            if not parse_check(check.expression, rules, orders, column=column.name):
                spec.checks_understood = False
    size = re.search(r"\((\d+)(?:,(\d+))?\)$", declared)
    if size and spec.base in _TEXT:
        spec.length = int(size.group(1))
    elif size and spec.base == "numeric":
        spec.precision, spec.scale = int(size.group(1)), int(size.group(2) or 0)
    enum = next((e for e in enums if e.name == spec.base.lstrip("_")), None)
    if enum is not None:
        spec.labels = enum.labels
    return spec


def supported(spec: ColumnSpec) -> bool:
    """True when :func:`value` can generate values of this column's type."""
    base = spec.base.lstrip("_")
    return bool(spec.labels) or base in _GENERATORS or base in _TEXT


def value(spec: ColumnSpec, rng: Random, faker: Any, serial: int) -> Any:
    """Return one value for ``spec``; ``serial`` (unique per row of the table) is mixed
    into text so text columns of unique keys rarely collide. Raises ``KeyError`` for a
    type :func:`supported` rejects."""
    rule = spec.rule
    if rule.choices:
        return _coerce(spec.base, rng.choice(rule.choices))
    if spec.base.startswith("_"):
        element = ColumnSpec(spec.name, spec.base[1:], labels=spec.labels)
        return [value(element, rng, faker, serial) for _ in range(rng.randint(1, 3))]
    if spec.labels:
        return rng.choice(spec.labels)
    if spec.base in _TEXT:
        return _text(spec, rng, faker, serial)
    return _GENERATORS[spec.base](spec, rng)


def _text(spec: ColumnSpec, rng: Random, faker: Any, serial: int) -> str:
    rule = spec.rule
    if rule.pattern is not None:
        matching = _matching(rule.pattern, rng)
        if matching is not None:
            return matching
    limit = min(x for x in (spec.length, rule.max_len, 60) if x is not None)
    if limit <= 4:
        text = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(limit))
        return text.ljust(rule.min_len or 0, "x")
    if not spec.pool:
        # Faker draws weighted choices slowly (~50 µs a value): draw a pool once per
        # column and pick from it; the serial below keeps values distinct anyway.
        provider = getattr(faker, spec.provider or "word")
        spec.pool = [str(provider()).rstrip(".") for _ in range(_POOL)]
    text = rng.choice(spec.pool)
    if spec.provider == "email":
        local, _, domain = text.partition("@")
        text = f"{local}{serial}@{domain}"
    else:
        text = f"{text} {serial}"
    if len(text) > limit:
        suffix = str(serial)
        text = text[: max(limit - len(suffix), 0)] + suffix if limit > len(suffix) else text[:limit]
    return text.ljust(rule.min_len or 0, "x")


def _matching(pattern: str, rng: Random) -> str | None:
    """A string matching ``pattern``, drawn by rstr (https://github.com/leapfrogonline/rstr)
    from Python's parse of it, which reads PostgreSQL's common regex syntax the same way
    (classes, ranges, quantifiers, anchors; PostgreSQL docs, "POSIX Regular
    Expressions"); None when Python cannot parse it. Repeats are kept short (``+`` and
    ``*`` at most 8 more than their minimum) so that values fit varchar limits."""
    parsed = _parsed(pattern)
    if parsed is None:
        return None
    try:
        # Xeger.xeger() parses the pattern again on every call, most of the cost of
        # a value: build from the parse cached above (what xeger() does after parsing).
        drawer = _short_xeger()(rng)
        return str(drawer._build_string(parsed))
    except (KeyError, IndexError):
        return None


@functools.cache
def _parsed(pattern: str) -> Any:
    """Python's parse of ``pattern`` (``re._parser``), None when it does not parse."""
    from rstr.xeger import sre_parse  # the module rstr parses with, whatever the Python

    try:
        return sre_parse.parse(pattern)
    except re.error:
        return None


@functools.cache
def _short_xeger() -> Any:
    from rstr.xeger import Xeger  # imported here: only regex CHECKs need it

    class Short(Xeger):
        def _handle_repeat(self, start_range: int, end_range: int, value: str) -> str:
            return super()._handle_repeat(start_range, min(end_range, start_range + 8), value)

    return Short


def _bounds(spec: ColumnSpec, low: Any, high: Any, step: Any, convert: Any) -> tuple[Any, Any]:
    """The CHECK bounds where there are some, the type's default range elsewhere."""
    rule = spec.rule
    try:
        if rule.low is not None:
            low = convert(rule.low) + step * rule.low_strict
            high = max(high, low + step * 1000) if rule.high is None else high
        if rule.high is not None:
            high = convert(rule.high) - step * rule.high_strict
            low = min(low, high - step * 1000) if rule.low is None else low
    except (ValueError, ArithmeticError, TypeError):
        pass  # a bound of another kind: the server-side check decides
    return low, max(low, high)  # contradictory rules: one value, the server will say no


def _int(spec: ColumnSpec, rng: Random) -> int:
    low, high = _INT_RANGE[spec.base]
    high = max(high // 100**spec.narrow, 10)
    low, high = _bounds(spec, low, high, 1, lambda v: int(Decimal(str(v))))
    floor, ceiling = _INT_LIMIT[spec.base]
    number = rng.randint(max(low, floor), min(high, ceiling))
    while number in spec.rule.excluded:
        number = rng.randint(max(low, floor), min(high, ceiling))
    return number


def _numeric(spec: ColumnSpec, rng: Random) -> Decimal:
    scale = 2 if spec.scale is None else spec.scale
    top = Decimal(10) ** ((spec.precision or 8) - scale) - Decimal(1).scaleb(-scale)
    step = Decimal(1).scaleb(-scale)
    default_top = min(top, max(Decimal(1000) / 100**spec.narrow, Decimal(1)))
    low, high = _bounds(spec, Decimal(0), default_top, step, lambda v: Decimal(str(v)))
    low, high = max(low, -top), min(high, top)
    units = rng.randint(int(low.scaleb(scale).to_integral_value("ROUND_CEILING")),
                        int(high.scaleb(scale).to_integral_value("ROUND_FLOOR")))
    return Decimal(units).scaleb(-scale)


def _float(spec: ColumnSpec, rng: Random) -> float:
    low, high = _bounds(spec, 0.0, max(1000.0 / 100**spec.narrow, 1.0), 1e-6, float)
    return round(rng.uniform(low, high), 4)


def _moment(spec: ColumnSpec, rng: Random) -> dt.datetime:
    low, high = _bounds(spec, _EPOCH, _EPOCH + _SPAN, dt.timedelta(seconds=1), _to_datetime)
    seconds = int((high - low).total_seconds())
    return low + dt.timedelta(seconds=rng.randint(0, max(seconds, 0)))


def _to_datetime(text: Any) -> dt.datetime:
    if isinstance(text, dt.datetime):  # aware ones in UTC, as timestamptz values are drawn
        return text.astimezone(dt.UTC).replace(tzinfo=None) if text.tzinfo else text
    if isinstance(text, dt.date):
        return dt.datetime.combine(text, dt.time())
    return _to_datetime(dt.datetime.fromisoformat(str(text)))


def _coerce(base: str, raw: Any) -> Any:
    if base in ("date",):
        return _to_datetime(raw).date()
    return raw


_GENERATORS: dict[str, Any] = {
    "int2": _int, "int4": _int, "int8": _int,
    "numeric": _numeric, "money": _numeric,
    "float4": _float, "float8": _float,
    "bool": lambda spec, rng: rng.random() < 0.5,
    "date": lambda spec, rng: _moment(spec, rng).date(),
    "timestamp": _moment,
    "timestamptz": lambda spec, rng: _moment(spec, rng).replace(tzinfo=dt.UTC),
    "time": lambda spec, rng: _moment(spec, rng).time(),
    "timetz": lambda spec, rng: _moment(spec, rng).time().isoformat() + "+00",
    "interval": lambda spec, rng: dt.timedelta(minutes=rng.randint(1, 10_000)),
    "uuid": lambda spec, rng: uuid.UUID(int=rng.getrandbits(128), version=4),
    "json": lambda spec, rng: f'{{"n": {rng.randint(1, 1000)}}}',
    "jsonb": lambda spec, rng: f'{{"n": {rng.randint(1, 1000)}}}',
    "bytea": lambda spec, rng: rng.randbytes(8),
    "inet": lambda spec, rng: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 9)}",
    "cidr": lambda spec, rng: f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.0/24",
    "tsvector": lambda spec, rng: f"w{rng.randint(1, 999)} w{rng.randint(1, 999)}",
    "bit": lambda spec, rng: "1",
    "varbit": lambda spec, rng: "101",
}
