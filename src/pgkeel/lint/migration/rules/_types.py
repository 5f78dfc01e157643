"""Does ``ALTER COLUMN ... TYPE`` rewrite the table? PostgreSQL's rules, as data.

PostgreSQL skips the rewrite when the new type is binary-coercible from the old one
(``pg_cast.castmethod = 'b'``) and any length coercion is a no-op by its planner
support function (``varchar_support``, ``numeric_support``, ``timestamp_support``,
``varbit_support``), and the USING expression is the bare column
(``ATColumnChangeRequiresRewrite`` in src/backend/commands/tablecmds.c). Since
PostgreSQL 12, timestamp <-> timestamptz is a no-op when the session TimeZone is UTC.
The binary-coercible casts below were read from ``pg_cast`` on PostgreSQL 15 and 18
(identical); strong_migrations' ``change_type_safe?`` agrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["WIDENING_TARGETS", "ColumnType", "rewrites"]

#: (old, new) pairs PostgreSQL converts without touching the rows (pg_cast 'b'), plus
#: citext <-> text/varchar (citext's casts are binary; its indexes must be rebuilt).
_BINARY = {("varchar", "text"), ("text", "varchar"), ("varchar", "bpchar"),
           ("text", "bpchar"), ("cidr", "inet"), ("bit", "varbit"), ("varbit", "bit"),
           ("xml", "text"), ("xml", "varchar"), ("text", "citext"), ("citext", "text"),
           ("varchar", "citext"), ("citext", "varchar")}
#: Types whose length/precision modifier can grow without a rewrite.
_GROWABLE = {"varchar", "varbit", "timestamp", "timestamptz", "time", "timetz", "interval"}
#: Targets some other type or modifier reaches without a rewrite: offline, with the
#: old type unknown, a change to one of these cannot be judged.
WIDENING_TARGETS = frozenset({"text", "varchar", "citext", "inet", "varbit", "numeric",
                              "timestamp", "timestamptz", "time", "timetz", "interval"})
_ALIASES = {"int": "int4", "integer": "int4", "bigint": "int8", "smallint": "int2",
            "decimal": "numeric", "boolean": "bool", "real": "float4",
            "double precision": "float8", "character varying": "varchar",
            "character": "bpchar", "char": "bpchar", "bit varying": "varbit",
            "timestamp without time zone": "timestamp",
            "timestamp with time zone": "timestamptz",
            "time without time zone": "time", "time with time zone": "timetz"}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column type reduced to what decides a rewrite: ``name`` is ``pg_type.typname``
    (``varchar``, ``int8``), ``mods`` the modifiers (``(50,)``, ``(10, 2)``, ``()``
    for none) and ``array`` whether it is an array of that type."""

    name: str
    mods: tuple[int, ...] = ()
    array: bool = False

    @classmethod
    def parse(cls, type_name: str, formatted: str) -> ColumnType:
        """From a catalog column: ``type_name`` (typname, ``_text`` for ``text[]``) and
        ``formatted`` (``format_type()`` text, ``character varying(50)``)."""
        array = type_name.startswith("_")
        name = _ALIASES.get(type_name.lstrip("_"), type_name.lstrip("_"))
        found = re.search(r"\(([\d,\s]+)\)", formatted)
        mods = tuple(int(m) for m in found.group(1).split(",")) if found else ()
        return cls(name, mods, array)


def rewrites(old: ColumnType, new: ColumnType, *, utc: bool | None,
             version: int | None) -> bool | None:
    """True when changing ``old`` to ``new`` rewrites the table, False when it does
    not, None when it depends on the session TimeZone and ``utc`` is None (unknown).

    ``version`` is ``server_version_num`` (None: assume 12 or later).
    """
    if old.array != new.array:
        return True
    if old.array:
        return old != new
    if old.name == new.name:
        return _modifier_change(old, new)
    pair = (old.name, new.name)
    if pair in {("timestamp", "timestamptz"), ("timestamptz", "timestamp")}:
        if version is not None and version < 120000:
            return True
        if not _precision_kept(old.mods, new.mods):
            return True
        return None if utc is None else not utc
    if pair in _BINARY:
        # A binary cast keeps the rows; a length limit on the new type still checks
        # (and pads, for char(n)) every value.
        return bool(new.mods)
    return True


def _modifier_change(old: ColumnType, new: ColumnType) -> bool:
    if old.mods == new.mods or not new.mods:
        return old.mods != new.mods and old.name not in _GROWABLE | {"numeric"}
    if not old.mods:
        return True  # unconstrained to constrained: every value is checked
    if old.name == "numeric":
        old_scale = old.mods[1] if len(old.mods) > 1 else 0
        new_scale = new.mods[1] if len(new.mods) > 1 else 0
        return not (new_scale == old_scale and new.mods[0] >= old.mods[0])
    if old.name in _GROWABLE and len(old.mods) == len(new.mods) == 1:
        return new.mods[0] < old.mods[0]
    return True


def _precision_kept(old: tuple[int, ...], new: tuple[int, ...]) -> bool:
    return not new or (bool(old) and new[0] >= old[0])
