"""Migration rules, catalogue section E (policy expressions): what a policy evaluates per
row, which policies OR together, and which claims it trusts.

Policies earlier in the file and, with a database, in the live catalog count. RLS
state, views and grants are in :mod:`.rls`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import dotted, policies_in, role_names, walk
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity


def _calls_per_row(expr: ast.Node | None, functions: set[str]) -> set[str]:
    """The ``functions`` ``expr`` calls outside sub-selects (so once per row)."""
    found: set[str] = set()
    for item in walk(expr, prune=(ast.SubLink,)):
        if isinstance(item, ast.FuncCall):
            name = dotted(item.funcname)
            if name in functions or name.removeprefix("pg_catalog.") in functions:
                found.add(name)
    return found


class RlsInitplan(MigrationRule):
    """A policy calls a per-query constant function once per row.

    Why
    ---
    ``current_setting()`` (or Supabase's ``auth.uid()``) in a policy is evaluated for
    every row; wrapped in a scalar sub-select it becomes an InitPlan evaluated once
    (measured: 1,000 calls for 1,000 rows against 1). Option ``functions``.

    Bad
    ---
    ```sql
    CREATE POLICY t_tenant ON t USING (tenant_id = current_setting('app.tenant_id')::bigint);
    ```

    Good
    ----
    ```sql
    CREATE POLICY t_tenant ON t
      USING (tenant_id = (SELECT current_setting('app.tenant_id')::bigint));
    ```

    References
    ----------
    - https://supabase.com/docs/guides/database/database-linter?lint=0003_auth_rls_initplan
    - splinter: 0003 auth_rls_initplan
    """

    id = "rls-initplan"
    severity = Severity.WARNING
    object_kind = "policy"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0003_auth_rls_initplan"
    upstream = ("splinter:auth_rls_initplan",)
    options: ClassVar = {"functions": RuleOption(
        list[str], "functions constant within a query",
        ["current_setting", "auth.uid", "auth.jwt", "auth.role", "auth.email"])}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatePolicyStmt, ast.AlterPolicyStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt)
        functions = set(ctx.option(self.id, "functions", self.options["functions"].default))
        calls = _calls_per_row(node.qual, functions) | _calls_per_row(node.with_check, functions)
        if calls:
            table = ctx.qualify(node.table)
            yield self.at(statement, ctx, f"policy {node.policy_name} on {table} calls "
                          f"{', '.join(sorted(calls))} once per row", object=table,
                          fix="wrap each call in a sub-select: (SELECT current_setting(...))")


def _commands_overlap(a: str, b: str) -> bool:
    return a == b or "all" in (a, b)


class MultiplePermissivePoliciesDdl(MigrationRule):
    """A second PERMISSIVE policy for the same table, role and command.

    Why
    ---
    Permissive policies combine with OR: access is wider than either says, and every
    one is evaluated for every row ("CREATE POLICY", Notes).

    Bad
    ---
    ```sql
    CREATE POLICY p1 ON t FOR SELECT USING (owner_id = 1);
    CREATE POLICY p2 ON t FOR SELECT USING (a > 50);
    ```

    Good
    ----
    ```sql
    CREATE POLICY p1 ON t FOR SELECT USING (owner_id = 1);
    CREATE POLICY p2 ON t AS RESTRICTIVE FOR SELECT USING (a > 50);
    ```

    Notes
    -----
    Earlier policies of the file and the live catalog's count. The schema linter's
    ``multiple-permissive-policies`` judges existing tables.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createpolicy.html
    - splinter: 0006 multiple_permissive_policies
    """

    id = "multiple-permissive-policies-ddl"
    severity = Severity.WARNING
    object_kind = "policy"
    docs_url = "https://www.postgresql.org/docs/current/sql-createpolicy.html"
    upstream = ("splinter:multiple_permissive_policies",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatePolicyStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreatePolicyStmt)
        if not node.permissive:
            return
        table = ctx.qualify(node.table)
        roles = role_names(node.roles)
        others = [(p.policy_name, p.cmd_name, role_names(p.roles)) for _, _, p in policies_in(ctx)
                  if p.permissive and ctx.qualify(p.table) == table]
        found = ctx.catalog.table(table) if ctx.catalog else None
        others += [(p.name, p.command.lower(), set(p.roles) or {"public"})
                   for p in (found.policies if found else ()) if p.permissive]
        clash = sorted({name or "" for name, cmd, their in others
                        if name != node.policy_name
                        and _commands_overlap(cmd or "all", node.cmd_name or "all")
                        and ("public" in roles | their or roles & their)})
        if clash:
            yield self.at(statement, ctx, f"policy {node.policy_name} is a second permissive "
                          f"policy on {table} for the same command and roles as "
                          f"{', '.join(clash)}: they OR together", object=table,
                          fix="merge them, or make the extra ones AS RESTRICTIVE")


def _always_true(expr: ast.Node | None) -> bool:
    if isinstance(expr, ast.A_Const) and isinstance(expr.val, ast.Boolean):
        return bool(expr.val.boolval)
    if isinstance(expr, ast.A_Expr) and expr.name and expr.name[-1].sval == "=" \
            and isinstance(expr.lexpr, ast.A_Const) and isinstance(expr.rexpr, ast.A_Const):
        return expr.lexpr.val == expr.rexpr.val and not expr.lexpr.isnull
    return False


class RlsPolicyAlwaysTrue(MigrationRule):
    """A write policy whose USING or WITH CHECK is constant true.

    Why
    ---
    ``USING (true)`` on INSERT, UPDATE, DELETE or ALL makes row-level security a
    formality for writes (splinter 0024; SELECT policies are exempt, as there).

    Bad
    ---
    ```sql
    CREATE POLICY t_upd ON t FOR UPDATE USING (true);
    ```

    Good
    ----
    ```sql
    CREATE POLICY t_read ON t FOR SELECT USING (true);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createpolicy.html
    - splinter: 0024 rls_policy_always_true
    """

    id = "rls-policy-always-true"
    severity = Severity.WARNING
    object_kind = "policy"
    docs_url = "https://www.postgresql.org/docs/current/sql-createpolicy.html"
    upstream = ("splinter:rls_policy_always_true",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatePolicyStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreatePolicyStmt)
        if node.cmd_name != "select" and (_always_true(node.qual)
                                          or _always_true(node.with_check)):
            table = ctx.qualify(node.table)
            yield self.at(statement, ctx, f"policy {node.policy_name} on {table} lets every row "
                          f"through for {(node.cmd_name or 'all').upper()}", object=table,
                          fix="a real predicate (owner, tenant, membership)")


class RlsUsesClientWritableClaims(MigrationRule):
    """A policy reads claims the end user can edit (Supabase user_metadata).

    Why
    ---
    ``user_metadata`` in a Supabase JWT is writable by the user it describes: a policy
    that trusts it lets users grant themselves access (splinter 0015). Option
    ``paths``.

    Bad
    ---
    ```sql
    CREATE POLICY t_admin ON t USING (
      (current_setting('request.jwt.claims', true)::jsonb -> 'user_metadata' ->> 'role') = 'admin');
    ```

    Good
    ----
    ```sql
    CREATE POLICY t_admin ON t USING (
      (current_setting('request.jwt.claims', true)::jsonb -> 'app_metadata' ->> 'role') = 'admin');
    ```

    References
    ----------
    - https://supabase.com/docs/guides/database/database-linter?lint=0015_rls_references_user_metadata
    - splinter: 0015 rls_references_user_metadata
    """

    id = "rls-uses-client-writable-claims"
    severity = Severity.ERROR
    object_kind = "policy"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0015_rls_references_user_metadata"
    upstream = ("splinter:rls_references_user_metadata",)
    options: ClassVar = {"paths": RuleOption(list[str], "claim names the user can write",
                                             ["user_metadata"])}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatePolicyStmt, ast.AlterPolicyStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt)
        paths = list(ctx.option(self.id, "paths", ["user_metadata"]))
        texts = [n.val.sval or "" for n in walk((node.qual, node.with_check))
                 if isinstance(n, ast.A_Const) and isinstance(n.val, ast.String)]
        used = sorted({p for p in paths for t in texts if p in t})
        if used:
            table = ctx.qualify(node.table)
            yield self.at(statement, ctx, f"policy {node.policy_name} on {table} trusts "
                          f"{', '.join(used)}, which users can edit themselves", object=table,
                          fix="use server-controlled claims (app_metadata) or a membership table")

