"""`pgkeel check --fix-sql` on real schemas nobody here wrote (Pagila, Northwind): the
script is SQL only, runs with psql ON_ERROR_STOP, and a re-check is clean of every
finding it fixed, with no new finding."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import shared_path
from pglast import parse_sql
from typer.testing import CliRunner

from pgkeel.cli import app
from pgkeel.testing import TestCluster, TestDatabase

runner = CliRunner()


def _findings(url: str) -> list[dict[str, object]]:
    result = runner.invoke(app, ["check", "-d", url, "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["findings"]  # type: ignore[no-any-return]


def _prove_fix_sql(db: TestDatabase, tmp_path: Path) -> None:
    before = _findings(db.url)
    fixed = {(f["rule"], f["object"]) for f in before if f["fix"]}
    assert fixed, "nothing to fix: the test would prove nothing"
    result = runner.invoke(app, ["check", "-d", db.url, "--fix-sql", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    script = result.stdout
    parse_sql(script)  # stdout holds SQL and comments only
    assert script.splitlines()[0].startswith("-- ")
    path = tmp_path / "fixes.sql"
    path.write_text(script, encoding="utf-8")
    db.run_sql_file(path)  # psql -v ON_ERROR_STOP=1 -f
    after = {(f["rule"], f["object"]) for f in _findings(db.url)}
    assert not fixed & after, f"still reported after --fix-sql: {sorted(fixed & after)}"
    new = after - {(f["rule"], f["object"]) for f in before}
    assert not new, f"--fix-sql caused new findings: {sorted(new)}"


def test_pagila_fix_sql_runs_and_rechecks_clean(pagila: TestDatabase, tmp_path: Path) -> None:
    _prove_fix_sql(pagila, tmp_path)


def test_northwind_fix_sql_runs_and_rechecks_clean(pg_cluster: TestCluster,
                                                   tmp_path: Path) -> None:
    source = shared_path("northwind", "northwind.sql")
    name = pg_cluster.create_database()
    try:
        pg_cluster.psql_file(name, source)
        _prove_fix_sql(TestDatabase(name, pg_cluster.url(name), pg_cluster), tmp_path)
    finally:
        pg_cluster.drop_database(name)
