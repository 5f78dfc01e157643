"""Row-level security switched off, half set up, or doubled, read from the catalog.

Family E ("Security and row-level security") of the rule catalogue: the offline
counterparts of Supabase splinter's lints 0013, 0008, 0007 and 0006, which run on
any PostgreSQL, Supabase or not. Which schemas API requests reach, and which roles
they run as, comes from :mod:`pgkeel.lint.rules._access`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Policy, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._access import (
    API_ROLES_OPTION,
    EXPOSED_SCHEMAS_OPTION,
    api_roles,
    exposed_schemas,
    grantee_of,
    managed,
)
from pgkeel.lint.rules._catalog import ident, qualified_ident, quote_ident, table_name
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "MultiplePermissivePolicies",
    "PolicyExistsRlsDisabled",
    "RlsDisabledInExposedSchema",
    "RlsEnabledNoPolicy",
]

# The privileges row-level security governs (PostgreSQL docs, "Row Security Policies").
DML = ("SELECT", "INSERT", "UPDATE", "DELETE")
_COMMANDS = DML


def _policy_list(policies: tuple[Policy, ...]) -> str:
    return ", ".join(quote_ident(p.name) for p in policies)


def api_access(snapshot: Snapshot, roles: tuple[str, ...], table: Table
               ) -> dict[str, dict[str, str]]:
    """``{role: {privilege: grantee}}``: the DML each API role holds on ``table``, and how."""
    access: dict[str, dict[str, str]] = {}
    for role in roles:
        held = {p: g for p in DML if (g := grantee_of(snapshot, role, table.grants, p))}
        if held:
            access[role] = held
    return access


class RlsDisabledInExposedSchema(SchemaRule):
    """Enable row-level security on every table API requests can reach.

    A table in an exposed schema (option `exposed_schemas`; by default every schema
    the `anon` or `authenticated` role may `USAGE`, Supabase's own schemas aside;
    option `api_roles` names other roles) is reported when row-level security is off
    and an API role holds `SELECT`, `INSERT`, `UPDATE` or `DELETE` on it. A table
    with policies but RLS off is `policy-exists-rls-disabled`'s.

    Why
    ---
    PostgREST (and so Supabase's Data API) runs every request as `anon` or
    `authenticated`; with RLS off, those roles' grants are the only check, so anyone
    holding the public API key reads and writes every row. Supabase grants these
    roles all privileges on new tables in `public` by default. Severity `error`, as
    in splinter.

    Bad
    ---
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, body text);
    GRANT SELECT, INSERT ON notes TO anon;
    ```

    Good
    ----
    ```sql
    DO $$ BEGIN CREATE ROLE anon NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
    DO $$ BEGIN EXECUTE format('GRANT USAGE ON SCHEMA %I TO anon', current_schema()); END $$;
    CREATE TABLE notes (id bigint PRIMARY KEY, body text, public boolean NOT NULL);
    GRANT SELECT ON notes TO anon;
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_read ON notes FOR SELECT TO anon USING (public);
    ```

    Notes
    -----
    The fix revokes the privileges the API roles hold directly (`fix_down` grants
    them back): it closes the hole without guessing a policy. To serve the table
    through the API, enable RLS and write policies instead
    (`ALTER TABLE ... ENABLE ROW LEVEL SECURITY; CREATE POLICY ...`). When access
    comes through `PUBLIC` or another role, no fix is printed: revoking there
    would touch other roles. A table no API role may touch is not reported, nor is
    one in a schema no API role may use: requests cannot reach it.

    References
    ----------
    - Supabase splinter `0013_rls_disabled_in_public`; Supabase docs, "Row Level
      Security" ("RLS must always be enabled on any tables stored in an exposed
      schema").
    - PostgreSQL docs, "Row Security Policies" (5.9); "Privileges" (5.8); "GRANT".
    - PostgREST docs, "Authentication" (role switching), "Schemas".
    """

    id = "rls-disabled-in-exposed-schema"
    options: ClassVar[dict[str, RuleOption]] = {
        "api_roles": API_ROLES_OPTION,
        "exposed_schemas": EXPOSED_SCHEMAS_OPTION,
    }
    severity = Severity.ERROR
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0013_rls_disabled_in_public"
    upstream = ("splinter:0013_rls_disabled_in_public",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        exposed = exposed_schemas(ctx, self.id)
        roles = api_roles(ctx, self.id)
        for table in snapshot.tables:
            if table.schema not in exposed or table.rls_enabled or table.policies:
                continue
            access = api_access(snapshot, roles, table)
            if not access:
                continue
            held = "; ".join(f"{quote_ident(r)} may {', '.join(p)}" for r, p in access.items())
            name = table_name(table)
            message = (f"table {name} is in exposed schema {quote_ident(table.schema)} with "
                       f"row-level security disabled ({held}): every API request reads and "
                       "writes every row")
            indirect = sorted({g for r, p in access.items() for g in p.values() if g != r})
            if indirect:
                yield self.finding(
                    f"{message}; access comes through {', '.join(indirect)}, so enable RLS "
                    "and write policies (no fix printed: a REVOKE there touches other roles)",
                    object=name)
                continue
            target = qualified_ident(table.schema, table.name)
            direct = {r: next(g.privileges for g in table.grants if g.grantee == r)
                      for r in access}
            yield self.finding(
                f"{message}; the fix withdraws the API roles' privileges until RLS and "
                "policies are written",
                object=name,
                fix="\n".join(f"REVOKE {', '.join(p)} ON {target} FROM {ident(r)}; -- or "
                              "ENABLE ROW LEVEL SECURITY and write policies"
                              for r, p in direct.items()),
                fix_down="\n".join(f"GRANT {', '.join(p)} ON {target} TO {ident(r)};"
                                   for r, p in direct.items()),
            )


class RlsEnabledNoPolicy(SchemaRule):
    """Give a table with row-level security enabled at least one policy.

    Reports a table (Supabase's own schemas aside) whose RLS is on and that has no
    policy at all.

    Why
    ---
    With RLS on and no policy, PostgreSQL applies default deny: every role but the
    owner (and roles with `BYPASSRLS`) sees no rows and can change none. That is
    safe, and often a half-finished migration: the API returns empty results and no
    error. Severity `info`, as in splinter: it is secure, just probably not meant.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
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
    No fix: the policy's condition is yours to write. A table that only its owner
    or a `BYPASSRLS` role uses can keep default deny on purpose; ignore it with
    `[check] ignore`.

    References
    ----------
    - Supabase splinter `0008_rls_enabled_no_policy`.
    - PostgreSQL docs, "Row Security Policies" (5.9: "If no policy exists for the
      table, a default-deny policy is used").
    """

    id = "rls-enabled-no-policy"
    severity = Severity.INFO
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0008_rls_enabled_no_policy"
    upstream = ("splinter:0008_rls_enabled_no_policy",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in ctx.snapshot.tables:
            if table.rls_enabled and not table.policies and not managed(table.schema):
                yield self.finding(
                    f"table {table_name(table)} has row-level security enabled but no "
                    "policy: every role but its owner sees no rows (default deny)",
                    object=table_name(table))


class PolicyExistsRlsDisabled(SchemaRule):
    """Enable row-level security on a table that has policies.

    Reports a table (Supabase's own schemas aside) with policies whose RLS is off.

    Why
    ---
    Policies do nothing until `ALTER TABLE ... ENABLE ROW LEVEL SECURITY`: the
    table looks protected in every review, and every role with a grant reads every
    row. Severity `error`, as in splinter.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL);
    CREATE POLICY notes_owner ON notes
      USING (owner_id = (SELECT current_setting('app.user_id')::bigint));
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
    The fix enables RLS (`fix_down` disables it again). From then on the policies
    decide what each role sees: review them first, since a role no policy names sees
    nothing.

    References
    ----------
    - Supabase splinter `0007_policy_exists_rls_disabled`.
    - PostgreSQL docs, "Row Security Policies" (5.9); "ALTER TABLE" (ENABLE ROW
      LEVEL SECURITY).
    """

    id = "policy-exists-rls-disabled"
    severity = Severity.ERROR
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0007_policy_exists_rls_disabled"
    upstream = ("splinter:0007_policy_exists_rls_disabled",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in ctx.snapshot.tables:
            if table.rls_enabled or not table.policies or managed(table.schema):
                continue
            target = qualified_ident(table.schema, table.name)
            yield self.finding(
                f"table {table_name(table)} has policies ({_policy_list(table.policies)}) "
                "but row-level security is disabled: they are not enforced",
                object=table_name(table),
                fix=f"ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;",
                fix_down=f"ALTER TABLE {target} DISABLE ROW LEVEL SECURITY;",
            )


class MultiplePermissivePolicies(SchemaRule):
    """Merge permissive policies that apply to the same role and command.

    For each table (Supabase's own schemas aside), each role a policy names (and
    `public`, which every role is a member of) and each command, reports when two or
    more PERMISSIVE policies apply: their conditions are ORed. Roles that bypass RLS
    are skipped. One finding per table lists every such role and command.

    Why
    ---
    Every permissive policy that applies is evaluated for every row, and any one of
    them passing lets the row through: two of them cost twice, and the table is as
    open as the loosest. Often an old policy was left behind when a new one was
    added. Severity `warning`, as in splinter.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL, shared boolean);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_owner ON notes FOR SELECT
      USING (owner_id = (SELECT current_setting('app.user_id')::bigint));
    CREATE POLICY notes_shared ON notes FOR SELECT USING (shared);
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (id bigint PRIMARY KEY, owner_id bigint NOT NULL, shared boolean);
    ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
    CREATE POLICY notes_read ON notes FOR SELECT
      USING (shared OR owner_id = (SELECT current_setting('app.user_id')::bigint));
    ```

    Notes
    -----
    No fix: merge the conditions into one policy with `OR`, or make the narrowing
    ones `AS RESTRICTIVE`. Role membership other than `public` is not followed: a
    policy `TO authenticated` beside one `TO app_user` (a member of
    `authenticated`) is not reported.

    References
    ----------
    - Supabase splinter `0006_multiple_permissive_policies`; Supabase docs, "Row
      Level Security", RLS performance recommendations.
    - PostgreSQL docs, "CREATE POLICY" (Notes: permissive policies are combined with
      OR, restrictive ones with AND).
    """

    id = "multiple-permissive-policies"
    severity = Severity.WARNING
    checklist = checklist_items.RLS
    object_kind = "table"
    docs_url = "https://supabase.com/docs/guides/database/database-linter?lint=0006_multiple_permissive_policies"
    upstream = ("splinter:0006_multiple_permissive_policies",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        bypass = {r.name for r in ctx.snapshot.roles if r.bypass_rls or r.superuser}
        for table in ctx.snapshot.tables:
            if managed(table.schema):
                continue
            permissive = [p for p in table.policies if p.permissive]
            roles = sorted({r for p in permissive for r in p.roles} - bypass)
            groups = []
            for role in roles:
                for command in _COMMANDS:
                    applies = [p.name for p in permissive
                               if p.command in ("ALL", command)
                               and (role in p.roles or "public" in p.roles)]
                    if len(applies) > 1:
                        groups.append(f"{quote_ident(role)} {command}: "
                                      f"{', '.join(quote_ident(n) for n in applies)}")
            if groups:
                yield self.finding(
                    f"table {table_name(table)} has several permissive policies for one "
                    f"role and command, ORed and each evaluated per row ({'; '.join(groups)})",
                    object=table_name(table))
