"""The backups directory: list, find by id, pin, and prune by grandfather-father-son.

Layout: ``<backups>/<database>/<UTC stamp>/`` holding ``manifest.json``, the dump,
and optionally ``verify.json`` (:mod:`pgkeel.backup.verify`) and ``pinned``. Hidden
``.<stamp>.partial`` directories are backups still being written or interrupted:
never listed, never used.

Retention is grandfather-father-son, as pgBackRest, Barman (``barman keep``) and WAL-G
(``backup-mark``) offer it: the newest backup of each of the last ``keep_daily``
days, ``keep_weekly`` ISO weeks and ``keep_monthly`` months (UTC) that have backups is
kept; so is every pinned backup and the newest one verified by restore, whatever the
counts say. A backup whose manifest is damaged is never deleted by prune: a person
should look at it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgkeel.backup.manifest import MANIFEST, Manifest, read_manifest, read_verification
from pgkeel.errors import PgkeelError, UsageError

__all__ = ["PIN_FILE", "BackupEntry", "PrunePlan", "directory_name", "find_backup",
           "list_backups", "pin", "prune"]

PIN_FILE = "pinned"


@dataclass(frozen=True, slots=True)
class BackupEntry:
    """One backup directory: ``id`` (``database/stamp``), ``path``, its ``manifest``
    (None when damaged: ``problem`` says why), last ``verification`` (the
    ``verify.json`` dict or None) and ``pinned``."""

    id: str
    path: Path
    manifest: Manifest | None
    problem: str | None
    verification: dict[str, Any] | None
    pinned: bool

    @property
    def created_at(self) -> datetime:
        """When the dump started; for a damaged backup, the time its name says."""
        if self.manifest is not None:
            return self.manifest.created_at
        try:
            return datetime.strptime(self.path.name[:16], "%Y%m%dT%H%M%SZ").replace(
                tzinfo=UTC)
        except ValueError:
            return datetime.fromtimestamp(self.path.stat().st_mtime, UTC)

    @property
    def verified_by_restore(self) -> bool:
        """True when the last verification restored it and passed."""
        v = self.verification
        return bool(v and v.get("ok") and v.get("level") == "restore")


def _entry(path: Path) -> BackupEntry:
    try:
        manifest: Manifest | None = read_manifest(path)
        problem = None
    except PgkeelError as exc:
        manifest, problem = None, str(exc)
    return BackupEntry(f"{path.parent.name}/{path.name}", path, manifest, problem,
                       read_verification(path), (path / PIN_FILE).exists())


def directory_name(database: str) -> str:
    """The directory under the backups root that holds ``database``'s backups.

    A database name may hold any character (PostgreSQL docs, "Identifiers and Key
    Words", quoted identifiers): ``/`` (and ``%``, to keep names apart) are
    percent-encoded, and so is a leading ``.``, so that no name (``..``, ``../x``,
    ``a/b``) leads out of the root or into another database's directory, or hides it.
    """
    safe = database.replace("%", "%25").replace("/", "%2F")
    return "%2E" + safe[1:] if safe.startswith(".") else safe


def list_backups(root: Path, database: str | None = None) -> list[BackupEntry]:
    """Every backup under ``root`` (of ``database`` only, when given), oldest first.

    Only directories holding a ``manifest.json`` count, damaged or not; hidden
    (partial) ones never do.
    """
    if not root.is_dir():
        return []
    parents = [root / directory_name(database)] if database else sorted(p for p in root.iterdir()
                                                        if p.is_dir())
    found = [_entry(d) for parent in parents if parent.is_dir()
             for d in sorted(parent.iterdir())
             if d.is_dir() and not d.name.startswith(".") and (d / MANIFEST).exists()]
    return sorted(found, key=lambda e: (e.created_at, e.id))


def find_backup(root: Path, ident: str, database: str | None = None) -> BackupEntry:
    """The backup named ``ident``: ``database/stamp``, a ``stamp`` unique under
    ``root``, or ``latest`` (the newest with a sound manifest, of ``database`` when
    given).

    Raises ``UsageError`` (exit 2) when none or several match, listing what exists.
    """
    entries = list_backups(root, database)
    if ident == "latest":
        sound = [e for e in entries if e.manifest is not None]
        if sound:
            return sound[-1]
        matches: list[BackupEntry] = []
    else:
        matches = [e for e in entries if ident in (e.id, e.path.name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(e.id for e in entries[-5:]) or "none"
    why = "matches several backups" if matches else "matches no backup"
    raise UsageError(f"backup id {ident!r} {why} under {root}",
                     hint=f"run `pgkeel backup list`; newest ids: {known}")


def pin(entry: BackupEntry, *, pinned: bool = True) -> None:
    """Pin ``entry`` (prune never deletes it) or, with ``pinned`` False, unpin it."""
    marker = entry.path / PIN_FILE
    if pinned:
        marker.write_text(json.dumps({"at": datetime.now(UTC).isoformat()}) + "\n",
                          encoding="utf-8")
    else:
        marker.unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What prune keeps (``kept``: entry and its reasons) and deletes (``deleted``);
    ``dry_run`` True when nothing was deleted."""

    kept: tuple[tuple[BackupEntry, tuple[str, ...]], ...]
    deleted: tuple[BackupEntry, ...]
    dry_run: bool


def _reasons(entries: list[BackupEntry], keep_daily: int, keep_weekly: int,
             keep_monthly: int) -> dict[str, list[str]]:
    reasons: dict[str, list[str]] = {e.id: [] for e in entries}
    newest_first = sorted(entries, key=lambda e: e.created_at, reverse=True)
    buckets = (("daily", keep_daily, lambda d: d.date()),
               ("weekly", keep_weekly, lambda d: d.isocalendar()[:2]),
               ("monthly", keep_monthly, lambda d: (d.year, d.month)))
    for label, keep, key in buckets:
        seen: set[object] = set()
        for entry in newest_first:
            bucket = key(entry.created_at.astimezone(UTC))
            if bucket not in seen and len(seen) < keep:
                seen.add(bucket)
                reasons[entry.id].append(label)
    for entry in entries:
        if entry.pinned:
            reasons[entry.id].append("pinned")
    verified = [e for e in newest_first if e.verified_by_restore]
    if verified:
        reasons[verified[0].id].append("newest verified")
    return reasons


def prune(root: Path, *, keep_daily: int, keep_weekly: int, keep_monthly: int,
          dry_run: bool = False, database: str | None = None) -> PrunePlan:
    """Apply grandfather-father-son retention (module docstring) under ``root``.

    Each database's backups are judged on their own. With ``dry_run`` nothing is
    deleted. Returns the :class:`PrunePlan`. Raises ``UsageError`` for a negative
    count, and ``OSError`` when a deletion fails (the plan is then partly applied:
    the backups left are whole, each is deleted manifest-first).
    """
    if min(keep_daily, keep_weekly, keep_monthly) < 0:
        raise UsageError("--keep-* counts cannot be negative", hint="use 0 or more")
    entries = [e for e in list_backups(root, database) if e.manifest is not None]
    kept: list[tuple[BackupEntry, tuple[str, ...]]] = []
    deleted: list[BackupEntry] = []
    for db in sorted({e.manifest.database for e in entries if e.manifest}):
        mine = [e for e in entries if e.manifest and e.manifest.database == db]
        reasons = _reasons(mine, keep_daily, keep_weekly, keep_monthly)
        for entry in mine:
            if reasons[entry.id]:
                kept.append((entry, tuple(reasons[entry.id])))
            else:
                deleted.append(entry)
    if not dry_run:
        for entry in deleted:
            # Manifest first: an interrupted prune leaves no half backup looking whole.
            (entry.path / MANIFEST).unlink()
            shutil.rmtree(entry.path)
        if deleted:
            fd = os.open(root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    return PrunePlan(tuple(kept), tuple(deleted), dry_run)
