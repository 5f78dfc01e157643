"""Policy-expression rules on a Supabase-like database (tests/lint/supabase.py).

auth-function-per-row, policy-uses-user-metadata, policy-column-not-indexed,
tenant-policy-pattern: true and false cases on a real database; every fix applied
with psql and re-checked (``prove_fixes``), and its ``fix_down`` run back.
"""

from __future__ import annotations

from pathlib import Path

from rule_helpers import findings, prove_fixes
from supabase import install_supabase

from pgkeel.testing import TestDatabase

PER_ROW = """
CREATE TABLE notes (id bigint PRIMARY KEY, owner uuid, org bigint, claims jsonb);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY bare_uid ON notes FOR SELECT TO authenticated USING (owner = auth.uid());
CREATE POLICY bare_setting ON notes FOR INSERT
  WITH CHECK (org = current_setting('app.org')::bigint AND owner = auth.uid());
CREATE POLICY bare_jwt ON notes FOR UPDATE
  USING ((auth.jwt() ->> 'role') = 'editor') WITH CHECK (owner IS NOT NULL);
CREATE POLICY wrapped ON notes FOR DELETE USING (owner = (SELECT auth.uid()));
CREATE POLICY per_row_argument ON notes FOR SELECT TO anon
  USING (current_setting(claims ->> 'key', true) IS NOT NULL);
CREATE INDEX ON notes (owner);
INSERT INTO notes VALUES (1, '00000000-0000-0000-0000-000000000001', 7, '{}');
"""


def test_auth_function_per_row(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "auth-function-per-row", PER_ROW, tmp_path)
    assert set(found) == {"public.notes.bare_uid", "public.notes.bare_setting",
                          "public.notes.bare_jwt"}
    assert "calls current_setting(), auth.uid() for every row" in (
        found["public.notes.bare_setting"].message)
    with pg_database.connect() as conn:
        stored = dict(conn.execute("SELECT policyname, coalesce(qual, with_check) FROM pg_policies"
                                   " WHERE policyname LIKE 'bare%'").fetchall())
        assert "( SELECT auth.uid() AS uid)" in stored["bare_uid"]
        assert "( SELECT current_setting('app.org'::text) AS current_setting)" in (
            stored["bare_setting"])
        for finding in found.values():
            conn.execute(finding.fix_down or "")
    assert set(findings(pg_database, "auth-function-per-row")) == set(found)


def test_policy_uses_user_metadata(pg_database: TestDatabase) -> None:
    install_supabase(pg_database)
    found = findings(pg_database, "policy-uses-user-metadata", """
        CREATE TABLE r (id bigint PRIMARY KEY, owner uuid);
        ALTER TABLE r ENABLE ROW LEVEL SECURITY;
        CREATE POLICY by_jwt ON r USING ((auth.jwt() -> 'user_metadata' ->> 'role') = 'admin');
        CREATE POLICY by_path ON r FOR SELECT
          USING ((auth.jwt() #>> '{user_metadata,role}') = 'admin');
        CREATE POLICY by_users ON r FOR DELETE USING (EXISTS (
          SELECT 1 FROM auth.users u WHERE u.id = (SELECT auth.uid())
            AND u.raw_user_meta_data ->> 'admin' = 'true'));
        CREATE POLICY by_app ON r FOR UPDATE
          USING ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');
        CREATE POLICY mentions_word ON r FOR INSERT WITH CHECK (owner IS NOT NULL
          AND 'user_metadata' <> '');
    """)
    assert set(found) == {"public.r.by_jwt", "public.r.by_path", "public.r.by_users"}
    assert all(f.fix is None for f in found.values())


INDEXED = """
CREATE TABLE organization_members (
  organization_id bigint, user_id uuid, PRIMARY KEY (organization_id, user_id));
CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL,
                       owner uuid, published boolean);
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY members ON projects USING (organization_id IN (
  SELECT organization_members.organization_id FROM organization_members
  WHERE organization_members.user_id = (SELECT auth.uid())));
CREATE POLICY own ON projects FOR UPDATE USING (owner = (SELECT auth.uid()));
CREATE POLICY public_read ON projects FOR SELECT TO anon USING (published = true);
CREATE TABLE tasks (id bigint PRIMARY KEY, owner uuid);
CREATE INDEX tasks_owner_idx ON tasks (owner);
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON tasks USING (owner = (SELECT auth.uid()));
INSERT INTO organization_members VALUES (1, '00000000-0000-0000-0000-000000000001');
INSERT INTO projects VALUES (1, 1, NULL, true);
"""


def test_policy_column_not_indexed(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "policy-column-not-indexed", INDEXED, tmp_path)
    # the (organization_id, user_id) key indexes organization_id, not user_id;
    # published is compared with a literal; tasks.owner is indexed
    assert set(found) == {"public.organization_members.user_id",
                          "public.projects.organization_id", "public.projects.owner"}
    assert "public.projects.members" in found["public.organization_members.user_id"].message
    assert found["public.projects.owner"].fix == (
        'CREATE INDEX CONCURRENTLY "projects_owner_idx" ON "public"."projects" ("owner");')
    with pg_database.connect() as conn:
        for finding in found.values():
            conn.execute(finding.fix_down or "")
    assert set(findings(pg_database, "policy-column-not-indexed")) == set(found)


TENANT = """
CREATE TABLE organization_members (
  organization_id bigint, user_id uuid, PRIMARY KEY (organization_id, user_id));
CREATE INDEX ON organization_members (user_id);
CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL, owner uuid);
CREATE INDEX ON projects (organization_id);
CREATE INDEX ON projects (owner);
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON projects FOR SELECT USING (true);
CREATE POLICY own ON projects FOR UPDATE USING (owner = (SELECT auth.uid()));
CREATE POLICY members ON projects FOR DELETE USING (organization_id IN (
  SELECT organization_members.organization_id FROM organization_members
  WHERE organization_members.user_id = (SELECT auth.uid())));
CREATE TABLE boards (id bigint PRIMARY KEY, team_id bigint NOT NULL);
CREATE INDEX ON boards (team_id);
ALTER TABLE boards ENABLE ROW LEVEL SECURITY;
CREATE POLICY by_setting ON boards
  USING (team_id = (SELECT current_setting('app.team_id')::bigint));
CREATE TABLE guarded (id bigint PRIMARY KEY, tenant_id bigint NOT NULL);
CREATE INDEX ON guarded (tenant_id);
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY anyone ON guarded USING (true);
CREATE POLICY tenant ON guarded AS RESTRICTIVE
  USING (tenant_id = (SELECT current_setting('app.tenant_id')::bigint));
INSERT INTO organization_members VALUES (1, '00000000-0000-0000-0000-000000000001');
INSERT INTO projects VALUES (1, 1, NULL);
"""


def test_tenant_policy_pattern(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "tenant-policy-pattern", TENANT, tmp_path)
    assert set(found) == {"public.projects"}  # boards and guarded restrict by tenant
    finding = found["public.projects"]
    assert "read_all (SELECT); own (UPDATE)" in finding.message
    assert finding.fix is not None and "AS RESTRICTIVE FOR ALL" in finding.fix
    with pg_database.connect() as conn:
        conn.execute(finding.fix_down or "")
    assert set(findings(pg_database, "tenant-policy-pattern")) == {"public.projects"}


def test_tenant_policy_pattern_without_membership_table(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "tenant-policy-pattern", """
        CREATE TABLE projects (id bigint PRIMARY KEY, organization_id bigint NOT NULL);
        ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
        CREATE POLICY read_all ON projects FOR SELECT USING (true);
    """)
    assert found["public.projects"].fix is None
    assert "needs a membership table organization_members" in found["public.projects"].message


def test_the_skills_pattern(pg_database: TestDatabase, tmp_path: Path) -> None:
    """The skill's "Armonyco Standard RLS Pattern", as written, on a Supabase stand-in."""
    install_supabase(pg_database)
    schema = """
        CREATE TABLE public.organization_members (
          organization_id bigint, user_id uuid, PRIMARY KEY (organization_id, user_id));
        CREATE TABLE public.your_table (id bigint PRIMARY KEY, organization_id bigint NOT NULL);
        CREATE INDEX ON public.your_table (organization_id);
        ALTER TABLE public.your_table ENABLE ROW LEVEL SECURITY;
        CREATE POLICY "allow tenant access"
        ON public.your_table FOR ALL
        USING (
          organization_id IN (
            SELECT organization_id FROM public.organization_members
            WHERE user_id = auth.uid()
          )
        );
        INSERT INTO public.your_table VALUES (1, 1);
    """
    # it restricts by membership, but calls auth.uid() once per row, and its
    # membership lookup by user_id has no index (the key leads with organization_id)
    assert findings(pg_database, "tenant-policy-pattern", schema) == {}
    per_row = prove_fixes(pg_database, "auth-function-per-row", "SELECT 1", tmp_path)
    assert set(per_row) == {'public.your_table."allow tenant access"'}
    unindexed = prove_fixes(pg_database, "policy-column-not-indexed", "SELECT 1", tmp_path)
    assert set(unindexed) == {"public.organization_members.user_id"}
