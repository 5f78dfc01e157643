"""``generate rls``: the skill's tenant-isolation pattern for one table.

Row Level Security on, one permissive policy per command for ``authenticated``, each
checking membership of the row's tenant::

    organization_id IN (SELECT m.organization_id FROM organization_members m
                        WHERE m.user_id = (SELECT auth.uid()))

``(SELECT auth.uid())`` is an initPlan evaluated once per statement instead of once
per row, and "row.tenant IN (tenants of the user)" avoids a join per row (Supabase
docs, "RLS performance recommendations"; splinter lint 0003 ``auth_rls_initplan``).
Policies name ``TO authenticated`` so other roles never evaluate them; ``anon`` gets
no policy and therefore no row. The policy's lookups need btree indexes whose leading
columns they filter on: ``(user_id, tenant)`` on the membership table and the tenant
column on the table (same page: "only the leading column counts"). Grants the API
roles lack on the two tables are added (a missing grant raises 42501 before any
policy runs, Supabase docs "Grants and policies") and revoked again by the down.
"""

from __future__ import annotations

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.errors import UsageError
from pgkeel.patterns import auth_stub
from pgkeel.patterns._common import Generated, comment, draft, find_table
from pgkeel.sqltext import ident, qualified_ident

__all__ = ["COMMANDS", "USER_COLUMN", "generate", "policy_name"]

#: The commands that get one policy each.
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
#: The membership table's column holding the user's id (``auth.users.id``).
USER_COLUMN = "user_id"


def policy_name(table: str, command: str) -> str:
    """The name of the generated policy of ``table`` for ``command``."""
    return f"{table}_tenant_{command.lower()}"[:63]


def _leads(table: Table, columns: tuple[str, ...]) -> bool:
    """True when a valid btree index of ``table`` starts with ``columns``."""
    return any(i.method == "btree" and i.valid and i.predicate is None
               and tuple(i.columns[:len(columns)]) == columns for i in table.indexes)


def _index(table: Table, columns: tuple[str, ...]) -> tuple[str, str, str]:
    """(drop-if-left, create, drop) of a btree index on ``columns`` built concurrently."""
    name = "_".join((table.name, *columns, "idx")).encode()[:63].decode(errors="ignore")
    qualified = qualified_ident(table.schema, name)
    drop = f"DROP INDEX CONCURRENTLY IF EXISTS {qualified};"
    return (drop, f"CREATE INDEX CONCURRENTLY {ident(name)} ON "
            f"{qualified_ident(table.schema, table.name)} "
            f"({', '.join(ident(c) for c in columns)});", drop)


def _grants(table: Table, roles: tuple[str, ...], privileges: tuple[str, ...]
            ) -> tuple[list[str], list[str]]:
    """GRANT/REVOKE statements for the ``privileges`` each role lacks on ``table``."""
    up, down = [], []
    held = {g.grantee: set(g.privileges) for g in table.grants}
    target = qualified_ident(table.schema, table.name)
    for role in roles:
        lacking = [p for p in privileges if p not in held.get(role, set())]
        if lacking:
            up.append(f"GRANT {', '.join(lacking)} ON {target} TO {ident(role)};")
            down.append(f"REVOKE {', '.join(lacking)} ON {target} FROM {ident(role)};")
    return up, down


def generate(snapshot: Snapshot, name: str, *, tenant_column: str,
             membership: str = "organization_members",
             with_auth_stub: bool = False) -> Generated:
    """The migration isolating ``name``'s rows by ``tenant_column``.

    ``membership`` names the table linking users (``user_id``) to tenants (a column of
    the same name as ``tenant_column``); ``with_auth_stub`` adds
    :func:`~pgkeel.patterns.auth_stub.stub` when the database has no ``auth.uid()``.
    Raises ``UsageError`` for an unknown table or column, a missing ``auth.uid()``
    without ``with_auth_stub``, or a policy name already taken.
    """
    table = find_table(snapshot, name)
    members = find_table(snapshot, membership)
    for owner, column in ((table, tenant_column), (members, tenant_column),
                          (members, USER_COLUMN)):
        if not any(c.name == column for c in owner.columns):
            raise UsageError(f"{owner.qualified} has no column {column}",
                             hint="name the tenant column with --tenant-column and a "
                             "membership table with user_id and that column")
    notes: list[str] = []
    up: list[list[str]] = []
    down: list[list[str]] = []
    if auth_stub.has_uid(snapshot):
        if with_auth_stub:
            notes.append("auth.uid() exists already: the auth stub is not added")
    elif with_auth_stub:
        stub_up, stub_down, stub_notes = auth_stub.stub(snapshot)
        up.append(stub_up)
        down.append(stub_down)
        notes += stub_notes
    else:
        raise UsageError(f"database {snapshot.database} has no auth.uid() function",
                         hint="on plain PostgreSQL add --with-auth-stub (Supabase has it)")
    taken = {p.name for p in table.policies} & {policy_name(table.name, c) for c in COMMANDS}
    if taken:
        raise UsageError(f"{table.qualified} already has policies {', '.join(sorted(taken))}",
                         hint="drop them or review the table's policies by hand")
    for owner, columns in ((members, (USER_COLUMN, tenant_column)), (table, (tenant_column,))):
        if not _leads(owner, columns):
            drop_left, create, drop = _index(owner, columns)
            up.append([drop_left, create])
            down.insert(0, [drop])
    grant_up, grant_down = _grants(table, ("authenticated", "service_role"),
                                   ("SELECT", "INSERT", "UPDATE", "DELETE"))
    member_up, member_down = _grants(members, ("authenticated", "service_role"), ("SELECT",))
    up.append(grant_up + member_up)
    down.insert(0, member_down + grant_down)
    target = qualified_ident(table.schema, table.name)
    check = (f"{ident(tenant_column)} IN (SELECT m.{ident(tenant_column)} FROM "
             f"{qualified_ident(members.schema, members.name)} m WHERE m.{ident(USER_COLUMN)}"
             " = (SELECT auth.uid()))")
    policies, drops = [], []
    for command in COMMANDS:
        clause = {"SELECT": f"USING ({check})", "DELETE": f"USING ({check})",
                  "INSERT": f"WITH CHECK ({check})",
                  "UPDATE": f"USING ({check})\n    WITH CHECK ({check})"}[command]
        policy = ident(policy_name(table.name, command))
        policies.append(f"CREATE POLICY {policy} ON {target} FOR {command} TO authenticated"
                        f"\n    {clause};")
        drops.insert(0, f"DROP POLICY IF EXISTS {policy} ON {target};")
    if not table.rls_enabled:
        # Enabled after the policies exist: no moment where every read is denied.
        policies.append(f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;")
        drops.insert(0, f"ALTER TABLE {target} DISABLE ROW LEVEL SECURITY;")
    up.append(policies)
    down.insert(0, drops)
    if members.rls_enabled:
        notes.append(f"{members.qualified} has RLS: its SELECT policy must let a user see "
                     "their own memberships, or every generated policy denies")
    other = [p.name for p in table.policies if p.permissive and
             ("authenticated" in p.roles or "public" in p.roles)]
    if other:
        notes.append(f"permissive policies {', '.join(other)} also apply: a row any of them "
                     "allows stays visible (splinter lint 0006); review them")
    header = comment([
        f"Tenant isolation for {table.qualified} by {tenant_column} "
        "(pgkeel generate rls).",
        f"A user reaches a row when {members.qualified} links them to its tenant.",
        "Prove it with: pgkeel rls test --personas personas.yaml",
    ])
    return Generated(draft(f"rls {table.name}", up, down, header), tuple(notes))
