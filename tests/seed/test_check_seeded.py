"""``pgkeel check``'s item "Seed data available for development": seed files, or else
generated rows, on a scratch database built from the migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pgkeel.testing import TestDatabase

ITEM = "Seed data available for development"


def item(project: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    run = subprocess.run([sys.executable, "-m", "pgkeel", "check", "-d", url, "--project",
                          str(project), "--format", "json", "--fail-on", "never"],
                         capture_output=True, text=True, env=env, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    (found,) = [c for c in json.loads(run.stdout)["checklist"] if c["item"] == ITEM]
    return {"status": found["status"], "detail": found["detail"]}


def test_check_seeds_a_scratch_database(pg_database: TestDatabase, tmp_path: Path) -> None:
    assert item(tmp_path, pg_database.url)["status"] == "not checked"  # no migrations
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20240101_items.sql").write_text(
        "-- migrate:up\nCREATE TABLE items (id serial PRIMARY KEY,"
        " price numeric(8,2) NOT NULL CHECK (price > 0));\n"
        "-- migrate:down\nDROP TABLE items;\n")
    generated = item(tmp_path, pg_database.url)
    assert generated["status"] == "pass"
    assert "no seeds/ folder, but `pgkeel seed generate` filled 1 table(s)" in (
        generated["detail"])

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "10_items.csv").write_text("price\n9.99\n")
    assert item(tmp_path, pg_database.url) == {
        "status": "pass",
        "detail": "checked: the 1 seed file(s) of seeds/ ran cleanly on a scratch database "
                  "built from the migrations"}
    (seeds / "10_items.csv").write_text("price\n9.99\n-1\n")
    failed = item(tmp_path, pg_database.url)
    assert failed["status"] == "fail"
    assert "10_items.csv:3: new row for relation \"items\" violates check constraint" in (
        failed["detail"])
    with pg_database.connect() as conn:  # the audited database was never seeded
        assert conn.execute("SELECT to_regclass('items')").fetchone() == (None,)
