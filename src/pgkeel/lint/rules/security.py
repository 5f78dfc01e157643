"""Row-level security on multi-tenant tables.

Family E ("Security and row-level security") of ``reference/lint-rules.md``, checked
against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar, Literal

from pgkeel.catalog.model import Column, Policy, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext, ProbeFailed
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import (
    ident,
    index_name,
    leads_index,
    qualified_ident,
    quote_ident,
    relation_names,
    table_name,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["TENANT_COLUMNS", "RlsDisabledTenantTable", "rls_evidence"]

#: Columns that mark a table as holding several tenants' rows (the skill's name).
TENANT_COLUMNS = ("organization_id",)

_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")

# The skill's "Armonyco Standard RLS Pattern", with auth.uid() wrapped in a sub-select
# so it runs once per query, not once per row (splinter auth_rls_initplan).
_TENANT = ("{column} IN (SELECT organization_id FROM public.organization_members "
           "WHERE user_id = (SELECT auth.uid()))")
# On the membership table itself the pattern would read the table it guards
# ("infinite recursion detected in policy"): a member sees their own rows.
_MEMBER = "user_id = (SELECT auth.uid())"
_MEMBERS = ("public", "organization_members")
_ROLES = ("anon", "authenticated")
_INTEGERS = frozenset({"int2", "int4", "int8", "numeric"})


def _policy_name(table: Table, command: str) -> str:
    used = {p.name for p in table.policies}
    base = "tenant_access" if command == "ALL" else f"tenant_{command.lower()}"
    return next(n for i in range(len(used) + 1)
                if (n := base + (f"_{i}" if i else "")) not in used)


def _policy(table: Table, column: str, command: str = "ALL") -> str:
    """``CREATE POLICY`` granting ``command`` to a tenant's members, on a free name."""
    name = _policy_name(table, command)
    members = (table.schema, table.name) == _MEMBERS
    condition = _MEMBER if members else _TENANT.format(column=ident(column))
    # INSERT has only new rows to check; the others filter existing rows (and UPDATE
    # checks new ones with USING too, when WITH CHECK is absent).
    clause = f"WITH CHECK ({condition})" if command == "INSERT" else f"USING ({condition})"
    return (f"CREATE POLICY {ident(name)} ON {qualified_ident(table.schema, table.name)} "
            f"FOR {command} {clause};")


def _drop_policies(table: Table, commands: tuple[str, ...], disable: bool) -> str:
    target = qualified_ident(table.schema, table.name)
    lines = [f"DROP POLICY {ident(_policy_name(table, c))} ON {target};" for c in commands]
    if disable:
        lines.append(f"ALTER TABLE {target} DISABLE ROW LEVEL SECURITY;")
    return "\n".join(lines)


def _policy_indexes(snapshot: Snapshot, table: Table, column: str,
                    taken: dict[str, set[str]]) -> tuple[list[str], list[str]]:
    """Index builds (and their drops) the tenant policy needs to stay cheap.

    The policy filters ``table`` on ``column`` and ``organization_members`` on
    ``user_id`` for every query (PostgreSQL docs, "Row Security Policies"; Supabase,
    "RLS Performance and Best Practices": index the columns policies use). Each build
    is one ``CREATE INDEX CONCURRENTLY IF NOT EXISTS``, so two findings that need the
    same membership index build it once.
    """
    members = snapshot.table(".".join(_MEMBERS))
    needed = [(table, column)]
    if members is not None:
        needed.append((members, "user_id"))
    build: list[str] = []
    drop: list[str] = []
    for owner, col in needed:
        if leads_index(owner, col):
            continue
        name = index_name(owner.name, (col,), taken.get(owner.schema, set()))
        build.append(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {ident(name)} ON "
                     f"{qualified_ident(owner.schema, owner.name)} ({ident(col)});")
        drop.append(f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_ident(owner.schema, name)};")
    return build, drop


def _same_kind(a: Column, b: Column | str) -> bool:
    other = b if isinstance(b, str) else b.type_name
    return a.type_name == other or a.type == other or (
        a.type_name in _INTEGERS and other in _INTEGERS)


def _fix_blocker(snapshot: Snapshot, table: Table, column: str) -> str | None:
    """Why the skill's policy cannot be created here, or None when it can.

    It reads ``public.organization_members(organization_id, user_id)`` and calls
    ``auth.uid()``; both must exist, with types the comparisons accept.
    """
    members = snapshot.table("public.organization_members")
    uid = next((f for f in snapshot.functions
                if (f.schema, f.name, f.arguments) == ("auth", "uid", "")), None)
    org = members.column("organization_id") if members else None
    user = members.column("user_id") if members else None
    missing = [what for what, ok in (
        ("public.organization_members(organization_id, user_id)", org and user),
        ("auth.uid()", uid)) if not ok]
    if missing:
        return (f"the policy it needs reads {' and '.join(missing)}, which "
                f"{'do' if len(missing) > 1 else 'does'} not exist: create "
                "public.organization_members (organization_id, user_id) and a function "
                "auth.uid() returning the signed-in user's id (Supabase provides it), or "
                "write a policy on your own session setting, e.g. USING (organization_id "
                "= current_setting('app.organization_id')::bigint)")
    assert org is not None and user is not None and uid is not None
    tenant = table.column(column)
    if tenant is not None and not _same_kind(tenant, org):
        return (f"{quote_ident(column)} is {tenant.type} but "
                f"organization_members.organization_id is {org.type}")
    if not _same_kind(user, uid.returns):
        return f"organization_members.user_id is {user.type} but auth.uid() returns {uid.returns}"
    return None


def rls_evidence(ctx: CheckContext) -> list[str]:
    """Signs that the database relies on row-level security, for the message.

    Option ``rls = "required"``, a schema named ``auth``, Supabase's ``anon`` or
    ``authenticated`` role (read through the data probe, when at hand), a policy
    or a table with row-level security enabled.
    """
    snapshot = ctx.snapshot
    signs = []
    if ctx.option(RlsDisabledTenantTable.id, "rls", None) == "required":
        signs.append('option rls = "required"')
    if any(s.name == "auth" for s in snapshot.schemas):
        signs.append("an auth schema")
    if ctx.data is not None:
        try:
            roles = [r for (r,) in ctx.data.rows(
                "SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolname = ANY(%s) "
                "ORDER BY 1", [list(_ROLES)])]
        except ProbeFailed:
            roles = []
        if roles:
            signs.append(f"role{'s' * (len(roles) > 1)} {', '.join(roles)}")
    policies = sum(len(t.policies) for t in snapshot.tables)
    if policies:
        signs.append(f"{policies} polic{'ies' if policies > 1 else 'y'}")
    enabled = sum(t.rls_enabled for t in snapshot.tables)
    if enabled:
        signs.append(f"row-level security enabled on {enabled} table{'s' * (enabled > 1)}")
    return signs


def _applies(policy: Policy, command: str) -> bool:
    return policy.command in ("ALL", command)


def _denied(table: Table) -> tuple[str, ...]:
    """Commands a restrictive policy names that no permissive policy grants.

    A row is visible only when some permissive policy passes and every restrictive
    one does; with no permissive policy for a command, the command sees no rows
    (PostgreSQL docs, "CREATE POLICY", Notes). A restrictive ``FOR ALL`` guard
    beside a permissive ``FOR SELECT`` (a read-only tenant) is a design, so only
    commands a restrictive policy names explicitly count, unless no permissive
    policy exists at all.
    """
    permissive = [p for p in table.policies if p.permissive]
    if not permissive:
        return _COMMANDS
    return tuple(c for c in _COMMANDS
                 if any(not p.permissive and p.command == c for p in table.policies)
                 and not any(_applies(p, c) for p in permissive))


class RlsDisabledTenantTable(SchemaRule):
    """Protect every multi-tenant table with row-level security and a policy.

    A table (partitions included: each has its own RLS switch) with an
    `organization_id` column is reported when row-level security is off, or on
    with no policy at all, or on with only restrictive policies: access needs a
    permissive policy, which restrictive ones can only narrow. A command that a
    restrictive policy names but no permissive policy grants is reported too.

    Why
    ---
    With RLS off, any role that may read the table reads every tenant's rows: one
    missing `WHERE organization_id = ...` in the application leaks data across
    customers. The skill requires strict RLS on tenant tables. With RLS on and no
    policy, every non-owner role sees nothing (default deny), which is almost always
    a half-finished migration. A query that names a partition directly uses the
    partition's own RLS, not its parent's. Severity `error` when the database
    relies on row-level security, `info` when nothing shows it does (see Notes).

    Bad
    ---
    ```sql
    CREATE TABLE projects (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id bigint NOT NULL,
      name text NOT NULL
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE projects (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      organization_id bigint NOT NULL,
      name text NOT NULL
    );
    ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
    CREATE POLICY tenant_access ON projects FOR ALL
      USING (organization_id = (SELECT current_setting('app.organization_id')::bigint));
    ```

    Notes
    -----
    Severity follows evidence that the database relies on row-level security:
    option `rls = "required"`, a schema named `auth`, Supabase's `anon` or
    `authenticated` role, any policy, or any table with row-level security
    enabled. With none of these, tenants are isolated by the application (or not
    at all) and each finding is `info`, saying so.

    The fix is the skill's pattern: `organization_id IN (SELECT organization_id
    FROM public.organization_members WHERE user_id = (SELECT auth.uid()))` (on
    `organization_members` itself, `user_id = (SELECT auth.uid())`). It is printed
    only when `public.organization_members(organization_id, user_id)` and
    `auth.uid()` exist with types the comparisons accept; otherwise the finding
    says what to create. `fix_down` drops the policy and, if the fix enabled it,
    row-level security.

    The table's owner bypasses RLS unless `FORCE ROW LEVEL SECURITY` is set; have
    the application connect as a role that does not own the tables.

    A restrictive `FOR ALL` policy beside permissive policies for some commands
    only (say a read-only tenant: permissive `FOR SELECT`) is taken as a design and
    not reported; the other commands are denied on purpose. Policies' roles are not
    compared: a permissive policy for any role counts as granting.

    References
    ----------
    - PostgreSQL docs, "Row Security Policies"; "CREATE POLICY".
    - The skill (seeds/000), "Workflow", Security (RLS).
    - Supabase splinter `rls_disabled_in_public` (0013) and `rls_enabled_no_policy`
      (0008); reference/lint-rules.md `rls-disabled-on-exposed-table`.
    """

    id = "rls-disabled-tenant-table"
    options: ClassVar[dict[str, RuleOption]] = {
        "rls": RuleOption(
            Literal["required", "auto"] | None,
            "required makes every finding an error (else evidence decides)", None),
    }
    uses_data = True
    severity = Severity.ERROR
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:rls_disabled_in_public", "splinter:rls_enabled_no_policy")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        evidence: list[str] | None = None
        taken: dict[str, set[str]] | None = None  # pg_class names, read once
        for table in snapshot.tables:
            column = next((c for c in TENANT_COLUMNS if table.column(c) is not None), None)
            if column is None:
                continue
            problem = self._problem(table, column)
            if problem is None:
                continue
            if evidence is None:
                evidence = rls_evidence(ctx)
            message, commands, enable = problem
            blocker = _fix_blocker(snapshot, table, column)
            if evidence:
                message += f" (the database relies on row-level security: {', '.join(evidence)})"
            else:
                message += (" (info: nothing shows the database relies on row-level "
                            "security: no policy, no auth schema, no anon or authenticated "
                            'role; set option rls = "required" if it must)')
            fix = fix_down = None
            if blocker is not None:
                message += f"; no fix: {blocker}"
            else:
                target = qualified_ident(table.schema, table.name)
                lines = [f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;"] if enable else []
                if taken is None:
                    taken = relation_names(snapshot)
                build, drop = _policy_indexes(snapshot, table, column, taken)
                fix = "\n".join(lines + [_policy(table, column, c) for c in commands] + build)
                fix_down = "\n".join([_drop_policies(table, commands, enable), *drop])
            finding = self.finding(message, object=table_name(table), fix=fix,
                                   fix_down=fix_down)
            yield finding if evidence else replace(finding, severity=Severity.INFO)

    @staticmethod
    def _problem(table: Table, column: str) -> tuple[str, tuple[str, ...], bool] | None:
        """(message, commands to grant, whether RLS must be enabled), or None if fine."""
        name = table_name(table)
        if not table.rls_enabled:
            return (f"table {name} has a tenant column ({quote_ident(column)}) but row-level "
                    "security is disabled: every role that can read it sees all tenants",
                    ("ALL",), True)
        if not table.policies:
            return (f"table {name} has row-level security enabled but no policy: every role "
                    "but its owner sees no rows", ("ALL",), False)
        if not any(p.permissive for p in table.policies):
            restrictive = ", ".join(quote_ident(p.name) for p in table.policies)
            return (f"table {name} has row-level security enabled but only restrictive "
                    f"policies ({restrictive}): they narrow what a permissive policy grants, "
                    "and none does, so every role but its owner sees no rows", ("ALL",), False)
        denied = _denied(table)
        if denied:
            commands = ", ".join(denied)
            return (f"table {name} has a restrictive policy for {commands} but no permissive "
                    f"policy grants {commands}: every role but its owner is denied "
                    f"{commands} on all rows", denied, False)
        return None
