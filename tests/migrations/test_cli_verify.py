"""``pgkeel migrate verify`` as a user runs it: table, findings, JSON, SARIF, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from migration_helpers import write
from sarif_schema import sarif_errors

from pgkeel.testing import TestDatabase


def pgkeel(*args: str, project: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "migrate", "verify", *args,
                           "-d", url, "--project", str(project)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def project(tmp_path: Path, *, forgetful: bool) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "20240101_orders.sql",
          "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2));\n"
          "INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;",
          "DROP TABLE orders;")
    write(migrations, "20240102_note.sql",
          "ALTER TABLE orders ADD COLUMN note text DEFAULT 'n/a';\n"
          "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,3);",
          "ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);"
          + ("" if forgetful else "\nALTER TABLE orders DROP COLUMN note;"))
    return tmp_path


def test_reversible_history_exits_0_and_shows_the_lock(pg_database: TestDatabase,
                                                       tmp_path: Path) -> None:
    run = pgkeel(project=project(tmp_path, forgetful=False), url=pg_database.url)
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines()]
    assert rows[0] == ["version", "name", "reversible", "locks", "rewrite", "ms"]
    assert rows[1][:4] == ["20240101", "orders", "yes", "-"]
    assert rows[2][:9] == ["20240102", "note", "yes", "`ACCESS", "EXCLUSIVE`", "on", "`orders`,",
                           "table", "rewritten"]
    assert rows[2][9] == "orders"
    assert run.stdout.splitlines()[-1].startswith("2 of 2 migration(s) reversible")


def test_forgotten_column_exits_1_with_json_and_sarif(pg_database: TestDatabase,
                                                      tmp_path: Path) -> None:
    where = project(tmp_path, forgetful=True)
    text = pgkeel(project=where, url=pg_database.url)
    assert text.returncode == 1, text.stderr
    assert "20240102_note.sql: column `orders.note` still exists after down" in text.stdout
    assert "no: down incomplete" in text.stdout

    shown = pgkeel("--format", "json", project=where, url=pg_database.url)
    assert shown.returncode == 1, shown.stderr
    document = json.loads(shown.stdout)
    assert document["ok"] is False
    assert [m["verdict"] for m in document["migrations"]] == ["reversible",
                                                              "down-incomplete"]
    assert [(f["rule"], f["object"], f["line"], f["fix"]) for f in document["findings"]] == [
        ("down-incomplete", "public.orders.note", 5, "drop it in the down section"),
        ("reapply-fails", None, 2, "make the down undo what this statement needs undone"),
    ]
    rules = [f["rule"] for f in document["findings"]]
    assert document["findings"][1]["message"] == (
        "20240102_note.sql: up, run again after down, fails at statement 1 (line 2): "
        'column "note" of relation "orders" already exists [SQLSTATE 42701]')

    sarif = pgkeel("--format", "sarif", project=where, url=pg_database.url)
    assert sarif.returncode == 1
    log = json.loads(sarif.stdout)
    assert sarif_errors(log) == []
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == rules


def test_unknown_from_version_is_a_usage_error(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    run = pgkeel("--from", "1999", project=project(tmp_path, forgetful=False),
                 url=pg_database.url)
    assert run.returncode == 2
    assert run.stderr.startswith("error: no migration has version 1999 — fix:")
