"""``pgkeel check``'s item "Migrations are reversible (UP/DOWN)", answered by verify."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from migration_helpers import write

from pgkeel.testing import TestDatabase

ITEM = "Migrations are reversible (UP/DOWN)"


def item(project: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run([sys.executable, "-m", "pgkeel", "check", "-d", url, "--project",
                          str(project), "--format", "json", "--fail-on", "never"],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    (found,) = [c for c in json.loads(run.stdout)["checklist"] if c["item"] == ITEM]
    return {"status": found["status"], "detail": found["detail"]}


def test_check_answers_reversibility_from_verify(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    assert item(tmp_path, pg_database.url)["status"] == "not checked"  # no folder
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "20240101_items.sql", "CREATE TABLE items (id int PRIMARY KEY);",
          "DROP TABLE items;")
    assert item(tmp_path, pg_database.url) == {
        "status": "pass",
        "detail": "checked: `pgkeel migrate verify` ran up, down and up again for all 1 "
                  "migration(s) on a scratch database; the catalog matched each time"}
    write(migrations, "20240102_note.sql", "ALTER TABLE items ADD COLUMN note text;",
          "SELECT 1;")
    assert item(tmp_path, pg_database.url) == {
        "status": "fail",
        "detail": "1 of 2 migration(s) not reversible: 20240102_note.sql (down-incomplete); "
                  "`pgkeel migrate verify` shows what each down leaves behind"}


def test_a_broken_folder_is_not_checked_saying_why(pg_database: TestDatabase,
                                                   tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20240101_bad.sql").write_text("-- migrate:up\nBEGIN;\n-- migrate:down\n")
    found = item(tmp_path, pg_database.url)
    assert found["status"] == "not checked"
    assert found["detail"].startswith("`pgkeel migrate verify` could not run: ")
    assert "BEGIN in a migration" in found["detail"]
