"""``pgkeel explain`` and ``pgkeel slow`` through the command line, on real databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from test_nplus1 import SCHEMA, _n_plus_one_app
from typer.testing import CliRunner

from pgkeel.cli import app
from pgkeel.testing import TestDatabase

runner = CliRunner()


def _pgkeel(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, so errors go through main()'s exit-code mapping."""
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, check=False, timeout=120)


def _db(pg_database: TestDatabase) -> str:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute("INSERT INTO purchase SELECT g, g % 300 + 1, g % 97"
                     " FROM generate_series(1000, 60000) g; ANALYZE purchase")
    return pg_database.url


def test_explain_prints_the_tree_with_findings_and_fixes(pg_database: TestDatabase,
                                                         tmp_path: Path) -> None:
    url = _db(pg_database)
    query = tmp_path / "q.sql"
    query.write_text("-- the report page\nSELECT id, total FROM purchase\n"
                     "ORDER BY total DESC LIMIT 10 OFFSET 5000;\n")
    result = runner.invoke(app, ["explain", "-d", url, "--file", str(query), "--analyze"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "EXPLAIN ANALYZE (rolled back)" in out and "execution" in out
    assert "Seq Scan on public.purchase" in out and " ms (" in out and "est /" in out
    assert "offset-pagination" in out
    assert "fix: SELECT id, total FROM purchase WHERE total < $1" in out
    data = json.loads(runner.invoke(app, ["explain", "-d", url, "--file", str(query),
                                          "--analyze", "--format", "json"]).stdout)
    assert data["mode"] == "analyze" and data["plan"]["Plan"]["Node Type"] == "Limit"
    assert any(f["rule"] == "offset-pagination" and f["node"] == 0 for f in data["findings"])


def test_explain_with_params_and_fail_on(pg_database: TestDatabase) -> None:
    url = _db(pg_database)
    result = runner.invoke(app, ["explain", "-d", url, "--analyze", "-p", "7", "--fail-on",
                                 "info", "SELECT * FROM purchase WHERE customer_id = $1"])
    assert result.exit_code == 1, result.output  # the seq-scan-filter finding
    assert "$1='7'" in result.stdout and "seq-scan-filter" in result.stdout


def test_explain_errors_and_refusals(pg_database: TestDatabase) -> None:
    url = _db(pg_database)
    refused = _pgkeel("explain", "-d", url, "--analyze", "DELETE FROM purchase")
    assert refused.returncode == 4 and "--allow-writes" in refused.stderr
    utility = _pgkeel("explain", "-d", url, "VACUUM purchase")
    assert utility.returncode == 2 and refused.stderr.startswith("error:")
    both = _pgkeel("explain", "-d", url)
    assert both.returncode == 2 and "--file" in both.stderr
    allowed = _pgkeel("explain", "-d", url, "--analyze", "--allow-writes",
                      "DELETE FROM purchase WHERE id < 10")
    assert allowed.returncode == 0 and "sequences advance" in allowed.stderr
    with_rows = _pgkeel("explain", "-d", url, "--format", "json",
                        "SELECT count(*) FROM purchase WHERE id < 10")
    assert json.loads(with_rows.stdout)["mode"] == "costs"


def test_slow_lists_statements_and_the_n_plus_one(pg_database: TestDatabase) -> None:
    url = pg_database.url
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute("CREATE EXTENSION pg_stat_statements")
        _n_plus_one_app(conn)
    result = runner.invoke(app, ["slow", "-d", url, "--order", "calls", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "pg_stat_statements" in result.stdout and "customer_id = $1" in result.stdout
    assert "n-plus-one" in result.stdout and "ANY($1)" in result.stdout
    data = json.loads(runner.invoke(app, ["slow", "-d", url, "--format", "json",
                                          "--order", "calls"]).stdout)
    assert data["statements"][0]["calls"] == 150
    assert {f["rule"] for f in data["findings"]} == {"n-plus-one"}
    failing = runner.invoke(app, ["slow", "-d", url, "--fail-on", "warning"])
    assert failing.exit_code == 1


def test_slow_without_the_extension_says_what_to_do(pg_database: TestDatabase) -> None:
    result = _pgkeel("slow", "-d", pg_database.url)
    assert result.returncode == 3
    assert "CREATE EXTENSION pg_stat_statements" in result.stderr
    assert "log_min_duration_statement" in result.stderr


def test_slow_reads_a_server_log(pg_database: TestDatabase) -> None:
    _db(pg_database)
    with pg_database.connect() as conn:
        conn.execute("SET log_min_duration_statement = 0")
        _n_plus_one_app(conn, 8)
    log = pg_database.cluster.cluster.log_file
    result = runner.invoke(app, ["slow", "--log", str(log), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    runs = [f for f in data["findings"] if f["rule"] == "n-plus-one"]
    assert runs and all(f["file"] == str(log) and f["line"] for f in runs)
    assert any("8 times in a row" in f["message"] for f in runs)
