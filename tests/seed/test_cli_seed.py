"""``pgkeel seed generate`` as a user runs it: rows per table, --table T=N, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgkeel.testing import TestDatabase


def pgkeel(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "seed", "generate", *args,
                           "-d", url, "--project", str(cwd)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)


def test_generate_fills_tables_and_their_parents(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);"
                     "CREATE TABLE orders (id serial PRIMARY KEY,"
                     " customer_id int NOT NULL REFERENCES customers,"
                     " total numeric(8,2) NOT NULL CHECK (total > 0));"
                     "CREATE TABLE other (id int PRIMARY KEY)")
    done = pgkeel("--table", "orders=40", "--seed", "2", url=pg_database.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "40 row(s)" not in done.stdout and "43 row(s) in 2 table(s), seed 2" in done.stdout
    with pg_database.connect() as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM customers),"
                              " (SELECT count(*) FROM orders), (SELECT count(*) FROM other)"
                              ).fetchone()
    assert counts == (3, 40, 0)

    bad = pgkeel("--table", "orders", url=pg_database.url, cwd=tmp_path)
    assert bad.returncode == 2 and "write TABLE=N" in bad.stderr
    missing = pgkeel("--table", "nope=3", url=pg_database.url, cwd=tmp_path)
    assert missing.returncode == 2 and "table public.nope does not exist" in missing.stderr


def test_unsatisfiable_check_exits_1_naming_it(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE zips (code text NOT NULL"
                     " CHECK (code ~ '^[0-9]{5}$' AND code LIKE 'x%'))")
    done = pgkeel("--rows", "4", url=pg_database.url, cwd=tmp_path)
    assert done.returncode == 1
    assert "CHECK zips_code_check on public.zips: 4 generated rows" in done.stdout
