"""``pgkeel rls test`` as a user runs it: the matrix, rows leaked, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rls_setup import protected

from pgkeel.connect import connect
from pgkeel.testing import TestDatabase


def rls_test(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "pgkeel", "rls", "test", *args, "-d", url,
                           "--project", str(cwd)], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_rls_test_passes_then_finds_a_planted_leak(pg_database: TestDatabase,
                                                   tmp_path: Path) -> None:
    personas = protected(pg_database.url, tmp_path)
    done = rls_test("--personas", str(personas), url=pg_database.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "rows leaked: 0 (0 leak(s) in 20 case(s))" in done.stdout
    assert "own: 50 rows / other: 0 rows" in done.stdout
    derived = rls_test(url=pg_database.url, cwd=tmp_path)
    assert derived.returncode == 0 and "derived from public.organization_members" in \
        derived.stderr.replace("\n", " ")
    with connect(pg_database.url) as conn:
        conn.execute("DROP POLICY projects_tenant_delete ON projects")
        conn.execute("CREATE POLICY projects_tenant_delete ON projects FOR DELETE "
                     "TO authenticated USING (true)")
    leaked = rls_test("--personas", str(personas), url=pg_database.url, cwd=tmp_path)
    assert leaked.returncode == 1
    assert ("error: public.projects DELETE: persona outsider reached 100 row(s) of other "
            "tenants through policy projects_tenant_delete") in leaked.stderr
    assert "rows leaked: 200" in leaked.stdout


def test_no_personas_is_a_usage_error(pg_database: TestDatabase, tmp_path: Path) -> None:
    done = rls_test(url=pg_database.url, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: no personas: organization_members is missing")
