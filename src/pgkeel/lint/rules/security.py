"""Row-level security on multi-tenant tables.

Family E ("Security and row-level security") of ``reference/lint-rules.md``, checked
against a catalog snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.catalog.model import Snapshot
from pgkeel.lint.rules._catalog import qualified_ident
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["TENANT_COLUMNS", "RlsDisabledTenantTable"]

#: Columns that mark a table as holding several tenants' rows (the skill's name).
TENANT_COLUMNS = ("organization_id",)

# The skill's "Armonyco Standard RLS Pattern", with auth.uid() wrapped in a sub-select
# so it runs once per query, not once per row (splinter auth_rls_initplan).
_POLICY = (
    "CREATE POLICY \"tenant_access\" ON {table} FOR ALL USING ({column} IN (SELECT "
    "organization_id FROM public.organization_members WHERE user_id = (SELECT auth.uid())));"
    " -- auth.uid() is Supabase's; elsewhere use your session's user id"
)


class RlsDisabledTenantTable(SchemaRule):
    """Protect every multi-tenant table with row-level security and a policy.

    A table (partitions included: each has its own RLS switch) with an
    `organization_id` column is reported when row-level security is off, or on
    with no policy at all.

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

    References
    ----------
    - PostgreSQL docs, "Row Security Policies"; "CREATE POLICY".
    - The skill (seeds/000), "Workflow", Security (RLS).
    - Supabase splinter `rls_disabled_in_public` (0013) and `rls_enabled_no_policy`
      (0008); reference/lint-rules.md `rls-disabled-on-exposed-table`.
    """

    id = "rls-disabled-tenant-table"
    severity = Severity.ERROR
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:rls_disabled_in_public", "splinter:rls_enabled_no_policy")

    def check(self, snapshot: Snapshot) -> Iterator[Finding]:
        for table in snapshot.tables:
            column = next((c for c in TENANT_COLUMNS if table.column(c) is not None), None)
            if column is None or (table.rls_enabled and table.policies):
                continue
            target = qualified_ident(table.schema, table.name)
            policy = _POLICY.format(table=target, column=column)
            if not table.rls_enabled:
                yield self.finding(
                    f"table {table.qualified} has a tenant column ({column}) but row-level "
                    "security is disabled: every role that can read it sees all tenants",
                    object=table.qualified,
                    fix=f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;\n{policy}",
                )
            else:
                yield self.finding(
                    f"table {table.qualified} has row-level security enabled but no policy: "
                    "every role but its owner sees no rows",
                    object=table.qualified,
                    fix=policy,
                )
