"""A role that may not read the rows: the data rules degrade and `check` says so.

Found in review: run as a role without SELECT on the tables, every data query was
refused and swallowed, so the data findings vanished while the checklist still said
"checked: ... sampled rows" and nothing on stderr said why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from pgkeel.check import check
from pgkeel.cli import app
from pgkeel.connect import connect
from pgkeel.lint.checklist import CONSTRAINTS
from pgkeel.testing import TestCluster, TestDatabase

runner = CliRunner()

# integer-boolean reads the rows: its finding exists only when they can be read.
FLAGS = """
CREATE TABLE flags (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, active integer);
INSERT INTO flags (active) SELECT g % 2 FROM generate_series(1, 200) g;
"""


@pytest.fixture
def reader(pg_cluster: TestCluster) -> Iterator[str]:
    """A login role with no privilege beyond PUBLIC's (the socket trusts it)."""
    name = f"no_rows_{os.getpid()}"
    with connect(pg_cluster.url()) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with connect(pg_cluster.url()) as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_refused_data_queries_are_reported(pg_database: TestDatabase, reader: str) -> None:
    with pg_database.connect() as conn:
        conn.execute(FLAGS)
    owner = check(pg_database.url)
    assert owner.data_failures == ()
    assert "integer-boolean" in {f.rule for f in owner.findings}

    url = make_conninfo(pg_database.url, user=reader)
    result = check(url)
    assert result.data_failures == ("permission denied for table flags",)
    assert result.to_dict()["data_failures"] == ["permission denied for table flags"]
    assert "integer-boolean" not in {f.rule for f in result.findings}
    detail = {c.item: c.detail for c in result.checklist}[CONSTRAINTS]
    assert "data queries failed (1 reason(s): permission denied for table flags)" in detail
    assert "integer-boolean" in detail.split("may have missed findings")[0]

    cli = runner.invoke(app, ["check", "-d", url, "--fix-sql"])
    assert "permission denied for table flags" not in cli.stdout  # stdout stays SQL
    assert "warning: data queries failed" in cli.stderr
    assert "permission denied for table flags" in cli.stderr
