"""The safe alternatives section C and the live rules print run on PostgreSQL.

Each Good example of those rules is the fix their findings describe (SET lock_timeout
first, IF NOT EXISTS, COMMIT, a qualified name...): each runs here, as the runner would
run it, on a copy of the examples' database (``conftest.FIXTURE_SQL``, with rows).
"""

from __future__ import annotations

import psycopg
import pytest
from pglast.parser import split

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts
from pgkeel.lint.migration.rules import hygiene, live, syntax
from pgkeel.testing import TestCluster

_MODULES = (hygiene.__name__, live.__name__, syntax.__name__)
_RULES = [r for r in registry.migration_rules() if r.__module__ in _MODULES]


def _up(example: str) -> tuple[str, bool]:
    """The up section's SQL and whether the runner wraps it in a transaction."""
    lines = example.splitlines()
    wrapped = True
    body = []
    for line in lines:
        if line.startswith("-- migrate:up"):
            wrapped = "transaction:false" not in line
        elif line.startswith("-- migrate:down"):
            break
        else:
            body.append(line)
    return "\n".join(body), wrapped


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.id)
def test_good_examples_run(rule: type, pg_cluster: TestCluster,
                           lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    for example in rule.examples("Good"):
        first = example.splitlines()[0]
        if "target-version=" in first:
            wanted = int(first.split("target-version=")[1].split()[0])
            if catalog.snapshot.server_version_num < wanted:
                continue  # written for a newer server than this one
        sql, wrapped = _up(example)
        name = pg_cluster.create_database(template="lint_fixture")
        try:
            with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
                if wrapped:
                    with conn.transaction():
                        conn.execute(sql)
                else:
                    for statement in split(sql):
                        conn.execute(statement)
                assert snapshot(conn).tables  # the database is still readable
        finally:
            pg_cluster.drop_database(name)
