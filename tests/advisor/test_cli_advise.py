"""``pgkeel advise indexes`` through the console script: file and pg_stat_statements
workloads, text and JSON, exit codes, --write-migration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from advisor_helpers import shop_fixture, shop_template_fixture  # noqa: F401

from pgkeel.testing import TestDatabase

LOOKUP = "-- weight: 50\nSELECT id, name FROM customers WHERE lower(email) = 'user9@example.com';\n"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "advise", "indexes", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_file_workload_text_and_migration(shop: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "w.sql").write_text(LOOKUP)
    done = _run("--workload", "w.sql", "--hypopg", "off", "--write-migration", "--verify",
                "-d", shop.url, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert ('CREATE INDEX CONCURRENTLY "customers_lower_email_idx" ON "public"."customers" '
            "((lower(email)));") in done.stdout
    assert "serves w.sql:2 (weight 50)" in done.stdout
    assert "Measured on a scratch copy (median ms)" in done.stdout
    assert "Weighted workload time:" in done.stdout
    (migration,) = (tmp_path / "migrations").glob("*_add_advised_indexes.sql")
    assert "-- migrate:up transaction:false" in migration.read_text()
    assert 'DROP INDEX CONCURRENTLY IF EXISTS "public"."customers_lower_email_idx";' in \
        migration.read_text()


def test_json_and_nothing_to_suggest(shop: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "w.sql").write_text("SELECT email FROM customers WHERE id = 4;\n")
    done = _run("--workload", "w.sql", "--hypopg", "off", "--format", "json", "-d", shop.url,
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["advice"]["suggestions"] == []
    assert report["advice"]["covered"] == [['CREATE INDEX ON "public"."customers" ("id")',
                                            "customers_pkey"]]


def test_bad_workload_file_is_a_usage_error(shop: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "w.sql").write_text("SELECT 1;\nDROP TABLE orders;\n")
    done = _run("--workload", "w.sql", "-d", shop.url, cwd=tmp_path)
    assert done.returncode == 2
    assert "error: w.sql:2: DropStmt is not a query — fix:" in " ".join(done.stderr.split())


def test_pg_stat_statements_workload_with_parameters(shop: TestDatabase,
                                                     tmp_path: Path) -> None:
    with shop.connect() as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements")
        conn.execute("SELECT pg_stat_statements_reset()")
    # Server-side parameters: pg_stat_statements records "... = $1", which the advisor
    # plans generically (PREPARE on 15, GENERIC_PLAN on 16+).
    with psycopg.connect(shop.url, autocommit=True) as conn:
        for n in range(30):
            conn.execute("SELECT id FROM orders WHERE customer_id = %s", (n,))
    done = _run("--workload", "stats", "--hypopg", "off", "-d", shop.url, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert '"orders_customer_id_idx" ON "public"."orders" ("customer_id");' in done.stdout
    assert "(weight 30)" in done.stdout
