"""Privilege rules on a Supabase-like database (tests/lint/supabase.py).

security-definer-view, function-search-path-mutable,
security-definer-executable-by-public, extension-in-public, grants-without-policy:
true and false cases on a real database; every fix applied with psql and re-checked
(``prove_fixes``), and its ``fix_down`` run back.
"""

from __future__ import annotations

from pathlib import Path

from rule_helpers import findings, prove_fixes
from supabase import install_supabase

from pgkeel.report import Severity
from pgkeel.testing import TestDatabase

VIEWS = """
CREATE TABLE notes (id bigint PRIMARY KEY, body text);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_read ON notes FOR SELECT TO anon, authenticated USING (true);
REVOKE INSERT, UPDATE, DELETE ON notes FROM anon, authenticated;
CREATE VIEW plain AS SELECT body FROM notes;
CREATE VIEW invoker_off WITH (security_invoker = false) AS SELECT body FROM notes;
CREATE VIEW invoker WITH (security_invoker = on) AS SELECT body FROM notes;
CREATE VIEW unread AS SELECT body FROM notes;
REVOKE ALL ON unread FROM anon, authenticated;
CREATE MATERIALIZED VIEW frozen AS SELECT body FROM notes;
CREATE SCHEMA private;
CREATE VIEW private.hidden AS SELECT body FROM public.notes;
GRANT SELECT ON private.hidden TO anon;
INSERT INTO notes VALUES (1, 'a'), (2, NULL);
"""


def test_security_definer_view(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "security-definer-view", VIEWS, tmp_path)
    assert set(found) == {"public.plain", "public.invoker_off"}
    assert "anon, authenticated may read it" in found["public.plain"].message
    with pg_database.connect() as conn:
        for finding in found.values():
            conn.execute(finding.fix_down or "")
        options = dict(conn.execute(
            "SELECT relname, reloptions::text FROM pg_class WHERE relname IN"
            " ('plain', 'invoker_off')").fetchall())
    assert options == {"plain": None, "invoker_off": "{security_invoker=false}"}
    assert set(findings(pg_database, "security-definer-view")) == set(found)


FUNCTIONS = """
CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL);
INSERT INTO counters VALUES (1, 41);
CREATE FUNCTION definer_bump() RETURNS int LANGUAGE sql SECURITY DEFINER
  AS $$ UPDATE counters SET n = n + 1 WHERE id = 1 RETURNING n $$;
CREATE FUNCTION invoker_read() RETURNS int LANGUAGE sql STABLE
  AS $$ SELECT n FROM counters WHERE id = 1 $$;
CREATE PROCEDURE reset_counter() LANGUAGE sql AS $$ UPDATE counters SET n = 0 $$;
CREATE FUNCTION pinned_empty() RETURNS int LANGUAGE sql SET search_path = ''
  AS $$ SELECT n FROM public.counters WHERE id = 1 $$;
CREATE FUNCTION pinned_public() RETURNS int LANGUAGE sql SECURITY DEFINER
  SET search_path = public AS $$ SELECT n FROM counters WHERE id = 1 $$;
CREATE AGGREGATE total(int) (SFUNC = int4pl, STYPE = int);
"""


def test_function_search_path_mutable(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)  # auth.uid() and auth.jwt() are Supabase's own
    found = prove_fixes(pg_database, "function-search-path-mutable", FUNCTIONS, tmp_path)
    assert set(found) == {"public.definer_bump()", "public.invoker_read()",
                          "public.reset_counter()"}
    assert {k: f.severity for k, f in found.items()} == {
        "public.definer_bump()": Severity.WARNING, "public.invoker_read()": Severity.INFO,
        "public.reset_counter()": Severity.INFO}
    with pg_database.connect() as conn:
        # the pinned path still finds the function's own tables
        assert conn.execute("SELECT definer_bump()").fetchone() == (42,)
        assert conn.execute("SELECT invoker_read()").fetchone() == (42,)
        conn.execute("CALL reset_counter()")
        config = conn.execute("SELECT proconfig FROM pg_proc WHERE proname = 'definer_bump'"
                              ).fetchone()
        assert config == (["search_path=pg_catalog, public, pg_temp"],)
        for finding in found.values():
            conn.execute(finding.fix_down or "")
    assert set(findings(pg_database, "function-search-path-mutable")) == set(found)


def test_security_definer_executable_by_public(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "security-definer-executable-by-public", FUNCTIONS + """
        CREATE FUNCTION locked() RETURNS int LANGUAGE sql SECURITY DEFINER
          SET search_path = '' AS $$ SELECT 1 $$;
        REVOKE EXECUTE ON FUNCTION locked() FROM PUBLIC;
    """, tmp_path)
    assert set(found) == {"public.definer_bump()", "public.pinned_public()"}
    # Supabase's default privileges also granted the API roles EXECUTE directly
    assert "anon, authenticated also hold EXECUTE directly" in (
        found["public.definer_bump()"].message)
    public_may = ("SELECT bool_or(a.grantee = 0) FROM pg_proc p,"
                  " aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a"
                  " WHERE p.proname = 'definer_bump'")
    with pg_database.connect() as conn:
        assert conn.execute(public_may).fetchone() == (False,)
        for finding in found.values():
            conn.execute(finding.fix_down or "")
        assert conn.execute(public_may).fetchone() == (True,)
    assert set(findings(pg_database, "security-definer-executable-by-public")) == set(found)


def test_extension_in_public(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "extension-in-public", """
        CREATE EXTENSION pg_trgm SCHEMA public;
        CREATE SCHEMA extensions;
        CREATE EXTENSION citext SCHEMA extensions;
    """)
    assert set(found) == {"public.pg_trgm"}  # plpgsql (in pg_catalog) never counts
    assert found["public.pg_trgm"].fix is None


GRANTS = """
CREATE TABLE notes (id bigint PRIMARY KEY, owner uuid);
ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY notes_read ON notes FOR SELECT TO authenticated
  USING (owner = (SELECT auth.uid()));
CREATE TABLE open_all (id bigint PRIMARY KEY);
ALTER TABLE open_all ENABLE ROW LEVEL SECURITY;
CREATE POLICY anyone ON open_all USING (true);
CREATE TABLE no_policy (id bigint PRIMARY KEY);
ALTER TABLE no_policy ENABLE ROW LEVEL SECURITY;
CREATE SCHEMA private;
CREATE TABLE private.unreachable (id bigint PRIMARY KEY);
ALTER TABLE private.unreachable ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON private.unreachable FOR SELECT TO authenticated USING (true);
GRANT ALL ON private.unreachable TO anon;
INSERT INTO notes VALUES (1, NULL);
"""


def test_grants_without_policy(pg_database: TestDatabase, tmp_path: Path) -> None:
    install_supabase(pg_database)
    found = prove_fixes(pg_database, "grants-without-policy", GRANTS, tmp_path)
    assert set(found) == {"public.notes"}
    assert "(anon SELECT, INSERT, UPDATE, DELETE; authenticated INSERT, UPDATE, DELETE)" in (
        found["public.notes"].message)
    may = ("SELECT has_table_privilege('anon', 'public.notes', 'SELECT'),"
           " has_table_privilege('authenticated', 'public.notes', 'SELECT')")
    with pg_database.connect() as conn:
        assert conn.execute(may).fetchone() == (False, True)
        conn.execute(found["public.notes"].fix_down or "")
        assert conn.execute(may).fetchone() == (True, True)
    assert set(findings(pg_database, "grants-without-policy")) == {"public.notes"}
