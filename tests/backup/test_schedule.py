"""``backup schedule``: crontab line and systemd units, checked by systemd itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pgkeel.backup.schedule import schedule
from pgkeel.errors import UsageError


@pytest.mark.parametrize(("cron", "calendar"), [
    ("0 2 * * *", "*-*-* 02:00:00"),
    ("*/15 * * * 1-5", "Mon,Tue,Wed,Thu,Fri *-*-* *:00/15:00"),
    ("30 3 1 * *", "*-*-01 03:30:00"),
    ("0 4 * * 0,6", "Sun,Sat *-*-* 04:00:00"),
    ("5 1-5/2 * 1,7 *", "*-01,07-* 01..05/2:05:00"),
])
def test_cron_to_on_calendar(cron: str, calendar: str, tmp_path: Path) -> None:
    plan = schedule(cron, tmp_path)
    assert plan.on_calendar == calendar
    assert plan.crontab.startswith(cron + " cd ")
    assert f"OnCalendar={calendar}\n" in plan.timer
    analyze = shutil.which("systemd-analyze")
    if analyze:  # systemd parses the expression (no running systemd needed)
        done = subprocess.run([analyze, "calendar", calendar], capture_output=True,
                              text=True, check=False)
        assert done.returncode == 0, done.stderr


def test_job_creates_verifies_then_prunes(tmp_path: Path) -> None:
    plan = schedule("0 2 * * *", tmp_path / "my app", keep_daily=3)
    assert plan.command == (f"cd '{tmp_path}/my app' && pgkeel backup create && pgkeel "
                            "backup verify latest && pgkeel backup prune --keep-daily 3 "
                            "--keep-weekly 4 --keep-monthly 6")
    assert "Persistent=true" in plan.timer and "Type=oneshot" in plan.service
    done = subprocess.run(["sh", "-n", "-c", plan.command], check=False)
    assert done.returncode == 0


@pytest.mark.parametrize(("cron", "message"), [
    ("0 2 * *", "has 4 fields"),
    ("61 2 * * *", "minute 61 is outside 0-59"),
    ("0 2 1 * 1", "both a day of month and a day of week"),
    ("0 2 * * MON", "not supported"),
])
def test_bad_cron_is_a_usage_error(cron: str, message: str, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=message):
        schedule(cron, tmp_path)
