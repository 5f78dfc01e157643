"""What the security rules share: API roles, exposed schemas, effective privileges.

PostgREST, and so Supabase, serves the schemas listed in ``db-schemas`` to requests
that run as the JWT's role, ``anon`` or ``authenticated`` (PostgREST docs,
"Authentication", "Schemas"; Supabase docs, "Row Level Security"). A catalog
snapshot does not hold PostgREST's settings, so a schema counts as *exposed* when
the rule's ``exposed_schemas`` option lists it or, by default, when an API role may
``USAGE`` it: the evidence that requests can reach it. Supabase's own schemas
(``auth``, ``storage``... the list splinter excludes from its lints) are left out.

A role holds a privilege when the object's ACL grants it to the role, to a role it
is a member of (directly or not), or to ``PUBLIC`` (PostgreSQL docs, "Privileges",
5.8; "Role Membership", 22.3). Column privileges are not read.
"""

from __future__ import annotations

from collections.abc import Iterable

from pgkeel.catalog.model import Grant, Snapshot
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption

__all__ = [
    "API_ROLES",
    "API_ROLES_OPTION",
    "EXPOSED_SCHEMAS_OPTION",
    "MANAGED_SCHEMAS",
    "api_roles",
    "exposed_schemas",
    "grantee_of",
    "lineage",
    "managed",
]

#: The roles PostgREST switches to for requests (Supabase's names).
API_ROLES = ("anon", "authenticated")

#: The options :func:`api_roles` and :func:`exposed_schemas` read, for the rules that
#: call them to declare (``Rule.options``).
API_ROLES_OPTION = RuleOption(list[str], "roles the API uses (PostgREST's anon and authenticated)",
                              list(API_ROLES))
EXPOSED_SCHEMAS_OPTION = RuleOption(
    list[str] | None, "schemas the API exposes (default: those the API roles may use)", None)

#: Schemas Supabase manages itself, which splinter leaves out of its lints
#: (supabase/splinter, lints/0011_function_search_path_mutable.sql).
MANAGED_SCHEMAS = frozenset({
    "_timescaledb_cache", "_timescaledb_catalog", "_timescaledb_config",
    "_timescaledb_internal", "auth", "cron", "extensions", "graphql", "graphql_public",
    "net", "pgbouncer", "pgmq", "pgroonga", "pgsodium", "pgsodium_masks", "pgtle",
    "realtime", "repack", "storage", "supabase_functions", "supabase_migrations",
    "tiger", "topology", "vault",
})


def managed(schema: str) -> bool:
    """True for a schema Supabase manages (:data:`MANAGED_SCHEMAS`)."""
    return schema in MANAGED_SCHEMAS


def api_roles(ctx: CheckContext, rule_id: str) -> tuple[str, ...]:
    """The API roles (option ``api_roles``, default :data:`API_ROLES`) that exist."""
    wanted = tuple(ctx.option(rule_id, "api_roles", API_ROLES))
    present = {r.name for r in ctx.snapshot.roles}
    return tuple(r for r in wanted if r in present)


def lineage(snapshot: Snapshot, role: str) -> frozenset[str]:
    """``role``, every role it is a member of (transitively), and ``PUBLIC``."""
    parents = {r.name: r.member_of for r in snapshot.roles}
    seen = {role}
    todo = [role]
    while todo:
        for parent in parents.get(todo.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return frozenset(seen | {"PUBLIC"})


def grantee_of(snapshot: Snapshot, role: str, grants: Iterable[Grant],
               privilege: str) -> str | None:
    """The grantee through which ``role`` holds ``privilege`` in ``grants``, or None.

    ``role`` itself first, then ``PUBLIC``, then a role it is a member of.
    """
    holders = {g.grantee for g in grants if privilege in g.privileges}
    if role in holders:
        return role
    if "PUBLIC" in holders:
        return "PUBLIC"
    return next((r for r in sorted(lineage(snapshot, role) & holders)), None)


def exposed_schemas(ctx: CheckContext, rule_id: str) -> frozenset[str]:
    """The schemas API requests can reach (module docstring).

    Option ``exposed_schemas`` (a list) wins. Otherwise: none when no API role
    exists; else the user schemas an API role may ``USAGE``, Supabase's managed ones
    excepted; ``public`` when the snapshot holds no schema ACLs (one read from an
    older JSON file).
    """
    configured = ctx.option(rule_id, "exposed_schemas", None)
    if configured is not None:
        return frozenset(configured)
    roles = api_roles(ctx, rule_id)
    snapshot = ctx.snapshot
    if not roles:
        return frozenset()
    if not any(s.grants for s in snapshot.schemas):
        return frozenset({"public"})
    return frozenset(
        s.name for s in snapshot.schemas
        if not managed(s.name)
        and any(grantee_of(snapshot, r, s.grants, "USAGE") for r in roles))
