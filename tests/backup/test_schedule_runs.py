"""The job ``backup schedule`` prints runs under cron's own environment.

cron runs a job with ``PATH=/usr/bin:/bin`` (crontab(5)), and systemd with its own
short default: a ``pgkeel`` installed in a virtualenv is on neither, so a job that
calls a bare ``pgkeel`` fails every night without a backup ever being made.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from backup_helpers import pgkeel

from pgkeel.testing import TestDatabase


def test_printed_job_runs_with_crons_path(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
    (tmp_path / "pgkeel.toml").write_text(f'database_url = "{pg_database.url}"\n')
    done = pgkeel("backup", "schedule", "--cron", "0 2 * * *", "--project", str(tmp_path))
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("0 2 * * * "))
    job = line.removeprefix("0 2 * * * ")
    ran = subprocess.run(["/bin/sh", "-c", job], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
                         timeout=300, check=False)
    assert ran.returncode == 0, ran.stderr
    listed = pgkeel("backup", "list", "--project", str(tmp_path))
    assert "ok (restore)" in listed.stdout, listed.stdout
