"""missing-primary-key prefers the key the data has: an enforced unique index, a natural
key proven unique on every row, then an identity column. Every fix is proved."""

from __future__ import annotations

from pathlib import Path

from evidence_helpers import run_script
from rule_helpers import findings, prove_fixes

from pgkeel.catalog import snapshot
from pgkeel.lint import lint_snapshot
from pgkeel.testing import TestDatabase

KEYS = """
-- TPC-H's customer: c_custkey is NOT NULL and unique in the data
CREATE TABLE customer (c_custkey integer NOT NULL, c_name varchar(25) NOT NULL,
                       c_acctbal numeric(15, 2) NOT NULL, c_nationkey integer NOT NULL);
INSERT INTO customer SELECT g, 'Customer#' || g, g * 1.5, g % 5
    FROM generate_series(1, 150) g;
-- no single column is unique, the pair is
CREATE TABLE lineitem (l_orderkey int NOT NULL, l_linenumber int NOT NULL, qty int NOT NULL);
INSERT INTO lineitem SELECT o, l, 1 FROM generate_series(1, 20) o, generate_series(1, 3) l;
-- a unique column that may be NULL is no key; duplicates everywhere: identity
CREATE TABLE readings (sensor text, value int NOT NULL);
INSERT INTO readings VALUES ('a', 1), ('b', 1), (NULL, 2);
-- the database already enforces a key
CREATE TABLE country (code text NOT NULL, name text NOT NULL);
CREATE UNIQUE INDEX country_code_key ON country (code);
INSERT INTO country VALUES ('de', 'Germany'), ('fr', 'France');
"""


def test_missing_primary_key_from_the_data(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "missing-primary-key", KEYS, tmp_path)
    assert set(found) == {"public.customer", "public.lineitem", "public.readings",
                          "public.country"}
    assert found["public.customer"].message == (
        "table public.customer has no primary key; the data proves (c_custkey) unique: the "
        "check read all 150 rows, NOT NULL and no value repeated")
    assert found["public.customer"].fix == (
        'ALTER TABLE "public"."customer" ADD CONSTRAINT "customer_pkey" PRIMARY KEY '
        '("c_custkey"); -- builds a unique index under ACCESS EXCLUSIVE; fails, changing '
        "nothing, on a duplicate written since")
    assert '("l_orderkey", "l_linenumber")' in (found["public.lineitem"].fix or "")
    assert "a new identity column" in found["public.readings"].message
    assert "USING INDEX \"country_code_key\"" in (found["public.country"].fix or "")
    # fix_down: every table keyless again, the unique index back
    run_script(pg_database, "\n".join(f.fix_down or "" for f in found.values()), tmp_path)
    assert set(findings(pg_database, "missing-primary-key")) == set(found)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'country'"
                            ).fetchall() == [("CREATE UNIQUE INDEX country_code_key ON "
                                              "public.country USING btree (code)",)]
        assert conn.execute("SELECT count(*) FROM pg_attribute WHERE attrelid = "
                            "'readings'::regclass AND attname = 'id'").fetchone() == (0,)


def test_missing_primary_key_without_data(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE customer (c_custkey int NOT NULL);"
                     "INSERT INTO customer VALUES (1), (2);"
                     "CREATE TABLE keyed (id int, v text);")
        snap = snapshot(conn)
    found = {f.object: f for f in lint_snapshot(snap, select=["missing-primary-key"])}
    assert found["public.customer"].message.endswith(
        "the data was not read for a natural key: a new identity column")
    # an id column the data does not vouch for gets no fix
    assert found["public.keyed"].fix is None
    assert "its id column is not proven unique, so no fix" in found["public.keyed"].message
