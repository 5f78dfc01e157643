"""The catalog says which columns each view reads (pg_depend), not which names it mentions."""

from __future__ import annotations

import json

from pgkeel.catalog import Grant, Snapshot, ViewUse, snapshot
from pgkeel.testing import TestDatabase

VIEWS = """
CREATE TABLE invoice (id int PRIMARY KEY, total float8, fee real, note text);
CREATE TABLE other (id int, total float8);
-- names other.total in a string only: no dependency on it
CREATE VIEW open_invoices WITH (security_barrier = true) AS
    SELECT id, total, 'other.total' AS label FROM invoice;
CREATE VIEW counted AS SELECT count(*) AS n FROM other;
CREATE VIEW on_view AS SELECT total FROM open_invoices;
CREATE MATERIALIZED VIEW "Fee Report" AS SELECT sum(fee) AS fees FROM invoice WITH NO DATA;
CREATE ROLE view_reader_{db};
GRANT SELECT ON open_invoices TO view_reader_{db} WITH GRANT OPTION;
GRANT SELECT ON counted TO PUBLIC;
"""


def test_view_uses(pg_database: TestDatabase) -> None:
    role = f"view_reader_{pg_database.name}"
    with pg_database.connect() as conn:
        conn.execute(VIEWS.format(db=pg_database.name))
        try:
            snap = snapshot(conn)
        finally:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
    views = {v.name: v for v in snap.views}
    assert views["open_invoices"].uses == (ViewUse("public", "invoice", "id"),
                                           ViewUse("public", "invoice", "total"))
    assert views["open_invoices"].options == ("security_barrier=true",)
    owner = views["open_invoices"].owner

    def granted(name: str) -> tuple[Grant, ...]:
        return tuple(g for g in views[name].grants if g.grantee != owner)

    assert granted("open_invoices") == (Grant(role, ("SELECT",), ("SELECT",)),)
    assert views["counted"].uses == (ViewUse("public", "other", None),)
    assert granted("counted") == (Grant("PUBLIC", ("SELECT",)),)
    assert views["on_view"].uses == (ViewUse("public", "open_invoices", "total"),)
    assert views["Fee Report"].uses == (ViewUse("public", "invoice", "fee"),)
    assert views["Fee Report"].populated is False
    assert views["on_view"].owner == views["counted"].owner
    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


def test_function_source(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS"
                     " $$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;"
                     "CREATE FUNCTION atomic() RETURNS int LANGUAGE sql"
                     " BEGIN ATOMIC SELECT 1; END")
        snap = snapshot(conn)
    sources = {f.name: f.source for f in snap.functions}
    assert sources == {"touch": " BEGIN NEW.updated_at := now(); RETURN NEW; END ",
                       "atomic": None}
