"""What row-level security policies say: per-row calls, editable claims, indexes, tenants.

Family E of the rule catalogue, read from the policies' expressions parsed with
pglast (:mod:`pgkeel.lint.rules._policy_expr`), never matched as text: the offline
counterparts of Supabase splinter's 0003 and 0015, and of the performance and
multi-tenancy advice in Supabase's "Row Level Security" guide.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Policy, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules import _policy_expr as expr
from pgkeel.lint.rules._access import managed
from pgkeel.lint.rules._catalog import (
    ident,
    index_name,
    leads_index,
    object_name,
    qualified_ident,
    quote_ident,
    relation_names,
    table_name,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "AuthFunctionPerRow",
    "PolicyColumnNotIndexed",
    "PolicyUsesUserMetadata",
    "TenantPolicyPattern",
]

#: Calls that return the same value for every row of a statement (option `functions`).
PER_STATEMENT = ("auth.uid", "auth.jwt", "auth.role", "auth.email", "current_setting")
#: Columns that mark a multi-tenant table (option `tenant_columns`).
TENANT_COLUMNS = ("organization_id", "tenant_id", "team_id")


def _policies(snapshot: Snapshot) -> Iterator[tuple[Table, Policy]]:
    for table in snapshot.tables:
        if not managed(table.schema):
            for policy in table.policies:
                yield table, policy


def _policy_object(table: Table, policy: Policy) -> str:
    return object_name(table.schema, table.name, policy.name)


class AuthFunctionPerRow(SchemaRule):
    """Wrap `auth.uid()`, `auth.jwt()` and `current_setting()` in policies in `(SELECT ...)`.

    Reports a policy whose `USING` or `WITH CHECK` calls one of these functions
    (option `functions`; default `auth.uid`, `auth.jwt`, `auth.role`, `auth.email`,
    `current_setting`) outside a scalar sub-select, with arguments that name no
    column.

    Why
    ---
    A bare call is evaluated for every row the policy filters; wrapped in
    `(SELECT auth.uid())`, the planner runs it once per statement as an initPlan
    and compares each row with the result. Supabase measured 179 ms against 9 ms on
    a 100k-row table. The value cannot change within a statement, so the result is
    the same. Severity `warning`, as in splinter.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_owner ON notes
      USING (owner_id = current_setting('app.user_id')::bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_owner ON notes
      USING (owner_id = (SELECT current_setting('app.user_id')::bigint));
    ```

    Notes
    -----
    The fix is `ALTER POLICY ... USING (...) WITH CHECK (...)` with each such call
    wrapped (the expressions as pglast writes them); `fix_down` restores the
    expressions PostgreSQL had stored. A call whose arguments name a column depends
    on the row and is left alone. Names are matched as `pg_get_expr` prints them: a
    call printed without its schema (because `auth` is on the `search_path` of the
    session that read the catalog) is not recognised, as in splinter.

    References
    ----------
    - Supabase splinter `0003_auth_rls_initplan`; Supabase docs, "Row Level
      Security", RLS performance recommendations ("Call functions with select").
    - PostgreSQL docs, "Subquery Expressions" (9.23); "Using EXPLAIN" (InitPlan).
    """

    id = "auth-function-per-row"
    options: ClassVar[dict[str, RuleOption]] = {
        "functions": RuleOption(
            list[str], "functions whose calls should be wrapped in a sub-select",
            list(PER_STATEMENT)),
    }
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "policy"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0003_auth_rls_initplan"
    upstream = ("splinter:0003_auth_rls_initplan",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        functions = frozenset(f.lower() for f in ctx.option(self.id, "functions", PER_STATEMENT))
        for table, policy in _policies(ctx.snapshot):
            found = [*expr.calls(expr.parse(policy.using), functions),
                     *expr.calls(expr.parse(policy.with_check), functions)]
            if not found:
                continue
            names = ", ".join(f"{n}()" for n in dict.fromkeys(found))
            alter = (f"ALTER POLICY {ident(policy.name)} ON "
                     f"{qualified_ident(table.schema, table.name)}")
            up, down = [], []
            for clause, text in (("USING", policy.using), ("WITH CHECK", policy.with_check)):
                if text:
                    up.append(f"{clause} ({expr.wrap_calls(text, functions)})")
                    down.append(f"{clause} ({text})")
            yield self.finding(
                f"policy {quote_ident(policy.name)} on {table_name(table)} calls {names} "
                "for every row: wrap each call in (SELECT ...) so it runs once per statement",
                object=_policy_object(table, policy),
                fix=f"{alter} {' '.join(up)};",
                fix_down=f"{alter} {' '.join(down)};",
            )


class PolicyUsesUserMetadata(SchemaRule):
    """Never authorise on `user_metadata`, which every user can edit.

    Reports a policy whose `USING` or `WITH CHECK` reads the JWT's `user_metadata`
    (`auth.jwt() -> 'user_metadata'`, or the same key of
    `current_setting('request.jwt.claims')`) or the `raw_user_meta_data` column of
    Supabase's `auth.users`.

    Why
    ---
    Supabase lets every signed-in user write their own `user_metadata`
    (`supabase.auth.updateUser({ data: ... })`): a policy such as
    `auth.jwt() -> 'user_metadata' ->> 'role' = 'admin'` lets anyone make themselves
    admin. Severity `error`, as in splinter.

    Bad
    ---
    ```sql
    CREATE TABLE reports (id bigint PRIMARY KEY, body text);
    ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
    CREATE POLICY reports_admin ON reports USING (
      (current_setting('request.jwt.claims', true)::jsonb -> 'user_metadata' ->> 'role')
      = 'admin');
    ```

    Good
    ----
    ```sql
    CREATE TABLE reports (id bigint PRIMARY KEY, body text);
    ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
    CREATE POLICY reports_admin ON reports USING (
      (current_setting('request.jwt.claims', true)::jsonb -> 'app_metadata' ->> 'role')
      = 'admin');
    ```

    Notes
    -----
    No fix: use `app_metadata` (only the server writes it) or a membership table
    the application controls. The expression is parsed, so a `user_metadata` key in
    any `->`, `->>`, `#>`, `#>>` or `?` path counts, whatever its spacing or quoting.

    References
    ----------
    - Supabase splinter `0015_rls_references_user_metadata`; Supabase docs, "Row
      Level Security" (Advanced policies: "raw_user_meta_data ... can be updated by
      the authenticated user").
    - PostgreSQL docs, "JSON Functions and Operators" (9.16).
    """

    id = "policy-uses-user-metadata"
    severity = Severity.ERROR
    checklist = checklist_items.RLS
    object_kind = "policy"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0015_rls_references_user_metadata"
    upstream = ("splinter:0015_rls_references_user_metadata",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table, policy in _policies(ctx.snapshot):
            if (expr.reads_user_metadata(expr.parse(policy.using))
                    or expr.reads_user_metadata(expr.parse(policy.with_check))):
                yield self.finding(
                    f"policy {quote_ident(policy.name)} on {table_name(table)} reads "
                    "user_metadata, which every user can edit: authorise on app_metadata "
                    "or a table the application controls",
                    object=_policy_object(table, policy))


def _resolve(snapshot: Snapshot, table: Table,
             relation: tuple[str | None, str] | None) -> Table | None:
    if relation is None:
        return table
    schema, name = relation
    for candidate in ((schema,) if schema else (table.schema, "public")):
        if (found := snapshot.table(f"{candidate}.{name}")) is not None:
            return found
    return None


class PolicyColumnNotIndexed(SchemaRule):
    """Index the columns row-level security policies filter on.

    For each policy's `USING` (Supabase's own schemas aside), the columns it
    compares with a value that is not a literal (`user_id = (SELECT auth.uid())`,
    `team_id IN (SELECT ...)`), in its table and in the tables its sub-selects read,
    are reported when no valid, non-partial index leads with them. One finding per
    column names every policy that filters on it.

    Why
    ---
    A policy is a WHERE clause added to every query; without an index on the column
    it filters by, each query scans the table (Supabase measured 171 ms against
    under 0.1 ms). Only an index's leading column serves such a lookup: a
    `(team_id, user_id)` primary key does not index `user_id`. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE team_members (team_id bigint, user_id bigint, PRIMARY KEY (team_id, user_id));
    CREATE TABLE docs (id bigint PRIMARY KEY, team_id bigint NOT NULL);
    CREATE INDEX ON docs (team_id);
    ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY docs_team ON docs USING (team_id IN (
      SELECT team_members.team_id FROM team_members
      WHERE team_members.user_id = (SELECT current_setting('app.user_id')::bigint)));
    ```

    Good
    ----
    ```sql
    CREATE TABLE team_members (team_id bigint, user_id bigint, PRIMARY KEY (team_id, user_id));
    CREATE INDEX ON team_members (user_id);
    CREATE TABLE docs (id bigint PRIMARY KEY, team_id bigint NOT NULL);
    CREATE INDEX ON docs (team_id);
    ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
    CREATE POLICY docs_team ON docs USING (team_id IN (
      SELECT team_members.team_id FROM team_members
      WHERE team_members.user_id = (SELECT current_setting('app.user_id')::bigint)));
    ```

    Notes
    -----
    The fix is `CREATE INDEX CONCURRENTLY` (named as PostgreSQL would name it), and
    `fix_down` drops it concurrently. A partitioned table gets no fix (it cannot be
    indexed concurrently): index each partition, then the parent `ON ONLY`.
    Comparisons with a literal (`published = true`) are not counted: such columns
    rarely select few rows. `WITH CHECK` is not read: it checks new rows, no index
    serves it. A table a sub-select names without a schema is looked up in the
    policy table's schema, then in `public`.

    References
    ----------
    - Supabase docs, "Row Level Security", RLS performance recommendations ("Add
      indexes"); GaryAustin1/RLS-Performance.
    - PostgreSQL docs, "Multicolumn Indexes" (11.3); "CREATE INDEX" (Building
      Indexes Concurrently).
    """

    id = "policy-column-not-indexed"
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "column"
    docs_url = "https://supabase.com/docs/guides/database/postgres/row-level-security#add-indexes"
    upstream = ()

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        wanted: dict[tuple[str, str, str], list[str]] = {}
        for table, policy in _policies(snapshot):
            for f in expr.filters(expr.parse(policy.using), table.name):
                target = _resolve(snapshot, table, f.relation)
                if (f.constant or target is None or target.is_partition
                        or target.column(f.column) is None or leads_index(target, f.column)):
                    continue
                users = wanted.setdefault((target.schema, target.name, f.column), [])
                label = f"{table_name(table)}.{quote_ident(policy.name)}"
                if label not in users:
                    users.append(label)
        taken = relation_names(snapshot)
        for (schema, name, column), users in sorted(wanted.items()):
            target_table = snapshot.table(f"{schema}.{name}")
            assert target_table is not None
            message = (f"column {object_name(schema, name, column)} is filtered by policy "
                       f"{', '.join(users)} but no index leads with it: each query through "
                       "the policy scans the table")
            if target_table.kind == "partitioned":
                yield self.finding(f"{message} (partitioned: index each partition, then the "
                                   "parent ON ONLY)", object=object_name(schema, name, column))
                continue
            in_schema = taken.setdefault(schema, set())
            index = index_name(name, (column,), in_schema)
            in_schema.add(index)
            yield self.finding(
                message,
                object=object_name(schema, name, column),
                fix=f"CREATE INDEX CONCURRENTLY {ident(index)} ON "
                    f"{qualified_ident(schema, name)} ({ident(column)});",
                fix_down=f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_ident(schema, index)};",
            )


def _restricted(policy: Policy, table: Table, column: str) -> bool:
    # The policy compares the tenant column with something that is not a literal.
    return any(f.relation is None and f.column == column and not f.constant
               for text in (policy.using, policy.with_check)
               for f in expr.filters(expr.parse(text), table.name))


def _membership_fix(snapshot: Snapshot, table: Table, column: str,
                    ctx: CheckContext, rule_id: str) -> tuple[str, str] | str:
    """``(fix, fix_down)`` adding the skill's membership check, or why there is none."""
    members_name = ctx.option(rule_id, "membership_table", "organization_members")
    member_col = ctx.option(rule_id, "member_column", "user_id")
    members = next((t for s in (table.schema, "public")
                    if (t := snapshot.table(f"{s}.{members_name}")) is not None), None)
    has_uid = any(f.schema == "auth" and f.name == "uid" and f.arguments == ""
                  for f in snapshot.functions)
    user = members.column(member_col) if members is not None else None
    if members is None or members.column(column) is None or user is None or not has_uid \
            or user.type_name != "uuid":
        return (f"no fix printed: it needs a membership table {members_name}({column}, "
                f"{member_col} uuid) and auth.uid(); create them, or restrict by {column} "
                "in each policy")
    used = {p.name for p in table.policies}
    name = next(n for i in range(len(used) + 1)
                if (n := "tenant_membership" + (f"_{i}" if i else "")) not in used)
    condition = (f"{ident(column)} IN (SELECT {ident(column)} FROM "
                 f"{qualified_ident(members.schema, members.name)} WHERE {ident(member_col)} "
                 "= (SELECT auth.uid()))")
    target = qualified_ident(table.schema, table.name)
    return (f"CREATE POLICY {ident(name)} ON {target} AS RESTRICTIVE FOR ALL "
            f"USING ({condition}) WITH CHECK ({condition});",
            f"DROP POLICY {ident(name)} ON {target};")


class TenantPolicyPattern(SchemaRule):
    """Restrict every command on a tenant table to the tenant's members.

    A table with a tenant column (option `tenant_columns`; default
    `organization_id`, `tenant_id`, `team_id`), row-level security on and policies,
    is reported when for some command the permissive policies that grant it do not
    all compare the tenant column with something that is not a literal (a
    membership sub-select, a function, a session setting), and no restrictive
    policy for that command does. Tables without RLS or policies are other rules'.

    Why
    ---
    The skill's pattern keeps each tenant's rows to its members:
    `organization_id IN (SELECT organization_id FROM organization_members WHERE
    user_id = (SELECT auth.uid()))`. A policy that ignores the tenant column (say
    `USING (true)` for reads, or `owner_id = auth.uid()` on a table shared by a
    team) lets rows cross tenants, and permissive policies are ORed, so one such
    policy opens the command. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL, name text);
    ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
    CREATE POLICY projects_read ON projects FOR SELECT USING (true);
    ```

    Good
    ----
    ```sql
    CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL, name text);
    ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
    CREATE POLICY projects_read ON projects FOR SELECT
      USING (organization_id = (SELECT current_setting('app.organization_id')::bigint));
    ```

    Notes
    -----
    When the membership table (option `membership_table`, default
    `organization_members`, in the table's schema or `public`) has the tenant
    column and a `uuid` member column (option `member_column`, default `user_id`),
    and `auth.uid()` exists, the fix adds the skill's check as a RESTRICTIVE policy
    for all commands, which narrows every existing policy without replacing it;
    `fix_down` drops it. Otherwise no fix is printed and the finding says what is
    missing.

    References
    ----------
    - The skill (seeds/000), "Armonyco Standard RLS Pattern".
    - PostgreSQL docs, "CREATE POLICY" (permissive and restrictive policies).
    - Supabase docs, "Row Level Security" (policies with joins, `(select auth.uid())`).
    """

    id = "tenant-policy-pattern"
    options: ClassVar[dict[str, RuleOption]] = {
        "tenant_columns": RuleOption(
            list[str], "columns that mark a tenant table",
            list(TENANT_COLUMNS)),
        "membership_table": RuleOption(
            str, "the table listing tenants' members",
            "organization_members"),
        "member_column": RuleOption(str, "the membership table's user column", "user_id"),
    }
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-createpolicy.html"
    upstream = ()

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        tenant_columns = tuple(ctx.option(self.id, "tenant_columns", TENANT_COLUMNS))
        members = ctx.option(self.id, "membership_table", "organization_members")
        for table in snapshot.tables:
            column = next((c for c in tenant_columns if table.column(c) is not None), None)
            # The membership table is the pattern's reference: its own policies
            # restrict by member (the pattern on it would recurse).
            if column is None or not table.rls_enabled or not table.policies \
                    or managed(table.schema) or table.name == members:
                continue
            open_by: dict[str, list[str]] = {}
            for command in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                applies = [p for p in table.policies if p.command in ("ALL", command)]
                if any(not p.permissive and _restricted(p, table, column) for p in applies):
                    continue
                for p in applies:
                    if p.permissive and not _restricted(p, table, column):
                        open_by.setdefault(p.name, []).append(command)
            if not open_by:
                continue
            which = "; ".join(f"{quote_ident(n)} ({', '.join(c)})" for n, c in open_by.items())
            message = (f"tenant table {table_name(table)} (column {quote_ident(column)}) has "
                       f"policies that do not restrict by {quote_ident(column)}: {which}; "
                       "rows cross tenants")
            fix = _membership_fix(snapshot, table, column, ctx, self.id)
            if isinstance(fix, str):
                yield self.finding(f"{message}; {fix}", object=table_name(table))
            else:
                yield self.finding(message, object=table_name(table), fix=fix[0],
                                   fix_down=fix[1])
