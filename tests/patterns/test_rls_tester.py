"""rls test: the generated policies leak nothing; a planted leak is found and named."""

from __future__ import annotations

from pathlib import Path

import pytest
from rls_setup import protected

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.connect import connect
from pgkeel.errors import DatabaseError
from pgkeel.rls import Persona, Personas, check_isolation, derive_personas, load_personas
from pgkeel.testing import TestDatabase


def test_generated_policies_leak_nothing(pg_database: TestDatabase, tmp_path: Path) -> None:
    personas = load_personas(protected(pg_database.url, tmp_path))
    with connect(pg_database.url) as conn:
        before = conn.execute("SELECT count(*), sum(id) FROM projects").fetchone()
        report = check_isolation(conn, read_catalog(conn), personas)
        assert conn.execute("SELECT count(*), sum(id) FROM projects").fetchone() == before
    assert report.ok and report.rows_leaked == 0 and report.uid_problems == ()
    assert report.tables == ("public.projects",)
    got = {(c.command, c.persona): c for c in report.cases}
    assert len(got) == 4 * 5
    for command in ("SELECT", "UPDATE", "DELETE"):
        # Members reach all 50 rows of their tenant and none of the other's.
        assert got[command, "alice"].own.rows == 50  # type: ignore[union-attr]
        assert got[command, "alice"].other.allowed and got[command, "alice"].other.rows == 0
        assert got[command, "outsider"].other.rows == 0
        # service_role bypasses RLS: it reaches every row, and that is no leak.
        assert got[command, "service"].other.rows == 100
        assert not got[command, "service"].leak
    # A denied INSERT raises 42501; anon has no grant at all (42501 too).
    assert got["INSERT", "alice"].own.allowed  # type: ignore[union-attr]
    assert (got["INSERT", "alice"].other.allowed, got["INSERT", "alice"].other.sqlstate) == (
        False, "42501")
    assert got["SELECT", "anon"].other.sqlstate == "42501"
    assert got["SELECT", "alice"].policies == ("projects_tenant_select",)


def test_a_policy_missing_its_membership_check_is_found(pg_database: TestDatabase,
                                                       tmp_path: Path) -> None:
    personas = load_personas(protected(pg_database.url, tmp_path))
    with connect(pg_database.url) as conn:
        conn.execute("DROP POLICY projects_tenant_update ON projects")
        conn.execute("CREATE POLICY projects_tenant_update ON projects FOR UPDATE "
                     "TO authenticated USING ((SELECT auth.uid()) IS NOT NULL)")
        report = check_isolation(conn, read_catalog(conn), personas)
    assert not report.ok
    leaks = {(c.table, c.command, c.persona, c.policies) for c in report.leaks}
    assert leaks == {("public.projects", "UPDATE", who, ("projects_tenant_update",))
                     for who in ("alice", "bob", "outsider")}
    assert report.rows_leaked == 50 + 50 + 100


def test_personas_derived_from_memberships(pg_database: TestDatabase,
                                           tmp_path: Path) -> None:
    protected(pg_database.url, tmp_path)
    with connect(pg_database.url) as conn:
        personas = derive_personas(conn, "organization_members", "organization_id")
        assert personas is not None
        report = check_isolation(conn, read_catalog(conn), personas)
    assert [p.name for p in personas.personas] == [
        "member_a", "member_b", "outsider", "anon", "service_role"]
    assert report.ok and report.rows_leaked == 0


def test_a_select_policy_without_membership_leaks_reads(pg_database: TestDatabase,
                                                        tmp_path: Path) -> None:
    personas = load_personas(protected(pg_database.url, tmp_path))
    with connect(pg_database.url) as conn:
        conn.execute("DROP POLICY projects_tenant_select ON projects")
        conn.execute("CREATE POLICY projects_tenant_select ON projects FOR SELECT "
                     "TO authenticated USING (organization_id IS NOT NULL)")
        report = check_isolation(conn, read_catalog(conn), personas)
    # Reads leak; and UPDATE/DELETE with a WHERE stay denied (their own policies hold).
    assert {(c.command, c.persona) for c in report.leaks} == {
        ("SELECT", "alice"), ("SELECT", "bob"), ("SELECT", "outsider")}
    assert report.rows_leaked == 50 + 50 + 100


def test_a_role_that_cannot_be_taken_is_named(pg_database: TestDatabase,
                                              tmp_path: Path) -> None:
    protected(pg_database.url, tmp_path)
    personas = Personas((Persona("ghost", "pgkeel_no_such_role"),))
    with connect(pg_database.url) as conn, \
            pytest.raises(DatabaseError, match=r"cannot act as persona ghost: role "
                          r'"pgkeel_no_such_role" does not exist') as caught:
        check_isolation(conn, read_catalog(conn), personas)
    assert "GRANT pgkeel_no_such_role TO" in str(caught.value.hint)
