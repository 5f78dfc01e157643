"""Listing, pinning and grandfather-father-son pruning of a backups directory.

The backups here are manifests written by the real writer with chosen dates (what
retention reads), plus one real dump to show the partial-directory rule.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pgkeel.backup.create import create_backup
from pgkeel.backup.manifest import VERIFY_FILE, write_manifest
from pgkeel.backup.store import find_backup, list_backups, pin, prune
from pgkeel.errors import UsageError
from pgkeel.testing import TestDatabase

START = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)  # a Tuesday


def _fake(root: Path, when: datetime, database: str = "app") -> str:
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    path = root / database / stamp
    path.mkdir(parents=True)
    (path / "app.dump").write_bytes(b"x")
    write_manifest(path, {"id": f"{database}/{stamp}", "database": database,
                          "created_at": when.isoformat(), "format": "custom",
                          "compression": "gzip", "archive": "app.dump",
                          "files": [{"path": "app.dump", "size": 1, "sha256": "-"}],
                          "facts": {}, "options": {}})
    return f"{database}/{stamp}"


def _verified(root: Path, ident: str, ok: bool = True, level: str = "restore") -> None:
    (root / ident / VERIFY_FILE).write_text(json.dumps(
        {"ok": ok, "level": level, "at": START.isoformat(), "problems": []}))


def test_gfs_keeps_days_weeks_months(tmp_path: Path) -> None:
    ids = [_fake(tmp_path, START + timedelta(days=d)) for d in range(90)]
    # two backups on the last day: only the newer of them counts for that day
    ids.append(_fake(tmp_path, START + timedelta(days=89, hours=6)))
    plan = prune(tmp_path, keep_daily=7, keep_weekly=4, keep_monthly=3, dry_run=True)
    kept = {e.id: reasons for e, reasons in plan.kept}
    days = [ids[-1], *ids[83:89][::-1]]
    assert sorted(i for i, r in kept.items() if "daily" in r) == sorted(days)
    assert ids[89] not in kept  # same day as ids[-1], which is newer
    # Weekly: the newest of each of the last 4 ISO weeks (they end on Sundays).
    weekly = sorted(i for i, r in kept.items() if "weekly" in r)
    assert weekly == ["app/20261108T020000Z", "app/20261115T020000Z",
                      "app/20261122T020000Z", ids[-1]]
    monthly = sorted(i for i, r in kept.items() if "monthly" in r)
    assert monthly == ["app/20260930T020000Z", "app/20261031T020000Z", ids[-1]]
    assert len(plan.deleted) == 91 - len(kept)
    assert len(list_backups(tmp_path)) == 91  # dry run


def test_pinned_and_newest_verified_survive(tmp_path: Path) -> None:
    ids = [_fake(tmp_path, START + timedelta(days=d)) for d in range(10)]
    _verified(tmp_path, ids[2])
    _verified(tmp_path, ids[3], level="checksum")
    _verified(tmp_path, ids[4], ok=False)
    pin(find_backup(tmp_path, ids[0]))
    plan = prune(tmp_path, keep_daily=2, keep_weekly=0, keep_monthly=0)
    kept = {e.id: reasons for e, reasons in plan.kept}
    assert kept == {ids[0]: ("pinned",), ids[2]: ("newest verified",),
                    ids[8]: ("daily",), ids[9]: ("daily",)}
    assert [e.id for e in list_backups(tmp_path)] == [ids[0], ids[2], ids[8], ids[9]]
    pin(find_backup(tmp_path, ids[0]), pinned=False)
    assert not find_backup(tmp_path, ids[0]).pinned


def test_find_backup(tmp_path: Path) -> None:
    a = _fake(tmp_path, START)
    b = _fake(tmp_path, START + timedelta(hours=1), database="other")
    assert find_backup(tmp_path, "latest").id == b
    assert find_backup(tmp_path, "latest", "app").id == a
    assert find_backup(tmp_path, a.split("/")[1]).id == a
    with pytest.raises(UsageError, match="matches no backup") as exc:
        find_backup(tmp_path, "nope")
    assert a in (exc.value.hint or "")


def test_partial_and_damaged_backups(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id int)")
    made = create_backup(pg_database.url, tmp_path)
    # An interrupted backup: a hidden partial directory, even with a manifest in it.
    partial = made.path.parent / ".20990101T000000Z.partial"
    partial.mkdir()
    (partial / "manifest.json").write_text("{}")
    damaged = made.path.parent / "20000101T000000Z"
    damaged.mkdir()
    (damaged / "manifest.json").write_text('{"pgkeel_manifest": 1}')
    entries = list_backups(tmp_path)
    assert [e.id for e in entries] == [f"{pg_database.name}/20000101T000000Z",
                                       made.manifest.id]
    assert entries[0].manifest is None and "checksum mismatch" in (entries[0].problem or "")
    assert find_backup(tmp_path, "latest").id == made.manifest.id
    plan = prune(tmp_path, keep_daily=0, keep_weekly=0, keep_monthly=0)
    assert [e.id for e in plan.deleted] == [made.manifest.id]
    assert damaged.exists() and partial.exists()  # never deleted by prune


def test_interrupted_backup_leaves_nothing_usable(pg_database: TestDatabase,
                                                   tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g")

    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        create_backup(pg_database.url, tmp_path, progress=interrupt)
    assert list_backups(tmp_path) == []
    assert list((tmp_path / pg_database.name).iterdir()) == []  # partial removed
    # pg_dump was stopped, not left running (its backend may take a moment to notice).
    deadline = time.monotonic() + 10
    while True:
        with pg_database.connect() as conn:
            running = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE "
                                   "application_name = 'pg_dump'").fetchone()
        if running == (0,) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert running == (0,)
