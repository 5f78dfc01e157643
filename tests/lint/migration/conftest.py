"""The schema the migration rules' examples are written against, with rows.

It is the shape the rule catalogue's examples assume: existing tables ``t`` (100 rows),
``u``, ``a``/``b`` (a foreign key), a partitioned ``ev`` with one partition and a
standalone ``ev_2024`` to attach, a materialized view ``mv``, an enum ``status``, a
trigger function ``touch()``, schemas ``app``/``api`` and a role ``anon``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint.migration.context import CatalogFacts
from pgkeel.testing import TestCluster

# Test modules elsewhere do `from conftest import shared_path`; when this conftest is
# the one loaded as `conftest`, that name must resolve here too (the tests root's).
_root = importlib.util.spec_from_file_location(
    "_root_conftest", Path(__file__).resolve().parents[2] / "conftest.py")
assert _root is not None and _root.loader is not None
_module = importlib.util.module_from_spec(_root)
_root.loader.exec_module(_module)
shared_path = _module.shared_path

FIXTURE_SQL = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN;
  END IF;
END $$;
CREATE SCHEMA app; CREATE SCHEMA api; CREATE SCHEMA extensions;
CREATE TYPE status AS ENUM ('draft', 'submitted', 'approved', 'done');
CREATE TABLE u (id bigint PRIMARY KEY);
INSERT INTO u SELECT g FROM generate_series(1, 10) g;
CREATE TABLE t (id bigint NOT NULL, a int, b text, u_id bigint, v varchar(50), tags text[],
                r int4range, ts timestamp, s status, owner_id int, tenant_id bigint);
INSERT INTO t SELECT g, g, 'b' || g, 1 + g % 10, 'v', ARRAY['x'], int4range(g, g + 1),
                     '2024-01-01'::timestamp + g * interval '1 day', 'draft', g, 1
FROM generate_series(1, 100) g;
CREATE INDEX t_a_idx ON t (a); CREATE UNIQUE INDEX t_id_uidx ON t (id);
CREATE UNIQUE INDEX t_b_uidx ON t (b);
CREATE TABLE ev (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE ev_2019 PARTITION OF ev FOR VALUES FROM ('2019-01-01') TO ('2020-01-01');
CREATE TABLE ev_2024 (d date NOT NULL);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM t; CREATE UNIQUE INDEX mv_id_idx ON mv (id);
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE a (a_id int PRIMARY KEY); CREATE TABLE b (b_id int PRIMARY KEY, a_id int REFERENCES a);
INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (1, 1), (2, 2);
ANALYZE;
"""


@pytest.fixture(scope="session")
def lint_fixture(pg_cluster: TestCluster) -> Iterator[tuple[str, CatalogFacts]]:
    """``(url, catalog)`` of a database holding the examples' schema, shared by the
    session; tests must not change it (lint it, or copy it as a template)."""
    name = pg_cluster.create_database("lint_fixture")
    url = pg_cluster.url(name)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(FIXTURE_SQL)
        facts = CatalogFacts(snapshot(conn))
    try:
        yield url, facts
    finally:
        pg_cluster.drop_database(name)
