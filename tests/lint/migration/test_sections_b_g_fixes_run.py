"""The safe alternatives the rules of sections B and D-G print run on PostgreSQL.

Each Good example of those rules is what their findings ask for (a named list instead
of CASCADE, timestamptz, SET search_path, NOT EXISTS...): each runs here as the runner
would run it, on a copy of the examples' database (``conftest.FIXTURE_SQL``, with
rows). Where an example is the second migration of a recipe, the first runs before it.
"""

from __future__ import annotations

import psycopg
import pytest
from pglast.parser import split

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts
from pgkeel.testing import TestCluster

_FAMILIES = {"destructive", "compatibility", "design", "key_types", "structure", "shapes",
             "security", "rls", "policies", "correctness", "queries", "naming"}
_RULES = [r for r in registry.migration_rules() if r.__module__.rsplit(".", 1)[1] in _FAMILIES]

#: The migration a Good example (rule id, index) continues ("→ next migration").
_BEFORE = {
    ("drop-constraint", 0): "ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID",
    ("enum-value-used-in-same-transaction", 1): "ALTER TYPE status ADD VALUE 'archived'",
}


def _up(example: str) -> tuple[str, bool]:
    """The up section's SQL and whether the runner wraps it in a transaction."""
    wrapped = not example.startswith("-- example: plain")
    body = []
    for line in example.splitlines():
        if line.startswith("-- migrate:up"):
            wrapped = "transaction:false" not in line
        elif line.startswith("-- migrate:down"):
            break
        elif not line.startswith("-- example:"):
            body.append(line)
    return "\n".join(body), wrapped


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.id)
def test_good_examples_run(rule: type, pg_cluster: TestCluster,
                           lint_fixture: tuple[str, CatalogFacts]) -> None:
    for index, example in enumerate(rule.examples("Good")):
        sql, wrapped = _up(example)
        if "CREATE DATABASE" in sql.upper():
            continue  # a cluster-wide object: CREATE DATABASE is proven by the cluster tests
        name = pg_cluster.create_database(template="lint_fixture")
        try:
            with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
                if (rule.id, index) in _BEFORE:
                    conn.execute(_BEFORE[rule.id, index])
                if "CREATE EXTENSION" in sql.upper() and not conn.execute(
                        "SELECT FROM pg_available_extensions WHERE name = 'pg_trgm'").fetchone():
                    pytest.skip("this server has no pg_trgm (contrib)")
                if wrapped:
                    with conn.transaction():
                        conn.execute(sql)
                else:
                    for statement in split(sql):
                        conn.execute(statement)
                assert snapshot(conn).tables  # the database is still readable
        finally:
            pg_cluster.drop_database(name)
