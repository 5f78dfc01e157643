"""``pgkeel lint`` as a user runs it: real processes, real databases, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sarif_schema import sarif_errors

from pgkeel.testing import TestDatabase


def pgkeel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k != "DATABASE_URL" and not k.startswith("PGKEEL_")}
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


UP_DOWN = "-- migrate:up\n{up}\n-- migrate:down\n{down}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pgkeel.toml").write_text("")
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20240105_index_t.sql").write_text(UP_DOWN.format(
        up="CREATE INDEX t_b_idx ON t (b);", down="DROP INDEX t_b_idx;"))
    (folder / "20240106_broken.sql").write_text(UP_DOWN.format(
        up="ALTER TABLE t ADD COLUMN;", down=""))
    return tmp_path


def test_text_report_of_the_migrations_folder(project: Path) -> None:
    done = pgkeel("lint", cwd=project)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    at = lines.index("migrations/20240106_broken.sql:2:24: error [syntax-error]")
    assert lines[at + 1:at + 3] == ["  ALTER TABLE t ADD COLUMN;", " " * 25 + "^"]
    assert "migrations/20240105_index_t.sql:2:1: warning [require-concurrent-index]" in lines
    assert any(line.startswith("  fix: CREATE INDEX CONCURRENTLY") for line in lines)
    assert lines[-1] == "4 findings: 1 error, 2 warnings, 1 info in 2 file(s)"
    assert pgkeel("lint", "--fail-on", "never", cwd=project).returncode == 0
    only = pgkeel("lint", "migrations/20240105_index_t.sql", cwd=project)
    assert only.returncode == 0 and "1 file(s)" in only.stdout
    assert pgkeel("lint", "migrations/20240105_index_t.sql", "--fail-on", "warning",
                  cwd=project).returncode == 1


def test_json_sarif_and_github_formats(project: Path) -> None:
    data = json.loads(pgkeel("lint", "--format", "json", cwd=project).stdout)
    assert data["files"] == ["migrations/20240105_index_t.sql",
                             "migrations/20240106_broken.sql"]
    assert {f["rule"] for f in data["findings"]} == {
        "syntax-error", "require-concurrent-index", "require-concurrent-index-drop",
        "require-statement-timeout"}
    sarif = json.loads(pgkeel("lint", "--format", "sarif", cwd=project).stdout)
    assert sarif_errors(sarif) == []
    result = next(r for r in sarif["runs"][0]["results"] if r["ruleId"] == "syntax-error")
    assert result["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2, "startColumn": 24}
    github = pgkeel("lint", "--format", "github", cwd=project).stdout.splitlines()
    assert github[0] == ("::error file=migrations/20240106_broken.sql,line=2,col=24,"
                         "title=syntax-error::PostgreSQL cannot parse this: syntax error at "
                         "end of input%0Afix: correct the SQL at this position")


def test_target_version_and_usage_errors(project: Path) -> None:
    (project / "virtual.sql").write_text(
        "ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2) VIRTUAL;\n")
    old = pgkeel("lint", "virtual.sql", "--target-version", "15", cwd=project)
    assert "needs PostgreSQL 18 or later; the target is PostgreSQL 15" in old.stdout
    assert old.returncode == 1
    assert pgkeel("lint", "virtual.sql", "--target-version", "18",
                  cwd=project).returncode == 0
    bad = pgkeel("lint", "--target-version", "150", cwd=project)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --target-version 150")
    pending = pgkeel("lint", "--pending", cwd=project)
    assert pending.returncode == 2 and "--pending needs a database" in pending.stderr
    missing = pgkeel("lint", "nowhere.sql", cwd=project)
    assert missing.returncode == 3 and missing.stderr.startswith("error: ")
    (project / "pgkeel.toml").write_text("[lint]\ndisable = ['syntax-eror']\n")
    config = pgkeel("lint", cwd=project)
    assert config.returncode == 2 and "did you mean syntax-error" in config.stderr


def test_fast_path_takes_the_options_typer_declares() -> None:
    import typer.main

    from pgkeel._lint_cli import OPTIONS, _parser
    from pgkeel.cli import app

    command = typer.main.get_command(app).commands["lint"]  # type: ignore[attr-defined]
    declared = {o for p in command.params for o in p.opts if o.startswith("-")}
    parsed = {o for a in _parser()._actions for o in a.option_strings}
    assert declared == parsed == set(OPTIONS)


def test_help_goes_through_typer(project: Path) -> None:
    shown = pgkeel("lint", "--help", cwd=project)
    assert shown.returncode == 0 and "--pending" in shown.stdout


def _migrate(project: Path, url: str) -> None:
    done = pgkeel("migrate", "up", "-d", url, cwd=project)
    assert done.returncode == 0, done.stderr


def test_pending_history_rules_and_sessions_holding_locks(tmp_path: Path,
                                                          pg_database: TestDatabase) -> None:
    url = pg_database.url
    (tmp_path / "pgkeel.toml").write_text("")
    folder = tmp_path / "migrations"
    folder.mkdir()
    first = folder / "20240101_create_t.sql"
    first.write_text(UP_DOWN.format(
        up="CREATE TABLE t (id bigint, b text);\n"
           "INSERT INTO t SELECT g, 'b' || g FROM generate_series(1, 50) g;",
        down="DROP TABLE t;"))
    (folder / "20240110_later.sql").write_text(UP_DOWN.format(
        up="CREATE TABLE later (x int);", down="DROP TABLE later;"))
    _migrate(tmp_path, url)
    (folder / "20240105_branch.sql").write_text(UP_DOWN.format(
        up="ALTER TABLE t ADD COLUMN c int;", down="ALTER TABLE t DROP COLUMN c;"))
    (folder / "20240120_next.sql").write_text(UP_DOWN.format(
        up="CREATE INDEX t_b_idx ON t (b);", down="DROP INDEX t_b_idx;"))
    first.write_text(first.read_text().replace("50)", "60)"))

    # A session that read t and stays idle in its transaction holds ACCESS SHARE on t.
    with psycopg.connect(url, application_name="forgotten") as other:
        other.execute("SELECT count(*) FROM t")
        pid = other.info.backend_pid
        done = pgkeel("lint", "--pending", "-d", url, "--format", "json", cwd=tmp_path)
        everything = pgkeel("lint", "-d", url, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["files"] == ["migrations/20240105_branch.sql", "migrations/20240120_next.sql"]
    found = {(f["rule"], Path(f["file"]).name) for f in data["findings"]}
    assert ("non-linear-migration", "20240105_branch.sql") in found
    assert ("non-linear-migration", "20240120_next.sql") not in found
    queue = [f for f in data["findings"] if f["rule"] == "lock-queue-preflight"]
    # ALTER TABLE (ACCESS EXCLUSIVE, up and down) conflicts with the reader; CREATE
    # INDEX (SHARE) does not, DROP INDEX names the index, not t.
    assert [(Path(f["file"]).name, f["line"]) for f in queue] == [
        ("20240105_branch.sql", 2), ("20240105_branch.sql", 4)]
    assert f"pid {pid} (" in queue[0]["message"] and "forgotten" in queue[0]["message"]
    assert "idle in transaction" in queue[0]["message"]
    assert all(f["rule"] != "lock-queue-preflight" or f["object"] == "public.t"
               for f in data["findings"])
    modified = [f for f in json.loads(everything.stdout)["findings"]
                if f["rule"] == "applied-migration-modified"]
    assert [Path(f["file"]).name for f in modified] == ["20240101_create_t.sql"]
    # Without the reader, the queue is empty.
    again = json.loads(pgkeel("lint", "--pending", "-d", url, "--format", "json",
                              cwd=tmp_path).stdout)
    assert not [f for f in again["findings"] if f["rule"] == "lock-queue-preflight"]


def test_size_of_the_live_table_scales_the_finding(tmp_path: Path,
                                                   pg_database: TestDatabase) -> None:
    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id bigint, b text); ANALYZE t")
    (tmp_path / "idx.sql").write_text("CREATE INDEX t_b_idx ON t (b);\n")
    done = pgkeel("lint", "idx.sql", "-d", pg_database.url, "--format", "json",
                  cwd=tmp_path)
    finding = next(f for f in json.loads(done.stdout)["findings"]
                   if f["rule"] == "require-concurrent-index")
    assert finding["severity"] == "info" and "holds about 0 rows" in finding["message"]


def test_a_never_analysed_table_is_not_called_empty(tmp_path: Path,
                                                    pg_database: TestDatabase) -> None:
    # reltuples is -1 until the first ANALYZE (PostgreSQL 14+): the rows are unknown,
    # not 0, and the severity stays the rule's own.
    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id bigint, b text) WITH (autovacuum_enabled = false);"
                     "INSERT INTO t SELECT g, g::text FROM generate_series(1, 20000) g")
    (tmp_path / "idx.sql").write_text("CREATE INDEX t_b_idx ON t (b);\n")
    done = pgkeel("lint", "idx.sql", "-d", pg_database.url, "--format", "json",
                  cwd=tmp_path)
    finding = next(f for f in json.loads(done.stdout)["findings"]
                   if f["rule"] == "require-concurrent-index")
    assert finding["severity"] == "warning"
    assert "public.t holds an unknown number of rows (never analyzed)" in finding["message"]


def test_check_answers_migrations_are_safe_to_run(tmp_path: Path,
                                                  pg_database: TestDatabase) -> None:
    url = pg_database.url
    (tmp_path / "pgkeel.toml").write_text("")

    def item() -> dict[str, str]:
        done = pgkeel("check", "-d", url, "--format", "json", "--fail-on", "never",
                      cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return next(c for c in json.loads(done.stdout)["checklist"]
                    if c["item"] == "Migrations are safe to run")

    assert item()["status"] == "not checked"
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20240101_create_t.sql").write_text(UP_DOWN.format(
        up="CREATE TABLE t (id bigint PRIMARY KEY);", down="DROP TABLE t;"))
    assert item()["status"] == "pass", item()
    (folder / "20240102_nested.sql").write_text(UP_DOWN.format(
        up="BEGIN;\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;", down=""))
    failed = item()
    assert failed["status"] == "fail" and "transaction-nesting" in failed["detail"]


def test_pre_commit_hook_runs_pgkeel_lint_on_migration_sql() -> None:
    import re

    hooks = (Path(__file__).resolve().parents[3] / ".pre-commit-hooks.yaml").read_text()
    assert "- id: pgkeel-lint" in hooks and "entry: pgkeel lint\n" in hooks
    pattern = re.search(r"^  files: (.+)$", hooks, re.MULTILINE)
    assert pattern is not None
    files = re.compile(pattern.group(1))
    assert files.search("migrations/20240101_a.sql") and files.search(
        "app/db/migrations/20240101_a.sql")
    assert not files.search("src/query.sql")
