"""Which columns a table's triggers stamp with the time, read from the functions' bodies.

A BEFORE UPDATE row trigger keeps a column current when its function assigns the
current time to ``NEW.<column>`` (PostgreSQL docs, PL/pgSQL "Trigger Functions",
Triggers on Data Changes). The catalog holds each function's source
(``Function.source``, ``pg_proc.prosrc``), so the rules read what a trigger does
instead of trusting its name. The ``moddatetime`` trigger of the contrib module of
that name (docs, "spi": moddatetime) names its column as the trigger's argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pgkeel.catalog.model import Function, Snapshot, Table, Trigger

__all__ = ["DATE_TIME_TYPES", "NOW_DEFAULT", "blocks_update", "function_of",
           "stamped_columns", "update_triggers"]

#: Base type names of date/time columns (``pg_type.typname``).
DATE_TIME_TYPES = frozenset({"timestamp", "timestamptz", "date"})

# The functions that read the clock: now(), CURRENT_TIMESTAMP[(p)], LOCALTIMESTAMP,
# clock_timestamp()... (docs, "Date/Time Functions and Operators", 9.9.5).
_CLOCK = (r"(?:pg_catalog\s*\.\s*)?(?:now\s*\(\s*\)|current_timestamp\b|localtimestamp\b|"
          r"current_date\b|clock_timestamp\s*\(\s*\)|statement_timestamp\s*\(\s*\)|"
          r"transaction_timestamp\s*\(\s*\))")
_ASSIGN = re.compile(r'\bNEW\s*\.\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*:?=\s*'
                     + _CLOCK, re.IGNORECASE)
#: A column default that reads the clock: ``now()``, ``CURRENT_TIMESTAMP``...
NOW_DEFAULT = re.compile(r"^\(?" + _CLOCK, re.IGNORECASE)
# A body that raises before doing anything else: the trigger forbids the event.
_BLOCKS = re.compile(r"^\s*(?:<<\w+>>\s*)?(?:DECLARE\b.*?)?BEGIN\s+RAISE\s+EXCEPTION\b",
                     re.IGNORECASE | re.DOTALL)
_MODDATETIME = re.compile(r"moddatetime\s*\(\s*'((?:[^']|'')*)'\s*\)", re.IGNORECASE)


def _name(token: str) -> str:
    # An unquoted identifier folds to lower case; a quoted one is taken as written.
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token.lower()


def function_of(snapshot: Snapshot, trigger: Trigger) -> Function | None:
    """The trigger's function, when the snapshot has it (not an extension's)."""
    return next((f for f in snapshot.functions
                 if f"{f.schema}.{f.name}" == trigger.function and f.arguments == ""), None)


def update_triggers(table: Table) -> Iterator[Trigger]:
    """The enabled BEFORE UPDATE row triggers of ``table``."""
    return (t for t in table.triggers
            if t.enabled and t.timing == "BEFORE" and t.level == "ROW" and "UPDATE" in t.events)


def stamped_columns(snapshot: Snapshot, trigger: Trigger) -> frozenset[str] | None:
    """The columns ``trigger``'s function sets to the current time; None if unreadable.

    Unreadable: a function outside the snapshot or without a readable body (C, or
    a SQL-standard body), other than ``moddatetime``, or a body that takes its
    column from ``TG_ARGV``.
    """
    if trigger.function.rsplit(".", 1)[-1] == "moddatetime":
        return frozenset(m.replace("''", "'") for m in _MODDATETIME.findall(trigger.definition))
    function = function_of(snapshot, trigger)
    if (function is None or function.source is None
            or function.language not in ("plpgsql", "sql")
            or re.search(r"\bTG_ARGV\b", function.source, re.IGNORECASE)):
        return None
    return frozenset(_name(m.group(1)) for m in _ASSIGN.finditer(function.source))


def blocks_update(snapshot: Snapshot, table: Table) -> Trigger | None:
    """An enabled BEFORE UPDATE trigger whose body starts with ``RAISE EXCEPTION``."""
    for trigger in table.triggers:
        if not (trigger.enabled and trigger.timing == "BEFORE" and "UPDATE" in trigger.events
                and "INSERT" not in trigger.events):
            continue
        function = function_of(snapshot, trigger)
        if function is not None and function.source and _BLOCKS.match(function.source):
            return trigger
    return None
