"""``pgkeel migrate drift`` as a user runs it: text, JSON, exit codes, --write-migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from migration_helpers import write

from pgkeel.connect import connect
from pgkeel.testing import TestDatabase


def pgkeel(*args: str, project: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "migrate", *args,
                           "-d", url, "--project", str(project)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_drift_found_written_adopted_then_silent(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    write(migrations, "20240101_orders.sql",
          "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2));\n"
          "INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;",
          "DROP TABLE orders;")
    assert pgkeel("up", project=tmp_path, url=pg_database.url).returncode == 0

    clean = pgkeel("drift", project=tmp_path, url=pg_database.url)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.startswith("no drift: the database matches its migrations")

    with connect(pg_database.url) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN note text;"
                     "CREATE INDEX orders_total_idx ON orders (total);"
                     "ALTER TABLE orders ENABLE ROW LEVEL SECURITY;"
                     "CREATE POLICY orders_all ON orders USING (true)")
    found = pgkeel("drift", "--format", "json", project=tmp_path, url=pg_database.url)
    assert found.returncode == 1, found.stderr
    data = json.loads(found.stdout)
    assert data["drifted"] is True
    assert [d["message"] for d in data["differences"]] == [
        "table `orders` differs in the database from the migrations: rls enabled no → yes",
        "column `orders.note` exists in the database but in no migration",
        "policy `orders_all` on `orders` exists in the database but in no migration",
        "index `orders_total_idx` on `orders` exists in the database but in no migration",
    ]

    wrote = pgkeel("drift", "--write-migration", "adopt hand changes", project=tmp_path,
                   url=pg_database.url)
    assert wrote.returncode == 0, wrote.stderr
    files = sorted(p.name for p in migrations.iterdir())
    assert len(files) == 3 and files[1].endswith("_adopt_hand_changes.sql")
    assert files[2].endswith("_adopt_hand_changes_online.sql")
    assert "recorded as applied in this database" in wrote.stderr

    verified = pgkeel("verify", project=tmp_path, url=pg_database.url)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    status = pgkeel("status", "--format", "json", project=tmp_path, url=pg_database.url)
    assert status.returncode == 0 and json.loads(status.stdout)["counts"]["applied"] == 3
    silent = pgkeel("drift", project=tmp_path, url=pg_database.url)
    assert silent.returncode == 0 and "no drift" in silent.stdout
