"""Section E rules: writable schemas by target version and catalog, search_path order,
dynamic SQL, RLS state across the file."""

from __future__ import annotations

import psycopg

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from tests.lint.migration.helpers import lint_one

_REPLACE = "CREATE OR REPLACE FUNCTION public.h() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;"


def test_public_is_writable_before_15_only(lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    [unknown] = lint_one("create-or-replace-in-writable-schema", _REPLACE)
    assert "target version is unknown" in unknown.message
    assert lint_one("create-or-replace-in-writable-schema", _REPLACE,
                    settings=LintSettings(target_version=150004)) == []
    assert len(lint_one("create-or-replace-in-writable-schema", _REPLACE,
                        settings=LintSettings(target_version=140009))) == 1
    # the test server's own ACL on public (PostgreSQL 15+: no CREATE for PUBLIC)
    assert lint_one("create-or-replace-in-writable-schema", _REPLACE, catalog=catalog) == []


def test_security_definer_search_path_naming_a_writable_schema() -> None:
    sql = ("CREATE FUNCTION app.f() RETURNS int LANGUAGE sql SECURITY DEFINER "
           "SET search_path = public, pg_temp AS $$ SELECT 1 $$;")
    assert len(lint_one("security-definer-search-path", sql)) == 1
    assert lint_one("security-definer-search-path", sql,
                    settings=LintSettings(target_version=160000)) == []
    temp_first = sql.replace("public, pg_temp", "pg_temp, pg_catalog")
    [finding] = lint_one("security-definer-search-path", temp_first,
                         settings=LintSettings(target_version=160000))
    assert "pg_temp" in finding.message


def test_dynamic_sql_with_format_s_or_quoted_concatenation() -> None:
    body = ("CREATE FUNCTION app.cnt(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$ "
            "DECLARE n bigint; BEGIN EXECUTE {} INTO n; RETURN n; END $$;")
    bad = body.format("format('SELECT count(*) FROM %s', tbl)")
    good = body.format("'SELECT count(*) FROM ' || quote_ident(tbl)")
    assert len(lint_one("dynamic-sql-injection", bad)) == 1
    assert lint_one("dynamic-sql-injection", good) == []


def test_rls_state_comes_from_the_whole_file() -> None:
    assert lint_one("policy-exists-rls-disabled-ddl",
                    "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
                    "CREATE POLICY t_own ON t USING (owner_id = 1);") == []
    assert lint_one("rls-disabled-on-exposed-table", "CREATE TABLE app.notes (id bigint);") == []


def test_view_over_rls_table_on_an_old_target_says_move_it() -> None:
    [finding] = lint_one("view-bypasses-rls", "ALTER TABLE t ENABLE ROW LEVEL SECURITY;\n"
                         "CREATE VIEW api.t_v AS SELECT id FROM t;",
                         settings=LintSettings(target_version=140000))
    assert finding.fix is not None and "PostgreSQL 15" in finding.fix


def test_unprotectable_relation_from_the_catalog(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    sql = "GRANT SELECT ON mv TO anon;"
    assert lint_one("unprotectable-relation-exposed", sql) == []
    [finding] = lint_one("unprotectable-relation-exposed", sql, catalog=catalog)
    assert "materialized view public.mv" in finding.message
    assert lint_one("unprotectable-relation-exposed", "GRANT SELECT ON mv TO app_owner;",
                    catalog=catalog) == []


def test_rls_state_and_policies_from_the_live_catalog(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA api; CREATE TABLE p (id bigint PRIMARY KEY, owner_id int);"
                     "INSERT INTO p SELECT g, g FROM generate_series(1, 10) g;"
                     "ALTER TABLE p ENABLE ROW LEVEL SECURITY;"
                     "CREATE POLICY p_own ON p USING (owner_id = 1)")
        catalog = CatalogFacts(snapshot(conn))
    second = "CREATE POLICY p_read ON p FOR SELECT USING (true);"
    assert lint_one("multiple-permissive-policies-ddl", second) == []
    [clash] = lint_one("multiple-permissive-policies-ddl", second, catalog=catalog)
    assert "p_own" in clash.message
    assert lint_one("policy-exists-rls-disabled-ddl", second, catalog=catalog) == []
    assert len(lint_one("policy-exists-rls-disabled-ddl", second)) == 1
    enable = "ALTER TABLE p ENABLE ROW LEVEL SECURITY;"
    assert lint_one("rls-enabled-no-policy-ddl", enable, catalog=catalog) == []
    assert len(lint_one("rls-enabled-no-policy-ddl", enable)) == 1
    view = "CREATE VIEW api.p_v AS SELECT id FROM p;"
    assert lint_one("view-bypasses-rls", view) == []
    [bypass] = lint_one("view-bypasses-rls", view, catalog=catalog)
    assert "public.p" in bypass.message
