"""Triggers and row-level security policies: one query each on pg_trigger and pg_policy.

Internal triggers (``tgisinternal``: the ones that enforce foreign keys, PostgreSQL docs
"pg_trigger") are left out; triggers cloned onto partitions from a partitioned
table's trigger are real triggers of those partitions and stay.
"""

from __future__ import annotations

from typing import Literal

from pgkeel.catalog._reader import RELATIONS, Reader
from pgkeel.catalog.model import Policy, Trigger

__all__ = ["read_policies", "read_triggers"]

_TRIGGERS = RELATIONS + """
SELECT t.tgrelid, t.tgname, pn.nspname || '.' || p.proname, t.tgtype, t.tgenabled,
       pg_catalog.pg_get_triggerdef(t.oid), d.description
FROM rel
JOIN pg_catalog.pg_trigger t ON t.tgrelid = rel.oid
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_trigger'::pg_catalog.regclass
WHERE NOT t.tgisinternal
"""

# Role oid 0 in polroles stands for PUBLIC (as the pg_policies view shows it).
_POLICIES = RELATIONS + """
SELECT po.polrelid, po.polname, po.polcmd, po.polpermissive,
       ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE pg_catalog.pg_get_userbyid(r)::text END
             FROM pg_catalog.unnest(po.polroles) AS r),
       pg_catalog.pg_get_expr(po.polqual, po.polrelid),
       pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid), d.description
FROM rel
JOIN pg_catalog.pg_policy po ON po.polrelid = rel.oid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = po.oid AND d.classoid = 'pg_catalog.pg_policy'::pg_catalog.regclass
"""

# tgtype bits, from src/include/catalog/pg_trigger.h (TRIGGER_TYPE_*).
_ROW, _BEFORE, _INSTEAD = 1 << 0, 1 << 1, 1 << 6
_EVENTS = ((1 << 2, "INSERT"), (1 << 4, "UPDATE"), (1 << 3, "DELETE"), (1 << 5, "TRUNCATE"))

_COMMANDS: dict[str, Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]] = {
    "*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE",
}


def read_triggers(reader: Reader) -> dict[int, list[Trigger]]:
    """Read the user triggers of every relation in scope, by relation oid, sorted by name.

    ``Trigger.enabled`` is False only for ``DISABLE TRIGGER`` (``tgenabled = 'D'``);
    triggers set to fire on replica or always count as enabled.
    """
    triggers: dict[int, list[Trigger]] = {}
    for relid, name, function, tgtype, enabled, definition, comment in reader.rows(_TRIGGERS):
        timing = "INSTEAD OF" if tgtype & _INSTEAD else "BEFORE" if tgtype & _BEFORE else "AFTER"
        triggers.setdefault(relid, []).append(Trigger(
            name=name,
            function=function,
            timing=timing,
            events=tuple(event for bit, event in _EVENTS if tgtype & bit),
            level="ROW" if tgtype & _ROW else "STATEMENT",
            enabled=enabled != "D",
            definition=definition,
            comment=comment,
        ))
    for items in triggers.values():
        items.sort(key=lambda t: t.name)
    return triggers


def read_policies(reader: Reader) -> dict[int, list[Policy]]:
    """Read the RLS policies of every table in scope, by table oid, sorted by name.

    ``Policy.roles`` are sorted role names (``public`` for PUBLIC); ``using`` and
    ``with_check`` are the expressions' text or None (PostgreSQL docs, "pg_policy").
    """
    policies: dict[int, list[Policy]] = {}
    for relid, name, cmd, permissive, roles, using, check, comment in reader.rows(_POLICIES):
        policies.setdefault(relid, []).append(Policy(
            name=name, command=_COMMANDS[cmd], permissive=permissive,
            roles=tuple(sorted(roles)), using=using, with_check=check, comment=comment,
        ))
    for items in policies.values():
        items.sort(key=lambda p: p.name)
    return policies
