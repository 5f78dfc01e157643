"""``pgkeel check`` through the CLI: exit codes for --fail-on, JSON shape, SARIF, --example."""

from __future__ import annotations

import json
import subprocess
import sys

import psycopg
import pytest
from sarif_schema import sarif_errors
from typer.testing import CliRunner

from pgkeel.check import CHECKLIST
from pgkeel.cli import app
from pgkeel.connect import connect
from pgkeel.errors import Refused
from pgkeel.examples import EXAMPLE_DATABASE, EXAMPLE_MARK, example_sql, load_example
from pgkeel.lint import registry
from pgkeel.testing import TestCluster, TestDatabase

runner = CliRunner()


@pytest.fixture
def example_db(pg_database: TestDatabase) -> TestDatabase:
    """The skill's e-commerce example: warnings only."""
    with pg_database.connect() as conn:
        conn.execute(example_sql())
    return pg_database


def _check(url: str, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["check", "-d", url, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_fail_on_decides_the_exit_code(example_db: TestDatabase) -> None:
    # warnings only
    codes = {level: _check(example_db.url, "--format", "json", "--fail-on", level)[0]
             for level in ("error", "warning", "info", "never")}
    assert codes == {"error": 0, "warning": 1, "info": 1, "never": 0}
    assert _check(example_db.url, "--format", "json")[0] == 0  # default: error
    # an error: a table without a primary key
    with example_db.connect() as conn:
        conn.execute("CREATE TABLE audit (msg text)")
    codes = {level: _check(example_db.url, "--format", "json", "--fail-on", level)[0]
             for level in ("error", "never")}
    assert codes == {"error": 1, "never": 0}


def test_unknown_fail_on_is_a_usage_error(example_db: TestDatabase) -> None:
    code, _, err = _check(example_db.url, "--fail-on", "fatal")
    assert code == 2
    assert "fatal" in err


def test_json_shape(example_db: TestDatabase) -> None:
    code, out, _ = _check(example_db.url, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["database", "server_version", "data_read", "data_failures",
                          "checklist", "findings"]
    assert data["data_failures"] == []
    assert data["data_read"] is True
    assert data["database"] == example_db.name
    assert data["server_version"].split(".")[0] == str(example_db.cluster.major)
    assert [c["item"] for c in data["checklist"]] == [i.item for i in CHECKLIST]
    assert {c["status"] for c in data["checklist"]} <= {"pass", "warn", "fail", "not checked"}
    assert len(data["findings"]) == 21
    for finding in data["findings"]:
        assert list(finding) == ["rule", "severity", "message", "object", "file", "line",
                                 "column", "fix", "fix_down", "docs"]
        assert finding["severity"] in ("warning", "info")
        assert finding["object"].startswith("public.")


def test_sarif_validates(example_db: TestDatabase) -> None:
    with example_db.connect() as conn:  # one error, so all three levels of data appear
        conn.execute("CREATE TABLE ledger (organization_id int, amount real)")
    code, out, _ = _check(example_db.url, "--format", "sarif")
    assert code == 1
    log = json.loads(out)
    assert sarif_errors(log) == []
    run = log["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {
        r.id for r in registry.schema_rules() if not r.opt_in}
    upstream = {r["id"]: r["properties"].get("upstream") for r in run["tool"]["driver"]["rules"]}
    assert upstream["unindexed-foreign-key"] == ["splinter:unindexed_foreign_keys"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["missing-primary-key"] == "error"
    assert levels["missing-timestamps"] == "warning"
    kinds = {r["ruleId"]: r["locations"][0]["logicalLocations"][0]["kind"]
             for r in run["results"]}
    assert kinds["float-for-money"] == "column"
    assert kinds["rls-disabled-tenant-table"] == "table"
    assert len(run["properties"]["checklist"]) == len(CHECKLIST)


def test_text_report(example_db: TestDatabase) -> None:
    code, out, _ = _check(example_db.url)
    assert code == 0
    assert "Validation Checklist" in out
    for item in CHECKLIST:
        assert item.item in out
    assert "not checked" in out and "Suggested fixes" in out
    assert 'ALTER TABLE "public"."categories" ADD COLUMN IF NOT EXISTS "created_at"' in out
    assert "21 findings: 0 errors, 14 warnings, 7 info (--fail-on error: passes)" in out


def test_example_loads_and_audits_without_leaking_the_password(
        pg_cluster: TestCluster) -> None:
    password = pg_cluster.cluster.password()
    assert password
    url = pg_cluster.cluster.url(tcp=True)
    try:
        code, out, err = _check(url, "--example", "--format", "json")
        assert code == 0, err
        data = json.loads(out)
        assert data["database"] == EXAMPLE_DATABASE
        assert {f["rule"] for f in data["findings"]} == {
            "missing-timestamps", "timestamp-without-time-zone", "updated-at-not-maintained",
            "prefer-identity", "redundant-index", "varchar-limit"}
        assert f"into database {EXAMPLE_DATABASE}" in err
        assert password not in out + err
        # run twice: the example database pgkeel made (and marked) is dropped and
        # recreated, not appended to
        with connect(pg_cluster.url()) as conn:
            assert _mark(conn) == EXAMPLE_MARK
        code, out, _ = _check(url, "--example", "--format", "json")
        assert code == 0 and len(json.loads(out)["findings"]) == len(data["findings"])
    finally:
        pg_cluster.drop_database(EXAMPLE_DATABASE)


def _mark(conn: psycopg.Connection[tuple[object, ...]]) -> object:
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                       " WHERE datname = %s", (EXAMPLE_DATABASE,)).fetchone()
    return None if row is None else row[0]


def test_example_refuses_a_database_it_did_not_create(pg_cluster: TestCluster) -> None:
    # A pgkeel_example that pgkeel did not make (no mark) is someone's data: refused
    # with exit 4, the database and its rows untouched.
    pg_cluster.create_database(EXAMPLE_DATABASE)
    try:
        with connect(pg_cluster.url(EXAMPLE_DATABASE)) as conn:
            conn.execute("CREATE TABLE precious (v text); INSERT INTO precious VALUES ('x')")
        with pytest.raises(Refused, match=f"'{EXAMPLE_DATABASE}' already exists") as caught:
            load_example(pg_cluster.url())
        assert caught.value.exit_code == 4
        assert f'DROP DATABASE "{EXAMPLE_DATABASE}"' in (caught.value.hint or "")
        cli = subprocess.run(
            [sys.executable, "-m", "pgkeel", "check", "--example", "-d", pg_cluster.url()],
            capture_output=True, text=True, check=False, timeout=120)
        assert cli.returncode == 4, cli.stderr
        assert EXAMPLE_DATABASE in cli.stderr and "will not drop it" in cli.stderr
        with connect(pg_cluster.url(EXAMPLE_DATABASE)) as conn:
            assert conn.execute("SELECT v FROM precious").fetchall() == [("x",)]
            assert _mark(conn) is None
        # a database carrying another comment is not pgkeel's either
        with connect(pg_cluster.url()) as conn:
            conn.execute(f"COMMENT ON DATABASE {EXAMPLE_DATABASE} IS 'ours, keep'")
        with pytest.raises(Refused):
            load_example(pg_cluster.url())
    finally:
        pg_cluster.drop_database(EXAMPLE_DATABASE)
