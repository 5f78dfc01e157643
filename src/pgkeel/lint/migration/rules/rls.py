"""Migration rules, catalogue section E (row-level security and exposure): tables,
views, policies and grants that API roles reach.

Exposed schemas and API roles come from options (``exposed_schemas``, default
``["api"]``; ``api_roles``, default Supabase's ``anon`` and ``authenticated``), since a
migration file does not say which schemas PostgREST serves. RLS state is what the file
does (``ENABLE``/``FORCE ROW LEVEL SECURITY``, ``CREATE POLICY``, before or after the
statement) plus, with a database, the live catalog. Rules on policy expressions are in
:mod:`.policies`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import function_name, policies_in, role_names, walk
from pgkeel.lint.migration.rules.security import is_security_definer
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
OT = enums.ObjectType

EXPOSED = RuleOption(list[str], "schemas the API exposes", ["api"])
API_ROLES = RuleOption(list[str], "roles the API uses", ["anon", "authenticated"])


def _alters(ctx: MigrationContext, table: str, subtype: AT) -> bool:
    """True when any statement of the section runs ``ALTER TABLE table <subtype>``."""
    return any(isinstance(s.node, ast.AlterTableStmt) and ctx.qualify(s.node.relation) == table
               and any(c.subtype == subtype for c in s.node.cmds or ())
               for s in ctx.earlier)


def _rls_enabled(ctx: MigrationContext, table: str, before: int | None = None) -> bool:
    """RLS on ``table``: enabled by the section (by its first ``before`` statements when
    given) or in the live catalog."""
    statements = ctx.earlier if before is None else ctx.earlier[:before]
    if any(isinstance(s.node, ast.AlterTableStmt) and ctx.qualify(s.node.relation) == table
           and any(c.subtype == AT.AT_EnableRowSecurity for c in s.node.cmds or ())
           for s in statements):
        return True
    found = ctx.catalog.table(table) if ctx.catalog else None
    return bool(found and found.rls_enabled)


class ViewBypassesRls(MigrationRule):
    """A view in an exposed schema reads RLS tables with its owner's rights.

    Why
    ---
    A view runs its query as the view owner, so row-level security policies of the
    tables underneath are checked against the owner, not the API user, unless the view
    has ``security_invoker = on`` (PostgreSQL 15+; "CREATE VIEW"). Measured: the view
    returned 1,000 rows where the policy allowed 100.

    Bad
    ---
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    CREATE VIEW api.t_v AS SELECT * FROM t;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    CREATE VIEW api.t_v WITH (security_invoker = on) AS SELECT * FROM t;
    ```

    Notes
    -----
    A table counts as under RLS when the file enables it or the live catalog says so.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createview.html
    - splinter: 0010 security_definer_view
    """

    id = "view-bypasses-rls"
    severity = Severity.WARNING
    object_kind = "view"
    docs_url = "https://www.postgresql.org/docs/current/sql-createview.html"
    upstream = ("splinter:security_definer_view",)
    options: ClassVar = {"exposed_schemas": EXPOSED}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.ViewStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.ViewStmt)
        view = ctx.qualify(node.view)
        if view.split(".")[0] not in ctx.option(self.id, "exposed_schemas", ["api"]):
            return
        invoker = any(o.defname == "security_invoker"
                      and str(getattr(o.arg, "sval", getattr(o.arg, "boolval", "on"))).lower()
                      in ("on", "true", "1", "yes")
                      for o in node.options or () if isinstance(o, ast.DefElem))
        if invoker:
            return
        tables = sorted({ctx.qualify(r) for r in walk(node.query) if isinstance(r, ast.RangeVar)
                         and _rls_enabled(ctx, ctx.qualify(r))})
        if tables:
            old = ctx.target_version is not None and ctx.target_version < 150000
            yield self.at(statement, ctx, f"view {view} reads {', '.join(tables)} (under RLS) with "
                          "its owner's rights, so API users bypass the policies", object=view,
                          fix="keep the view out of exposed schemas (security_invoker needs "
                          "PostgreSQL 15)" if old else "CREATE VIEW ... WITH "
                          "(security_invoker = on)")


class RlsDisabledOnExposedTable(MigrationRule):
    """A table created in an exposed schema without ENABLE ROW LEVEL SECURITY.

    Why
    ---
    Every API user who may read the table reads and writes every row (splinter 0013).

    Bad
    ---
    ```sql
    CREATE TABLE api.notes (id bigint PRIMARY KEY, body text);
    ```

    Good
    ----
    ```sql
    CREATE TABLE api.notes (id bigint PRIMARY KEY, body text);
    ALTER TABLE api.notes ENABLE ROW LEVEL SECURITY;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-rowsecurity.html
    - splinter: 0013 rls_disabled_in_public
    """

    id = "rls-disabled-on-exposed-table"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:rls_disabled_in_public",)
    options: ClassVar = {"exposed_schemas": EXPOSED}

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        exposed = ctx.option(self.id, "exposed_schemas", ["api"])
        for statement in ctx.earlier:
            node = statement.node
            if not isinstance(node, ast.CreateStmt) or node.relation is None \
                    or node.relation.relpersistence == "t":
                continue
            table = ctx.qualify(node.relation)
            if table.split(".")[0] in exposed and not _rls_enabled(ctx, table):
                yield self.at(statement, ctx, f"{table} is in an exposed schema without row-level "
                              "security: API users read and write every row", object=table,
                              fix=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY, and add "
                              "policies")


class PolicyExistsRlsDisabledDdl(MigrationRule):
    """CREATE POLICY on a table whose row-level security is off.

    Why
    ---
    Policies are only enforced once ``ENABLE ROW LEVEL SECURITY`` is set on the table
    ("Row Security Policies"); until then they silently do nothing.

    Bad
    ---
    ```sql
    CREATE POLICY t_own ON t USING (owner_id = 1);
    ```

    Good
    ----
    ```sql
    CREATE POLICY t_own ON t USING (owner_id = 1);
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    ```

    Notes
    -----
    Offline, a table whose RLS the file does not enable is assumed off. The schema
    linter's ``policy-exists-rls-disabled`` judges existing tables.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-rowsecurity.html
    - splinter: 0007 policy_exists_rls_disabled
    """

    id = "policy-exists-rls-disabled-ddl"
    severity = Severity.ERROR
    object_kind = "policy"
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:policy_exists_rls_disabled",)

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatePolicyStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        for _, statement, node in policies_in(ctx):
            table = ctx.qualify(node.table)
            if not _rls_enabled(ctx, table):
                yield self.at(statement, ctx, f"policy {node.policy_name} on {table} is not "
                              "enforced: the table's row-level security is off", object=table,
                              fix=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


class RlsEnabledNoPolicyDdl(MigrationRule):
    """ENABLE ROW LEVEL SECURITY with no policy: non-owners see nothing.

    Why
    ---
    With RLS on and no policy, the default is deny ("Row Security Policies"): every
    role but the owner gets no rows, usually by mistake.

    Bad
    ---
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    CREATE POLICY t_own ON t USING (owner_id = 1);
    ```

    Notes
    -----
    Policies in the live catalog count. The schema linter's ``rls-enabled-no-policy``
    judges existing tables.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-rowsecurity.html
    - splinter: 0008 rls_enabled_no_policy
    """

    id = "rls-enabled-no-policy-ddl"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:rls_enabled_no_policy",)

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        with_policy = {ctx.qualify(node.table) for _, _, node in policies_in(ctx)}
        for statement in ctx.earlier:
            node = statement.node
            if not (isinstance(node, ast.AlterTableStmt) and any(
                    c.subtype == AT.AT_EnableRowSecurity for c in node.cmds or ())):
                continue
            table = ctx.qualify(node.relation)
            found = ctx.catalog.table(table) if ctx.catalog else None
            if table not in with_policy and not (found and found.policies):
                yield self.at(statement, ctx, f"row-level security is enabled on {table} with no "
                              "policy: every role but the owner sees no rows", object=table,
                              fix=f"CREATE POLICY ... ON {table}")


class RlsNotForced(MigrationRule):
    """ENABLE ROW LEVEL SECURITY without FORCE: the table owner bypasses the policies.

    Why
    ---
    Policies do not apply to the table's owner unless RLS is forced ("ALTER TABLE",
    FORCE ROW LEVEL SECURITY); an application that connects as the owner sees every
    row (measured).

    Bad
    ---
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ENABLE ROW LEVEL SECURITY;
    ALTER TABLE t FORCE ROW LEVEL SECURITY;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - schemalint: row-level-security (enforced)
    """

    id = "rls-not-forced"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        for statement in ctx.earlier:
            node = statement.node
            if not (isinstance(node, ast.AlterTableStmt) and any(
                    c.subtype == AT.AT_EnableRowSecurity for c in node.cmds or ())):
                continue
            table = ctx.qualify(node.relation)
            found = ctx.catalog.table(table) if ctx.catalog else None
            if not _alters(ctx, table, AT.AT_ForceRowSecurity) and not (found and found.rls_forced):
                yield self.at(statement, ctx, f"row-level security on {table} is not forced: its "
                              "owner bypasses every policy", object=table,
                              fix=f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


class UnprotectableRelationExposed(MigrationRule):
    """SELECT granted to an API role on a materialized view or foreign table.

    Why
    ---
    Row-level security cannot be enabled on materialized views or foreign tables, so
    every row is visible to whoever may select (splinter 0016, 0017). Option
    ``api_roles``; PUBLIC counts too.

    Bad
    ---
    ```sql
    CREATE MATERIALIZED VIEW api.mv2 AS SELECT id FROM t;
    GRANT SELECT ON api.mv2 TO anon;
    ```

    Good
    ----
    ```sql
    CREATE MATERIALIZED VIEW app.mv2 AS SELECT id FROM t;
    REVOKE ALL ON app.mv2 FROM PUBLIC;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-rowsecurity.html
    - splinter: 0016 materialized_view_in_api, 0017 foreign_table_in_api
    """

    id = "unprotectable-relation-exposed"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/ddl-rowsecurity.html"
    upstream = ("splinter:materialized_view_in_api", "splinter:foreign_table_in_api")
    options: ClassVar = {"api_roles": API_ROLES}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.GrantStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.GrantStmt)
        if not node.is_grant or node.objtype != OT.OBJECT_TABLE or not (
                node.privileges is None or any(p.priv_name == "select" for p in node.privileges)):
            return
        api = set(ctx.option(self.id, "api_roles", ["anon", "authenticated"])) | {"public"}
        if not role_names(node.grantees) & api:
            return
        unprotectable = self._unprotectable(ctx)
        for obj in node.objects or ():
            if isinstance(obj, ast.RangeVar) and ctx.qualify(obj) in unprotectable:
                name = ctx.qualify(obj)
                yield self.at(statement, ctx, f"{unprotectable[name]} {name} cannot have row-level "
                              "security, and API roles may now read all of it", object=name,
                              fix=f"REVOKE SELECT ON {name} FROM the API roles; expose it "
                              "through a function or a private schema")

    @staticmethod
    def _unprotectable(ctx: MigrationContext) -> dict[str, str]:
        found: dict[str, str] = {}
        if ctx.catalog is not None:
            found = {f"{v.schema}.{v.name}": "materialized view"
                     for v in ctx.catalog.snapshot.views if v.materialized}
        for s in ctx.earlier:
            node = s.node
            if isinstance(node, ast.CreateTableAsStmt) and node.objtype == OT.OBJECT_MATVIEW:
                if node.into is not None:
                    found[ctx.qualify(node.into.rel)] = "materialized view"
            elif isinstance(node, ast.CreateForeignTableStmt) and node.base is not None:
                found[ctx.qualify(node.base.relation)] = "foreign table"
        return found


def _revoked_from_public(ctx: MigrationContext, name: str, after: int) -> bool:
    """True when a REVOKE ... FROM PUBLIC of function ``name`` (or of all functions
    in its schema) follows statement ``after`` in the section."""
    schema = name.split(".")[0]
    for s in ctx.earlier[after + 1:]:
        node = s.node
        if not (isinstance(node, ast.GrantStmt) and not node.is_grant
                and node.objtype in (OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE)
                and "public" in role_names(node.grantees)):
            continue
        for obj in node.objects or ():
            if isinstance(obj, ast.ObjectWithArgs):
                parts = [p.sval or "" for p in obj.objname or ()]
                qualified = ".".join(parts) if len(parts) > 1 else \
                    f"{ctx.search_path[0] if ctx.search_path else 'public'}.{parts[0]}"
                if qualified == name:
                    return True
            elif isinstance(obj, ast.String) and obj.sval == schema:
                return True
    return False


class SecurityDefinerExecutableByPublicDdl(MigrationRule):
    """A new SECURITY DEFINER function that PUBLIC may execute.

    Why
    ---
    New functions are executable by PUBLIC by default ("Privileges", Table 5.2), so
    anyone who can connect runs the body with the owner's rights, unless the migration
    revokes it.

    Bad
    ---
    ```sql
    CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = ''
      AS $$ SELECT 1 $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = ''
      AS $$ SELECT 1 $$;
    REVOKE EXECUTE ON FUNCTION app.f() FROM PUBLIC;
    ```

    Notes
    -----
    ``REVOKE ... ON ALL FUNCTIONS IN SCHEMA`` counts. The schema linter's
    ``security-definer-executable-by-public`` judges existing functions.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-priv.html
    - splinter: 0028 anon_security_definer_function_executable, 0029
    """

    id = "security-definer-executable-by-public-ddl"
    severity = Severity.WARNING
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/ddl-priv.html"
    upstream = ("splinter:anon_security_definer_function_executable",
                "splinter:authenticated_security_definer_function_executable")

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        for i, statement in enumerate(ctx.earlier):
            node = statement.node
            if not isinstance(node, ast.CreateFunctionStmt) or not is_security_definer(node):
                continue
            name = function_name(node, ctx)
            if not _revoked_from_public(ctx, name, i):
                yield self.at(statement, ctx, f"SECURITY DEFINER function {name} is executable by "
                              "PUBLIC (the default): anyone runs it with the owner's rights",
                              object=name,
                              fix=f"REVOKE EXECUTE ON FUNCTION {name}(...) FROM PUBLIC; grant "
                              "it to the roles that need it")
