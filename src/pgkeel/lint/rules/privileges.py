"""Privileges that undo row-level security: definer views and functions, dead grants.

Family E of the rule catalogue, read from the catalog's ACLs, view options and
function settings (:mod:`pgkeel.catalog._access`): the offline counterparts of
Supabase splinter's 0010, 0011, 0014 and 0028/0029, and of "grants outlive
policies".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

from pgkeel.catalog.model import Function
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._access import (
    API_ROLES_OPTION,
    EXPOSED_SCHEMAS_OPTION,
    api_roles,
    exposed_schemas,
    grantee_of,
    lineage,
    managed,
)
from pgkeel.lint.rules._catalog import ident, object_name, qualified_ident, quote_ident, table_name
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "ExtensionInPublic",
    "FunctionSearchPathMutable",
    "GrantsWithoutPolicy",
    "SecurityDefinerExecutableByPublic",
    "SecurityDefinerView",
]

_TRUE = ("true", "on", "1", "yes")
_DML = ("SELECT", "INSERT", "UPDATE", "DELETE")


def _routine(function: Function) -> str:
    return f"{qualified_ident(function.schema, function.name)}({function.arguments})"


def _function_object(function: Function) -> str:
    return f"{object_name(function.schema, function.name)}({function.arguments})"


def _routines(ctx: CheckContext) -> Iterator[Function]:
    # Aggregates and window functions run no body that a search_path could hijack
    # and take no SET clause.
    return (f for f in ctx.snapshot.functions
            if f.kind in ("function", "procedure") and not managed(f.schema))


class SecurityDefinerView(SchemaRule):
    """Make views that API roles read run with the caller's rights (`security_invoker`).

    On PostgreSQL 15+, reports a view in an exposed schema (see
    `rls-disabled-in-exposed-schema`; options `exposed_schemas`, `api_roles`) that an
    API role may `SELECT` and that lacks `security_invoker = true`.

    Why
    ---
    A view reads its tables with its owner's rights, and the owner (usually the
    migration role) is exempt from row-level security: a view over a protected
    table hands every API caller every row. `security_invoker` (PostgreSQL 15)
    makes the view check the caller's privileges and policies. Severity `warning`:
    the snapshot does not record which tables a view reads, so a view over tables
    without RLS is reported too.

    Bad
    ---
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, body text);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE VIEW note_bodies AS SELECT body FROM notes;
    GRANT SELECT ON note_bodies TO anon;
    ```

    Good
    ----
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, body text);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE VIEW note_bodies WITH (security_invoker = true) AS SELECT body FROM notes;
    GRANT SELECT ON note_bodies TO anon;
    ```

    Notes
    -----
    The fix is `ALTER VIEW ... SET (security_invoker = true)`; `fix_down` resets
    the option (or sets it back to false when it was set so). From then on the
    caller needs `SELECT` on the view's tables too, and sees what their policies
    allow. Materialized views cannot have RLS or `security_invoker` (splinter
    0016 is a separate concern).

    References
    ----------
    - Supabase splinter `0010_security_definer_view`; Supabase docs, "Row Level
      Security" ("Views bypass RLS by default").
    - PostgreSQL docs, "CREATE VIEW" (`security_invoker`); "Row Security Policies".
    """

    id = "security-definer-view"
    options: ClassVar[dict[str, RuleOption]] = {
        "api_roles": API_ROLES_OPTION,
        "exposed_schemas": EXPOSED_SCHEMAS_OPTION,
    }
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "view"
    min_server_version = 150000
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0010_security_definer_view"
    upstream = ("splinter:0010_security_definer_view",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        exposed = exposed_schemas(ctx, self.id)
        roles = api_roles(ctx, self.id)
        for view in snapshot.views:
            if view.materialized or view.schema not in exposed:
                continue
            setting = next((o.partition("=")[2].lower() for o in view.options
                            if o.startswith("security_invoker=")), None)
            if setting in _TRUE:
                continue
            readers = [r for r in roles if grantee_of(snapshot, r, view.grants, "SELECT")]
            if not readers:
                continue
            target = qualified_ident(view.schema, view.name)
            yield self.finding(
                f"view {table_name(view)} runs with its owner's rights, bypassing row-level "
                f"security, and {', '.join(quote_ident(r) for r in readers)} may read it: "
                "set security_invoker so callers see what their policies allow",
                object=table_name(view),
                fix=f"ALTER VIEW {target} SET (security_invoker = true);",
                fix_down=(f"ALTER VIEW {target} SET (security_invoker = false);"
                          if setting is not None else
                          f"ALTER VIEW {target} RESET (security_invoker);"),
            )


class FunctionSearchPathMutable(SchemaRule):
    """Pin the `search_path` of every function, above all `SECURITY DEFINER` ones.

    Reports a function or procedure (not aggregates or window functions; not in
    Supabase's own schemas) with no `search_path` in its `SET` settings
    (`proconfig`). Any pinned value passes, `''` included. Severity `warning` for a
    `SECURITY DEFINER` function, `info` otherwise.

    Why
    ---
    Unqualified names in the body resolve through the caller's `search_path`: a
    caller who can create objects in a schema on it (or in `pg_temp`) can plant a
    table, function or operator that the body then uses. In a `SECURITY DEFINER`
    function that code runs with the owner's rights: privilege escalation. In any
    function, the result depends on who calls it.

    Bad
    ---
    ```sql
    CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER
      AS $$ SELECT current_setting('app.role', true) = 'admin' $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER
      SET search_path = ''
      AS $$ SELECT pg_catalog.current_setting('app.role', true) = 'admin' $$;
    ```

    Notes
    -----
    The fix pins `pg_catalog, <the function's schema>, pg_temp` (`pg_temp` last, as
    the PostgreSQL docs advise), so names in its own schema still resolve;
    `fix_down` resets it. A body that uses unqualified names from another schema
    needs that schema added, or better, its names qualified and `search_path = ''`.
    A SQL function with a `SET` clause is no longer inlined by the planner.

    References
    ----------
    - Supabase splinter `0011_function_search_path_mutable`.
    - PostgreSQL docs, "CREATE FUNCTION", Writing SECURITY DEFINER Functions
      Safely; "ALTER ROUTINE".
    """

    id = "function-search-path-mutable"
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "function"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0011_function_search_path_mutable"
    upstream = ("splinter:0011_function_search_path_mutable",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for function in _routines(ctx):
            if any(c.startswith("search_path=") for c in function.config):
                continue
            kind = "SECURITY DEFINER function" if function.security_definer else function.kind
            finding = self.finding(
                f"{kind} {_function_object(function)} has no pinned search_path: its "
                "unqualified names resolve through the caller's",
                object=_function_object(function),
                fix=f"ALTER ROUTINE {_routine(function)} SET search_path = pg_catalog, "
                    f"{ident(function.schema)}, pg_temp;",
                fix_down=f"ALTER ROUTINE {_routine(function)} RESET search_path;",
            )
            yield finding if function.security_definer else replace(finding,
                                                                   severity=Severity.INFO)


class SecurityDefinerExecutableByPublic(SchemaRule):
    """Revoke `EXECUTE` from `PUBLIC` on `SECURITY DEFINER` functions.

    Reports a `SECURITY DEFINER` function or procedure (not in Supabase's own
    schemas) that `PUBLIC` may execute, as every new function allows by default.

    Why
    ---
    A `SECURITY DEFINER` function runs with its owner's rights and skips the
    caller's row-level security. Executable by `PUBLIC`, every role can call it,
    including `anon` through PostgREST's `/rpc`. Severity `warning`, as in splinter.

    Bad
    ---
    ```sql
    CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER
      SET search_path = ''
      AS $$ SELECT pg_catalog.current_setting('app.role', true) = 'admin' $$;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION is_admin() RETURNS boolean LANGUAGE sql SECURITY DEFINER
      SET search_path = ''
      AS $$ SELECT pg_catalog.current_setting('app.role', true) = 'admin' $$;
    REVOKE EXECUTE ON FUNCTION is_admin() FROM PUBLIC;
    ```

    Notes
    -----
    The fix revokes `EXECUTE` from `PUBLIC` (`fix_down` grants it back); grant it
    to the roles that need it. Grants made to roles directly (Supabase's default
    privileges give `anon` and `authenticated` `EXECUTE` on new functions in
    `public`) stay: the message names them.

    References
    ----------
    - Supabase splinter `0028_anon_security_definer_function_executable`,
      `0029_authenticated_security_definer_function_executable`.
    - PostgreSQL docs, "CREATE FUNCTION" (Writing SECURITY DEFINER Functions
      Safely: "revoke the default PUBLIC privileges"); "Privileges" (5.8).
    """

    id = "security-definer-executable-by-public"
    options: ClassVar[dict[str, RuleOption]] = {
        "api_roles": API_ROLES_OPTION,
    }
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY"
    upstream = ("splinter:0028_anon_security_definer_function_executable",
                "splinter:0029_authenticated_security_definer_function_executable")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        roles = api_roles(ctx, self.id)
        for function in _routines(ctx):
            if not function.security_definer or not any(
                    g.grantee == "PUBLIC" and "EXECUTE" in g.privileges for g in function.grants):
                continue
            direct = [r for r in roles if any(g.grantee == r and "EXECUTE" in g.privileges
                                              for g in function.grants)]
            also = (f"; {', '.join(quote_ident(r) for r in direct)} also hold EXECUTE "
                    "directly: revoke it too if the API must not call it") if direct else ""
            yield self.finding(
                f"SECURITY DEFINER {function.kind} {_function_object(function)} is executable "
                f"by PUBLIC: every role runs it with its owner's rights{also}",
                object=_function_object(function),
                fix=f"REVOKE EXECUTE ON ROUTINE {_routine(function)} FROM PUBLIC;",
                fix_down=f"GRANT EXECUTE ON ROUTINE {_routine(function)} TO PUBLIC;",
            )


class ExtensionInPublic(SchemaRule):
    """Install extensions in their own schema, not `public` or another exposed one.

    Reports an extension (`plpgsql` aside) installed in `public` or in a schema API
    requests reach (see `rls-disabled-in-exposed-schema`; options
    `exposed_schemas`, `api_roles`).

    Why
    ---
    An extension's functions, types and operators in an exposed schema join the
    API surface PostgREST serves, and can shadow, or be shadowed by, the
    application's names. `CREATE EXTENSION` without `SCHEMA` installs into the
    first schema of the `search_path`, usually `public`. Severity `warning`, as in
    splinter.

    Bad
    ---
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE EXTENSION pg_trgm;
    ```

    Good
    ----
    ```sql
    CREATE SCHEMA IF NOT EXISTS extensions;
    CREATE EXTENSION citext SCHEMA extensions;
    ```

    Notes
    -----
    No fix: moving an extension (`ALTER EXTENSION x SET SCHEMA extensions`) works
    only for relocatable ones, and breaks unqualified uses unless `extensions` joins
    the `search_path`; the message gives the commands.

    References
    ----------
    - Supabase splinter `0014_extension_in_public`.
    - PostgreSQL docs, "CREATE EXTENSION" (`SCHEMA`); "ALTER EXTENSION" (`SET SCHEMA`).
    """

    id = "extension-in-public"
    options: ClassVar[dict[str, RuleOption]] = {
        "exposed_schemas": EXPOSED_SCHEMAS_OPTION,
    }
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "extension"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0014_extension_in_public"
    upstream = ("splinter:0014_extension_in_public",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        schemas = exposed_schemas(ctx, self.id) | {"public"}
        for ext in ctx.snapshot.extensions:
            if ext.schema in schemas and ext.name != "plpgsql":
                yield self.finding(
                    f"extension {quote_ident(ext.name)} is installed in schema "
                    f"{quote_ident(ext.schema)}: move it with ALTER EXTENSION "
                    f"{quote_ident(ext.name)} SET SCHEMA extensions (if relocatable) and "
                    "add extensions to search_path",
                    object=f"{object_name(ext.schema)}.{quote_ident(ext.name)}")


class GrantsWithoutPolicy(SchemaRule):
    """Revoke API grants no policy uses on tables with row-level security.

    On a table in an exposed schema with RLS on and at least one policy, reports
    each `SELECT`, `INSERT`, `UPDATE` or `DELETE` an API role (`anon`,
    `authenticated`; option `api_roles`) holds directly when no permissive policy
    for that role (or `public`, or a role it belongs to) covers the command. One
    finding per table. Grants on a table with RLS off are
    `rls-disabled-in-exposed-schema`'s; a table with no policy is
    `rls-enabled-no-policy`'s.

    Why
    ---
    Policies do not revoke grants. The grant does nothing today (RLS denies the
    command), but the day someone adds a permissive policy for that command `TO
    public`, or `FOR ALL` for another purpose, the role can use it at once, and the
    review of that policy does not show the grant. Supabase grants all privileges
    to `anon` and `authenticated` on new tables in `public`. Severity `info`.

    Bad
    ---
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, public boolean NOT NULL);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_read ON notes FOR SELECT TO anon USING (public);
    GRANT SELECT, INSERT, DELETE ON notes TO anon;
    ```

    Good
    ----
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, public boolean NOT NULL);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_read ON notes FOR SELECT TO anon USING (public);
    GRANT SELECT ON notes TO anon;
    ```

    Notes
    -----
    The fix revokes exactly the unused privileges (`fix_down` grants them back).
    Grants through `PUBLIC` or another role are not reported: revoking there touches
    other roles. `TRUNCATE`, `REFERENCES` and `TRIGGER` are not policies' business
    and not reported (PostgREST cannot issue them).

    References
    ----------
    - Supabase docs, "Row Level Security" (Grants and policies); "Securing your
      API".
    - PostgreSQL docs, "Row Security Policies" (5.9); "Privileges" (5.8); "CREATE
      POLICY" (policies applied by command type).
    """

    id = "grants-without-policy"
    options: ClassVar[dict[str, RuleOption]] = {
        "api_roles": API_ROLES_OPTION,
        "exposed_schemas": EXPOSED_SCHEMAS_OPTION,
    }
    severity = Severity.INFO
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://supabase.com/docs/guides/database/postgres/row-level-security"
    upstream = ()

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        exposed = exposed_schemas(ctx, self.id)
        roles = api_roles(ctx, self.id)
        names_of = {role: lineage(snapshot, role) | {"public"} for role in roles}
        for table in snapshot.tables:
            if table.schema not in exposed or not table.rls_enabled or not table.policies:
                continue
            unused: dict[str, list[str]] = {}
            for role in roles:
                names = names_of[role]
                direct = next((g.privileges for g in table.grants if g.grantee == role), ())
                for privilege in _DML:
                    if privilege in direct and not any(
                            p.permissive and p.command in ("ALL", privilege)
                            and names.intersection(p.roles) for p in table.policies):
                        unused.setdefault(role, []).append(privilege)
            if not unused:
                continue
            target = qualified_ident(table.schema, table.name)
            held = "; ".join(f"{quote_ident(r)} {', '.join(p)}" for r, p in unused.items())
            yield self.finding(
                f"table {table_name(table)} has row-level security on but no policy lets "
                f"these grants act ({held}): a later permissive policy would open them",
                object=table_name(table),
                fix="\n".join(f"REVOKE {', '.join(p)} ON {target} FROM {ident(r)};"
                              for r, p in unused.items()),
                fix_down="\n".join(f"GRANT {', '.join(p)} ON {target} TO {ident(r)};"
                                   for r, p in unused.items()),
            )
