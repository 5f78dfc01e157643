"""rls-disabled-tenant-table: severity from evidence that the database relies on RLS; a fix
only when the objects it uses exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_helpers import checked, run_script
from rule_helpers import findings, prove_fixes

from pgkeel.testing import TestDatabase

APP_ISOLATED = """
CREATE TABLE organizations (id bigint PRIMARY KEY);
CREATE TABLE invoices (id bigint PRIMARY KEY, organization_id bigint NOT NULL, total int);
INSERT INTO organizations VALUES (1);
INSERT INTO invoices VALUES (1, 1, 10);
"""


def _supabase_roles(db: TestDatabase) -> bool:
    with db.connect() as conn:
        return bool(conn.execute("SELECT count(*) FROM pg_roles WHERE rolname IN "
                                 "('anon', 'authenticated')").fetchone() != (0,))


def test_rls_without_evidence_is_info(pg_database: TestDatabase) -> None:
    if _supabase_roles(pg_database):
        pytest.skip("another test left Supabase's roles in this cluster")
    found = findings(pg_database, "rls-disabled-tenant-table", APP_ISOLATED)
    invoices = found["public.invoices"]
    assert invoices.severity == "info"
    assert invoices.fix is None  # organization_members and auth.uid() do not exist
    assert invoices.message == (
        "table public.invoices has a tenant column (organization_id) but row-level security "
        "is disabled: every role that can read it sees all tenants (info: nothing shows the "
        "database relies on row-level security: no policy, no auth schema, no anon or "
        'authenticated role; set option rls = "required" if it must); no fix: the policy '
        "it needs reads public.organization_members(organization_id, user_id) and "
        "auth.uid(), which do not exist: create public.organization_members "
        "(organization_id, user_id) and a function auth.uid() returning the signed-in "
        "user's id (Supabase provides it), or write a policy on your own session setting, "
        "e.g. USING (organization_id = current_setting('app.organization_id')::bigint)")
    # the team says RLS is required: an error, still without a broken fix
    required = checked(pg_database, "rls-disabled-tenant-table", rls="required")
    assert required["public.invoices"].severity == "error"
    assert 'relies on row-level security: option rls = "required")' in (
        required["public.invoices"].message)
    assert required["public.invoices"].fix is None


def test_rls_supabase_roles_are_evidence(pg_database: TestDatabase) -> None:
    created = []
    with pg_database.connect() as conn:
        for role in ("anon", "authenticated"):
            if conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s",
                            [role]).fetchone() == (0,):
                conn.execute(f"CREATE ROLE {role}")
                created.append(role)
    try:
        found = findings(pg_database, "rls-disabled-tenant-table", APP_ISOLATED)
        assert found["public.invoices"].severity == "error"
        assert "roles anon, authenticated" in found["public.invoices"].message
    finally:
        with pg_database.connect() as conn:
            for role in created:
                conn.execute(f"DROP ROLE {role}")


SUPABASE = """
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
  $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
CREATE TABLE organization_members (organization_id bigint NOT NULL, user_id uuid NOT NULL,
                                   PRIMARY KEY (organization_id, user_id));
CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL, name text);
CREATE TABLE tasks (id bigint PRIMARY KEY, organization_id bigint NOT NULL, title text);
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
INSERT INTO organization_members VALUES (1, '00000000-0000-0000-0000-000000000001'),
                                        (2, '00000000-0000-0000-0000-000000000002');
INSERT INTO projects VALUES (1, 1, 'one'), (2, 2, 'two');
INSERT INTO tasks VALUES (1, 1, 't1'), (2, 2, 't2');
"""


def test_rls_fix_where_its_objects_exist(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "rls-disabled-tenant-table", SUPABASE, tmp_path)
    assert set(found) == {"public.organization_members", "public.projects", "public.tasks"}
    assert all(f.severity == "error" for f in found.values())
    assert found["public.tasks"].fix == (
        'CREATE POLICY "tenant_access" ON "public"."tasks" FOR ALL USING ("organization_id" '
        "IN (SELECT organization_id FROM public.organization_members WHERE user_id = "
        "(SELECT auth.uid())));\n"
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "tasks_organization_id_idx" ON '
        '"public"."tasks" ("organization_id");\n'
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "organization_members_user_id_idx" ON '
        '"public"."organization_members" ("user_id");')
    # what the policies do, seen by a role that does not own the tables
    role = f"member_{pg_database.name}"
    with pg_database.connect() as conn:
        conn.execute(f"CREATE ROLE {role}")
        try:
            conn.execute(f"GRANT USAGE ON SCHEMA auth TO {role};"
                         f"GRANT SELECT ON projects, tasks, organization_members TO {role};"
                         "SELECT set_config('request.jwt.claim.sub', "
                         "'00000000-0000-0000-0000-000000000002', false);"
                         f"SET ROLE {role}")
            assert conn.execute("SELECT name FROM projects").fetchall() == [("two",)]
            assert conn.execute("SELECT title FROM tasks").fetchall() == [("t2",)]
        finally:
            conn.execute(f"RESET ROLE; DROP OWNED BY {role}; DROP ROLE {role}")
    run_script(pg_database, "\n".join(f.fix_down or "" for f in found.values()), tmp_path)
    assert set(findings(pg_database, "rls-disabled-tenant-table")) == set(found)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT relname FROM pg_class WHERE relrowsecurity").fetchall() == [
            ("tasks",)]


def test_rls_no_fix_on_mismatched_types(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "rls-disabled-tenant-table", """
        CREATE SCHEMA auth;
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid';
        CREATE TABLE organization_members (organization_id bigint, user_id bigint);
        CREATE TABLE projects (id bigint PRIMARY KEY, organization_id uuid);
    """)
    assert found["public.projects"].fix is None
    assert found["public.projects"].message.endswith(
        "no fix: organization_id is uuid but organization_members.organization_id is bigint")
    assert found["public.organization_members"].message.endswith(
        "no fix: organization_members.user_id is bigint but auth.uid() returns uuid")
