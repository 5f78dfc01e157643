"""``pgkeel generate`` as a user runs it: the file written, printed, linted, applied."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgkeel.connect import connect
from pgkeel.testing import TestDatabase


def pgkeel(*args: str, project: Path, url: str | None = None
           ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    extra = ["-d", url] if url else []
    return subprocess.run([sys.executable, "-m", "pgkeel", *args, *extra,
                           "--project", str(project)], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_generate_timestamps_all_then_lint_and_up(pg_database: TestDatabase,
                                                  tmp_path: Path) -> None:
    with connect(pg_database.url) as conn:
        conn.execute("CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric);"
                     "INSERT INTO public.orders SELECT g, g FROM generate_series(1, 20) g;"
                     "CREATE TABLE public.events (at timestamptz, body text)")
    done = pgkeel("generate", "timestamps", "--all", project=tmp_path, url=pg_database.url)
    assert done.returncode == 0, done.stderr
    (path,) = (tmp_path / "migrations").glob("*_add_row_timestamps.sql")
    assert done.stdout.strip() == path.read_text().strip()
    assert '"public"."orders"' in done.stdout and '"public"."events"' in done.stdout
    linted = subprocess.run([sys.executable, "-m", "pgkeel", "lint", str(path)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert linted.returncode == 0, linted.stdout
    up = pgkeel("migrate", "up", project=tmp_path, url=pg_database.url)
    assert up.returncode == 0, up.stderr
    with connect(pg_database.url) as conn:
        assert conn.execute("SELECT count(*) FROM orders WHERE updated_at IS NOT NULL"
                            ).fetchone()[0] == 20


def test_generate_audit_refuses_a_table_without_key(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    with connect(pg_database.url) as conn:
        conn.execute("CREATE TABLE public.events (at timestamptz, body text)")
    done = pgkeel("generate", "audit", "events", project=tmp_path, url=pg_database.url)
    assert done.returncode == 2
    assert done.stderr.startswith("error: public.events has no primary key")
    assert not (tmp_path / "migrations").exists() or \
        not list((tmp_path / "migrations").iterdir())
