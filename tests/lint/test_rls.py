"""Row-level security rules on a Supabase-like database (tests/lint/supabase.py).

rls-disabled-in-exposed-schema, rls-enabled-no-policy, policy-exists-rls-disabled,
multiple-permissive-policies: each a true and a false case on a real database, and
every fix applied with psql and re-checked (``prove_fixes``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rule_helpers import findings, prove_fixes
from supabase import install_supabase

from pgkeel.catalog import snapshot
from pgkeel.lint import lint_snapshot
from pgkeel.lint.context import CheckConfig
from pgkeel.testing import TestDatabase

EXPOSED = """
CREATE TABLE public.open_notes (id bigint PRIMARY KEY, body text);
CREATE TABLE public.guarded (id bigint PRIMARY KEY, owner uuid);
ALTER TABLE public.guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY guarded_owner ON public.guarded TO authenticated
  USING (owner = (SELECT auth.uid()));
CREATE TABLE public.revoked (id bigint PRIMARY KEY);
REVOKE ALL ON public.revoked FROM anon, authenticated;
CREATE SCHEMA private;
CREATE TABLE private.hidden (id bigint PRIMARY KEY);
GRANT SELECT ON private.hidden TO anon;
CREATE SCHEMA shared;
GRANT USAGE ON SCHEMA shared TO authenticated;
CREATE TABLE shared.via_public (id bigint PRIMARY KEY);
GRANT SELECT ON shared.via_public TO PUBLIC;
INSERT INTO public.open_notes VALUES (1, 'a'), (2, NULL);
INSERT INTO public.revoked VALUES (1);
"""


def test_rls_disabled_in_exposed_schema(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = findings(pg_database, "rls-disabled-in-exposed-schema", EXPOSED)
    # guarded has RLS, revoked has no API grant, private is not USAGE-able by anon
    assert set(found) == {"public.open_notes", "shared.via_public"}
    message = found["public.open_notes"].message
    assert "anon may SELECT, INSERT, UPDATE, DELETE" in message
    assert found["shared.via_public"].fix is None
    assert "through PUBLIC" in found["shared.via_public"].message


def test_rls_disabled_in_exposed_schema_fix(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    fixed = prove_fixes(pg_database, "rls-disabled-in-exposed-schema", """
        CREATE TABLE public.open_notes (id bigint PRIMARY KEY, body text);
        INSERT INTO public.open_notes VALUES (1, 'a'), (2, NULL);
    """, tmp_path)
    assert set(fixed) == {"public.open_notes"}
    privilege = "SELECT has_table_privilege('anon', 'public.open_notes', 'SELECT')"
    with pg_database.connect() as conn:
        assert conn.execute(privilege).fetchone() == (False,)
        conn.execute(fixed["public.open_notes"].fix_down or "")
        assert conn.execute(privilege).fetchone() == (True,)
    assert "public.open_notes" in findings(pg_database, "rls-disabled-in-exposed-schema")


def test_exposed_schemas_option_and_no_api_roles(pg_database: TestDatabase) -> None:
    install_supabase(pg_database)
    with pg_database.connect() as conn:
        conn.execute(EXPOSED)
        snap = snapshot(conn)
    rule = "rls-disabled-in-exposed-schema"
    only_private = CheckConfig(options={rule: {"exposed_schemas": ["private"]}})
    assert [f.object for f in lint_snapshot(snap, [rule], only_private)] == ["private.hidden"]
    # Without the API roles (a database that is no Supabase), nothing is exposed.
    no_roles = replace(snap, roles=tuple(r for r in snap.roles
                                         if r.name not in ("anon", "authenticated")))
    assert lint_snapshot(no_roles, [rule]) == ()


POLICIES = """
CREATE TABLE notes (id bigint PRIMARY KEY, owner uuid, shared boolean);
CREATE POLICY notes_owner ON notes TO authenticated USING (owner = (SELECT auth.uid()));
CREATE TABLE locked (id bigint PRIMARY KEY);
ALTER TABLE locked ENABLE ROW LEVEL SECURITY;
CREATE TABLE fine (id bigint PRIMARY KEY, owner uuid);
ALTER TABLE fine ENABLE ROW LEVEL SECURITY;
CREATE POLICY fine_owner ON fine TO authenticated USING (owner = (SELECT auth.uid()));
CREATE TABLE auth.internal (id bigint PRIMARY KEY);
ALTER TABLE auth.internal ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON notes FROM anon;  -- no policy for anon: keep grants-without-policy quiet
INSERT INTO notes VALUES (1, NULL, true);
"""


def test_rls_enabled_no_policy(pg_database: TestDatabase) -> None:
    install_supabase(pg_database)
    found = findings(pg_database, "rls-enabled-no-policy", POLICIES)
    assert set(found) == {"public.locked"}  # auth is Supabase's own
    assert found["public.locked"].fix is None


def test_policy_exists_rls_disabled(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "policy-exists-rls-disabled", POLICIES, tmp_path)
    assert set(found) == {"public.notes"}
    assert "notes_owner" in found["public.notes"].message
    with pg_database.connect() as conn:
        conn.execute(found["public.notes"].fix_down or "")
    assert set(findings(pg_database, "policy-exists-rls-disabled")) == {"public.notes"}


def test_multiple_permissive_policies(pg_database: TestDatabase) -> None:
    install_supabase(pg_database)
    found = findings(pg_database, "multiple-permissive-policies", """
        CREATE TABLE t (id bigint PRIMARY KEY, owner uuid, shared boolean);
        ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY t_own ON t TO authenticated USING (owner = (SELECT auth.uid()));
        CREATE POLICY t_shared ON t FOR SELECT USING (shared);
        CREATE POLICY t_anon_insert ON t FOR INSERT TO anon WITH CHECK (false);
        CREATE POLICY t_guard ON t AS RESTRICTIVE FOR SELECT TO authenticated USING (true);
        CREATE POLICY t_service ON t TO service_role USING (true);
        CREATE POLICY t_service2 ON t FOR SELECT TO service_role USING (true);
        CREATE TABLE u (id bigint PRIMARY KEY, owner uuid);
        ALTER TABLE u ENABLE ROW LEVEL SECURITY;
        CREATE POLICY u_read ON u FOR SELECT TO authenticated USING (owner = (SELECT auth.uid()));
        CREATE POLICY u_write ON u FOR UPDATE TO authenticated USING (owner = (SELECT auth.uid()));
    """)
    assert set(found) == {"public.t"}
    # t_own (ALL) and t_shared (public, SELECT) both apply to authenticated SELECT;
    # service_role bypasses RLS; the restrictive guard narrows, it does not OR.
    assert found["public.t"].message.endswith("(authenticated SELECT: t_own, t_shared)")
