"""Row-level security on multi-tenant tables.

Family E ("Security and row-level security") of ``reference/lint-rules.md``, checked
against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import Policy, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.rules._catalog import qualified_ident, quote_ident, table_name
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["TENANT_COLUMNS", "RlsDisabledTenantTable"]

#: Columns that mark a table as holding several tenants' rows (the skill's name).
TENANT_COLUMNS = ("organization_id",)

_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")

# The skill's "Armonyco Standard RLS Pattern", with auth.uid() wrapped in a sub-select
# so it runs once per query, not once per row (splinter auth_rls_initplan).
_TENANT = ("{column} IN (SELECT organization_id FROM public.organization_members "
           "WHERE user_id = (SELECT auth.uid()))")
_AUTH_NOTE = " -- auth.uid() is Supabase's; elsewhere use your session's user id"


def _policy(table: Table, column: str, command: str = "ALL") -> str:
    """``CREATE POLICY`` granting ``command`` to a tenant's members, on a free name."""
    used = {p.name for p in table.policies}
    base = "tenant_access" if command == "ALL" else f"tenant_{command.lower()}"
    name = next(n for i in range(len(used) + 1)
                if (n := base + (f"_{i}" if i else "")) not in used)
    condition = _TENANT.format(column=column)
    # INSERT has only new rows to check; the others filter existing rows (and UPDATE
    # checks new ones with USING too, when WITH CHECK is absent).
    clause = f"WITH CHECK ({condition})" if command == "INSERT" else f"USING ({condition})"
    return (f'CREATE POLICY "{name}" ON {qualified_ident(table.schema, table.name)} '
            f"FOR {command} {clause};{_AUTH_NOTE}")


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
    partition's own RLS, not its parent's. Severity `error`.

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
    severity = Severity.ERROR
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:rls_disabled_in_public", "splinter:rls_enabled_no_policy")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in snapshot.tables:
            column = next((c for c in TENANT_COLUMNS if table.column(c) is not None), None)
            if column is None:
                continue
            name = table_name(table)
            if not table.rls_enabled:
                yield self.finding(
                    f"table {name} has a tenant column ({quote_ident(column)}) but "
                    "row-level security is disabled: every role that can read it sees all "
                    "tenants",
                    object=name,
                    fix=f"ALTER TABLE {qualified_ident(table.schema, table.name)} ENABLE "
                        f"ROW LEVEL SECURITY;\n{_policy(table, column)}",
                )
            elif not table.policies:
                yield self.finding(
                    f"table {name} has row-level security enabled but no policy: "
                    "every role but its owner sees no rows",
                    object=name,
                    fix=_policy(table, column),
                )
            elif not any(p.permissive for p in table.policies):
                restrictive = ", ".join(quote_ident(p.name) for p in table.policies)
                yield self.finding(
                    f"table {name} has row-level security enabled but only restrictive "
                    f"policies ({restrictive}): they narrow what a permissive policy "
                    "grants, and none does, so every role but its owner sees no rows",
                    object=name,
                    fix=_policy(table, column),
                )
            elif denied := _denied(table):
                commands = ", ".join(denied)
                yield self.finding(
                    f"table {name} has a restrictive policy for {commands} but no "
                    f"permissive policy grants {commands}: every role but its owner is "
                    f"denied {commands} on all rows",
                    object=name,
                    fix="\n".join(_policy(table, column, c) for c in denied),
                )
