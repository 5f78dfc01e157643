"""The access side of the snapshot: roles, ACLs, view options, function settings."""

from __future__ import annotations

import json
import uuid

from pgkeel.catalog import Grant, Snapshot, snapshot
from pgkeel.testing import TestDatabase


def test_roles_grants_options_and_config(pg_database: TestDatabase) -> None:
    # Roles are cluster-wide: unique names keep parallel tests apart.
    reader, member = f"reader_{uuid.uuid4().hex[:8]}", f"member_{uuid.uuid4().hex[:8]}"
    with pg_database.connect() as conn:
        conn.execute(f"""
            CREATE ROLE {reader} NOLOGIN BYPASSRLS;
            CREATE ROLE {member} NOLOGIN IN ROLE {reader};
            CREATE SCHEMA app;
            GRANT USAGE ON SCHEMA app TO {reader};
            CREATE TABLE app.t (id int);
            GRANT SELECT, UPDATE ON app.t TO {reader};
            GRANT SELECT ON app.t TO PUBLIC;
            CREATE TABLE app.untouched (id int);
            CREATE VIEW app.v WITH (security_invoker = true) AS SELECT id FROM app.t;
            CREATE FUNCTION app.f(a int) RETURNS int LANGUAGE sql SET search_path = ''
              SET work_mem = '8MB' AS 'SELECT a';
            REVOKE EXECUTE ON FUNCTION app.f(int) FROM PUBLIC;
            CREATE FUNCTION app.g() RETURNS int LANGUAGE sql AS 'SELECT 1';
        """)
        snap = snapshot(conn)
        owner = conn.execute("SELECT current_user").fetchone()[0]  # type: ignore[index]
    roles = {r.name: r for r in snap.roles}
    assert roles[member].member_of == (reader,)
    assert roles[reader].bypass_rls and not roles[member].bypass_rls
    assert not any(r.startswith("pg_") for r in roles)
    table = snap.table("app.t")
    assert table is not None
    grants = {g.grantee: g.privileges for g in table.grants}
    assert grants["PUBLIC"] == ("SELECT",)
    assert grants[reader] == ("SELECT", "UPDATE")
    assert owner in grants
    assert snap.table("app.untouched").grants == ()  # type: ignore[union-attr]
    (view,) = snap.views
    assert view.options == ("security_invoker=true",)
    functions = {f.name: f for f in snap.functions}
    assert functions["f"].config == ('search_path=""', "work_mem=8MB")
    assert [g.grantee for g in functions["f"].grants] == [owner]
    assert Grant("PUBLIC", ("EXECUTE",)) in functions["g"].grants  # the default ACL
    app = next(s for s in snap.schemas if s.name == "app")
    assert Grant(reader, ("USAGE",)) in app.grants
    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap
