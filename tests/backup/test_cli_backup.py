"""The ``pgkeel backup`` commands end to end, and the checklist item they answer."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from backup_helpers import pgkeel

from pgkeel.testing import TestDatabase

ITEM = "Backup strategy documented and tested"


def _item(url: str, project: Path) -> dict[str, str]:
    done = pgkeel("check", "-d", url, "--project", str(project), "--format", "json",
                  "--fail-on", "never")
    assert done.returncode == 0, done.stderr
    return next(i for i in json.loads(done.stdout)["checklist"] if i["item"] == ITEM)


def test_create_list_verify_pin_prune_and_checklist(pagila: TestDatabase,
                                                    tmp_path: Path) -> None:
    item = _item(pagila.url, tmp_path)
    assert item["status"] == "fail" and "pgkeel backup create" in item["detail"]

    done = pgkeel("backup", "create", "-d", pagila.url, "--project", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert f"backup {pagila.name}/" in done.stdout
    assert "pg_dump " in done.stdout and "dumped PostgreSQL" in done.stdout  # which ran
    assert (tmp_path / "backups" / pagila.name).is_dir()  # [backup] directory default
    item = _item(pagila.url, tmp_path)
    assert item["status"] == "warn" and "never verified" in item["detail"]

    done = pgkeel("backup", "verify", "latest", "--level", "checksum", "--project",
                  str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _item(pagila.url, tmp_path)["status"] == "warn"  # not by restore

    done = pgkeel("backup", "verify", "latest", "-d", pagila.url, "--project",
                  str(tmp_path), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] and result["level"] == "restore" and result["restore_ms"] > 0
    item = _item(pagila.url, tmp_path)
    assert item["status"] == "pass" and "verified by restore" in item["detail"]

    second = pgkeel("backup", "create", "-d", pagila.url, "--project", str(tmp_path),
                    "--format", "directory", "--jobs", "2", "--json")
    assert second.returncode == 0, second.stderr
    second_id = json.loads(second.stdout)["id"]
    listed = json.loads(pgkeel("backup", "list", "--json", "--project",
                               str(tmp_path)).stdout)
    assert [b["format"] for b in listed] == ["custom", "directory"]
    assert listed[0]["verification"]["ok"] and listed[1]["verification"] is None
    text = pgkeel("backup", "list", "--project", str(tmp_path)).stdout
    assert "ok (restore)" in text and "never" in text

    assert pgkeel("backup", "pin", second_id, "--project", str(tmp_path)).returncode == 0
    done = pgkeel("backup", "prune", "--keep-daily", "0", "--keep-weekly", "0",
                  "--keep-monthly", "0", "--project", str(tmp_path))
    assert done.returncode == 0, done.stderr
    # Neither goes: one is the newest verified, the other is pinned.
    assert "newest verified" in done.stdout and "pinned" in done.stdout
    assert len(json.loads(pgkeel("backup", "list", "--json", "--project",
                                 str(tmp_path)).stdout)) == 2


def test_config_directory_and_usage_errors(pg_database: TestDatabase,
                                           tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text('[backup]\ndirectory = "dumps"\n'
                                          "max_age_hours = 1\n")
    done = pgkeel("backup", "create", "-d", pg_database.url, "--project", str(tmp_path),
                  "--format", "plain")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dumps" / pg_database.name).is_dir()
    done = pgkeel("backup", "create", "-d", pg_database.url, "--project", str(tmp_path),
                  "--jobs", "2")
    assert done.returncode == 2 and "--format directory" in done.stderr
    assert done.stderr.startswith("error: ") and "— fix:" in done.stderr
    done = pgkeel("backup", "verify", "nope", "--project", str(tmp_path))
    assert done.returncode == 2 and "matches no backup" in done.stderr
    (tmp_path / "pgkeel.toml").write_text('[backup]\ndirectroy = "x"\n')
    done = pgkeel("backup", "list", "--project", str(tmp_path))
    assert done.returncode == 2 and "pgkeel.toml:2" in done.stderr
    assert "directory" in done.stderr  # the known keys are listed
    (tmp_path / "pgkeel.toml").write_text('[backup]\nmax_age_hours = "soon"\n')
    done = pgkeel("backup", "list", "--project", str(tmp_path))
    assert done.returncode == 2 and "pgkeel.toml:2" in done.stderr
    assert "max_age_hours is the age in hours" in done.stderr


def test_schedule_prints_cron_and_units(tmp_path: Path) -> None:
    done = pgkeel("backup", "schedule", "--cron", "0 2 * * *", "--project", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (f"0 2 * * * cd {tmp_path} && {shlex.quote(sys.executable)} -m pgkeel backup "
            "create") in done.stdout
    assert "OnCalendar=*-*-* 02:00:00" in done.stdout
    done = pgkeel("backup", "schedule", "--cron", "0 2 * *", "--project", str(tmp_path))
    assert done.returncode == 2
