"""The checklist item "Queries use indexes (verify with EXPLAIN)" through ``pgkeel check``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg

from pgkeel.testing import TestDatabase

ITEM = "Queries use indexes (verify with EXPLAIN)"


def _item(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "pgkeel", "check", "--format", "json",
                           "--fail-on", "never", "-d", url],
                          capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return next(c for c in json.loads(done.stdout)["checklist"] if c["item"] == ITEM)


def test_item_answers_from_the_workload(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE ticket (id bigint PRIMARY KEY, owner int NOT NULL);"
                     "INSERT INTO ticket SELECT g, g % 5000 FROM generate_series(1, 20000) g;"
                     "ANALYZE ticket")
    unread = _item(pg_database.url)
    assert unread["status"] == "not checked"
    assert "CREATE EXTENSION pg_stat_statements" in unread["detail"]

    with pg_database.connect() as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
    with psycopg.connect(pg_database.url, autocommit=True) as conn:
        for owner in range(20):
            conn.execute("SELECT id FROM ticket WHERE owner = %s", (owner,))
    warned = _item(pg_database.url)
    assert warned["status"] == "warn"
    assert "SELECT id FROM ticket WHERE owner = $1) scans ticket" in warned["detail"]

    with pg_database.connect() as conn:
        conn.execute("CREATE INDEX ON ticket (owner)")
    assert _item(pg_database.url)["status"] == "pass"
