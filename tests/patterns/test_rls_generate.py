"""generate rls --with-auth-stub: the skill's membership policies, indexes, the stub."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from pattern_helpers import check_generated
from tenants import BASE, ORG_A, ORG_B, USER_A

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.connect import connect
from pgkeel.errors import UsageError
from pgkeel.patterns import rls
from pgkeel.testing import TestDatabase


def act_as(conn: Any, user: str) -> None:
    conn.execute("SET LOCAL ROLE authenticated")
    conn.execute("SELECT set_config('request.jwt.claims', %s, true)",
                 [json.dumps({"sub": user, "role": "authenticated"})])


def exercise(conn: Any) -> None:
    act_as(conn, USER_A)
    assert conn.execute("SELECT auth.uid()::text").fetchone()[0] == USER_A
    orgs = conn.execute("SELECT DISTINCT organization_id FROM projects").fetchall()
    assert orgs == [(ORG_A,)]
    assert conn.execute("UPDATE projects SET name = 'x' WHERE organization_id = %s "
                        "RETURNING id", [ORG_B]).fetchall() == []
    assert conn.execute("DELETE FROM projects WHERE organization_id = %s RETURNING id",
                        [ORG_B]).fetchall() == []
    assert len(conn.execute("UPDATE projects SET name = name RETURNING id").fetchall()) == 50
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("INSERT INTO projects VALUES (1000, %s, 'theirs')", [ORG_B])
    conn.rollback()
    plan = "\n".join(r[0] for r in conn.execute(
        "EXPLAIN SELECT * FROM projects").fetchall())
    conn.rollback()
    assert plan  # the policy plans (auth.uid() resolves inside the initPlan)


def test_rls_with_auth_stub(pg_database: TestDatabase, tmp_path: Path) -> None:
    applied = check_generated(
        pg_database.url, tmp_path, BASE,
        lambda s: rls.generate(s, "projects", tenant_column="organization_id",
                               with_auth_stub=True), exercise)
    text = applied.path.read_text()
    assert "(SELECT auth.uid())" in text and "TO authenticated" in text
    assert '"organization_members_user_id_organization_id_idx"' in text
    assert '"projects_organization_id_idx"' in text


def test_rls_needs_auth_uid(pg_database: TestDatabase) -> None:
    with connect(pg_database.url) as conn:
        conn.execute(BASE)
        snap = read_catalog(conn)
    with pytest.raises(UsageError, match=r"no auth\.uid"):
        rls.generate(snap, "projects", tenant_column="organization_id")
    with pytest.raises(UsageError, match="no column tenant_id"):
        rls.generate(snap, "projects", tenant_column="tenant_id", with_auth_stub=True)
