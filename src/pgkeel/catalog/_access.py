"""Who may do what: roles, ACLs, view options and function settings (4 queries).

Row-level security and privilege rules need the catalog's access side: the
cluster's roles and memberships (``pg_roles``, ``pg_auth_members``), the ACL of every
schema, table, view and function (``nspacl``, ``relacl``, ``proacl`` expanded with
``aclexplode``, and ``acldefault`` where none was ever set), views' ``reloptions``
(``security_invoker``) and functions' ``proconfig`` (``SET search_path``)
(PostgreSQL docs, "Privileges" 5.8, "pg_class", "pg_proc", "System Information
Functions": ``aclexplode``/``acldefault``). One set-based query each, whatever the
object count; :class:`Access` then fills these fields into the model objects the
other readers built.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pgkeel.catalog._reader import RELATIONS, Reader, not_extension_member, user_namespace
from pgkeel.catalog.model import Function, Grant, Role, Schema, Table, View

__all__ = ["Access", "read_access"]

# Grantee 0 in an ACL is PUBLIC. Grantees, privileges and grant options come back as
# three arrays in the same order, so no separator can be confused with a role name.
_GRANTS = """
ARRAY(SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                  ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END
      FROM pg_catalog.aclexplode(COALESCE({acl}, pg_catalog.acldefault({kind}, {owner}))) a
      ORDER BY 1, a.privilege_type),
ARRAY(SELECT a.privilege_type
      FROM pg_catalog.aclexplode(COALESCE({acl}, pg_catalog.acldefault({kind}, {owner}))) a
      ORDER BY CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                    ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
               a.privilege_type),
ARRAY(SELECT a.is_grantable
      FROM pg_catalog.aclexplode(COALESCE({acl}, pg_catalog.acldefault({kind}, {owner}))) a
      ORDER BY CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                    ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END,
               a.privilege_type)
"""

# Most relations never had a GRANT (relacl NULL: only the owner holds privileges):
# those skip aclexplode, whose cost per relation dominates a large schema's query.
_RELATIONS = RELATIONS + f"""
SELECT c.oid, COALESCE(c.reloptions, '{{}}'),
       {_GRANTS.format(acl="c.relacl", kind="'r'", owner="c.relowner")}
FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid
WHERE c.relacl IS NOT NULL OR c.reloptions IS NOT NULL
"""

_FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       COALESCE(p.proconfig, '{{}}'),
       {_GRANTS.format(acl="p.proacl", kind="'f'", owner="p.proowner")}
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE {user_namespace("n")} AND {not_extension_member("pg_proc", "p.oid")}
"""

_SCHEMAS = f"""
SELECT n.nspname, {_GRANTS.format(acl="n.nspacl", kind="'n'", owner="n.nspowner")}
FROM pg_catalog.pg_namespace n
WHERE {user_namespace("n")}
"""

# PostgreSQL 16+ may hold one membership row per grantor: DISTINCT.
_ROLES = """
SELECT r.rolname, r.rolbypassrls, r.rolsuper,
       ARRAY(SELECT DISTINCT g.rolname FROM pg_catalog.pg_auth_members m
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
             WHERE m.member = r.oid ORDER BY 1)
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1
"""


def _grants(grantees: Sequence[str], privileges: Sequence[str], options: Sequence[bool]
            ) -> tuple[Grant, ...]:
    by_grantee: dict[str, dict[str, bool]] = {}
    for grantee, privilege, grantable in zip(grantees, privileges, options, strict=True):
        held = by_grantee.setdefault(grantee, {})
        held[privilege] = held.get(privilege, False) or grantable
    return tuple(Grant(g, tuple(sorted(held)), tuple(sorted(p for p, o in held.items() if o)))
                 for g, held in sorted(by_grantee.items()))


@dataclass(slots=True)
class Access:
    """The access-side fields read by :func:`read_access`, to merge into the model.

    ``relations`` maps a relation oid to ``(reloptions, grants)``, for relations that
    have either (a relation missing here has neither: its ACL was never set, so only
    its owner holds privileges, and its grants are left empty); ``functions`` maps
    ``(schema, name, identity arguments)`` to ``(proconfig, grants)``; ``schemas`` a
    schema name to its grants; ``roles`` are the cluster's roles, sorted by name.
    """

    relations: dict[int, tuple[tuple[str, ...], tuple[Grant, ...]]] = field(default_factory=dict)
    functions: dict[tuple[str, str, str], tuple[tuple[str, ...], tuple[Grant, ...]]] = field(
        default_factory=dict)
    schemas: dict[str, tuple[Grant, ...]] = field(default_factory=dict)
    roles: tuple[Role, ...] = ()

    def table(self, table: Table, oid: int) -> Table:
        """``table`` with its grants."""
        return replace(table, grants=self.relations.get(oid, ((), ()))[1])

    def view(self, view: View, oid: int) -> View:
        """``view`` with its options and grants."""
        options, grants = self.relations.get(oid, ((), ()))
        return replace(view, options=options, grants=grants)

    def with_functions(self, functions: Iterable[Function]) -> list[Function]:
        """``functions`` with their pinned settings and grants."""
        return [replace(f, config=c, grants=g) for f in functions
                for c, g in [self.functions.get((f.schema, f.name, f.arguments), ((), ()))]]

    def with_schemas(self, schemas: Iterable[Schema]) -> list[Schema]:
        """``schemas`` with their grants."""
        return [replace(s, grants=self.schemas.get(s.name, ())) for s in schemas]


def read_access(reader: Reader) -> Access:
    """Run the four access queries (relations, functions, schemas, roles)."""
    access = Access()
    rows: list[Any] = reader.rows(_RELATIONS)
    for oid, options, *acl in rows:
        access.relations[oid] = (tuple(options), _grants(*acl))
    for schema, name, args, config, *acl in reader.rows(_FUNCTIONS):
        access.functions[(schema, name, args)] = (tuple(config), _grants(*acl))
    for schema, *acl in reader.rows(_SCHEMAS):
        access.schemas[schema] = _grants(*acl)
    access.roles = tuple(Role(name, tuple(member_of), bypass, superuser)
                         for name, bypass, superuser, member_of in reader.rows(_ROLES))
    return access
