"""``backup verify``: prove a backup at one of three depths, and record the answer.

- ``checksum``: the manifest's own checksum, then every file's size and SHA-256 (a
  missing file, a truncated one and a flipped byte each fail naming the file), and no
  file in the archive that the manifest does not list;
- ``toc``: also, pg_restore reads the archive and its table of contents hashes as
  recorded (plain SQL has no TOC: its files are checked);
- ``restore`` (the default): also, the backup is restored into a scratch database
  pgkeel creates and drops, and compared with the manifest
  (:mod:`pgkeel.backup.compare`); the restore's wall time is the measured recovery
  time. pgBackRest and Barman check manifests but leave test restores to the user;
  the pg_verifybackup docs say a test restore is still needed.

The result goes to ``verify.json`` beside the manifest (written to a temporary name,
then renamed), where ``backup list`` and the checklist read it.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.backup import tools
from pgkeel.backup.compare import Comparison
from pgkeel.backup.manifest import (
    MANIFEST,
    Manifest,
    read_manifest,
    sha256_file,
    write_verification,
)
from pgkeel.backup.restore import restore_into
from pgkeel.backup.toc import toc_sha256
from pgkeel.connect import connect
from pgkeel.dsn import with_database
from pgkeel.errors import DatabaseError, PgkeelError

__all__ = ["LEVELS", "VerifyResult", "verify_backup", "verify_files"]

LEVELS = ("checksum", "toc", "restore")


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The answer of :func:`verify_backup`.

    ``level`` asked; ``ok``; ``problems`` (one line each, naming the file or object);
    ``at`` (UTC); ``duration_ms`` in all; ``restore_ms`` the restore's wall time
    (``restore`` level only); ``comparison`` with the manifest (``restore`` only).
    """

    id: str
    level: str
    ok: bool
    problems: tuple[str, ...]
    at: datetime
    duration_ms: int
    restore_ms: int | None = None
    comparison: Comparison | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """JSON form, as stored in ``verify.json``."""
        checks = self.comparison.checks if self.comparison else ()
        return {"id": self.id, "level": self.level, "ok": self.ok,
                "problems": list(self.problems), "at": self.at.isoformat(),
                "duration_ms": self.duration_ms, "restore_ms": self.restore_ms,
                "checks": [c.to_dict() for c in checks]}


def verify_files(backup: Path, manifest: Manifest) -> list[str]:
    """Check every file the manifest lists; return one problem line per bad file.

    A file missing, of another size (``truncated`` when shorter) or another SHA-256
    is named by its path; so is a file inside the archive the manifest does not list.
    """
    problems = []
    listed = set()
    for entry in manifest.files:
        path = backup / entry["path"]
        listed.add(path)
        if not path.is_file():
            problems.append(f"{path}: missing (listed in {MANIFEST})")
            continue
        size = path.stat().st_size
        if size != entry["size"]:
            what = "truncated" if size < entry["size"] else "grown"
            problems.append(f"{path}: {what}, {size} bytes where the manifest recorded "
                            f"{entry['size']}")
        elif sha256_file(path) != entry["sha256"]:
            problems.append(f"{path}: SHA-256 differs from the manifest (content changed)")
    archive = backup / manifest.archive
    if archive.is_dir():
        problems += [f"{p}: not listed in {MANIFEST}" for p in sorted(archive.rglob("*"))
                     if p.is_file() and p not in listed]
    return problems


def _scratch_name() -> str:
    return f"pgkeel_verify_{os.getpid()}_{secrets.token_hex(3)}"


def _create_scratch(conn: psycopg.Connection[Any], name: str, facts: dict[str, Any]) -> None:
    db = facts["database"]
    plain = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
        sql.Identifier(name), sql.Literal(db["encoding"]))
    try:
        conn.execute(plain + sql.SQL(" LC_COLLATE {} LC_CTYPE {}").format(
            sql.Literal(db["lc_collate"]), sql.Literal(db["lc_ctype"])))
    except psycopg.errors.InvalidParameterValue:
        # The source's locale is not installed here: the data still restores under
        # the server's own (a difference the comparison of row counts would show).
        conn.execute(plain)


def _restore_level(manifest: Manifest, backup: Path, url: str,
                   postgres_bin: Path | None) -> tuple[list[str], int | None,
                                                        Comparison | None]:
    name = _scratch_name()
    with connect(url) as conn:
        try:
            _create_scratch(conn, name, manifest.facts)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise DatabaseError(
                f"cannot create the scratch database to restore into: {exc}",
                sqlstate=exc.sqlstate,
                hint=f"ALTER ROLE {conn.info.user} CREATEDB (or verify as a role that "
                "has it), or verify with --level toc") from exc
    try:
        try:
            result = restore_into(manifest, backup, with_database(url, name),
                                  postgres_bin=postgres_bin, fixups=False)
        except PgkeelError as exc:
            return [f"restore into scratch database failed: {exc}"], None, None
        problems = [f"{c.kind} {c.object}: {c.detail}" for c in result.comparison.failures]
        return problems, result.restore_ms, result.comparison
    finally:
        with connect(url) as conn:
            force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 \
                else sql.SQL("")
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
                         + force)


def verify_backup(backup: Path, url: str | None, *, level: str = "restore",
                  postgres_bin: Path | None = None, record: bool = True) -> VerifyResult:
    """Verify the backup in directory ``backup`` at ``level`` (module docstring).

    ``url`` is a database on the server that hosts the scratch database (needs
    CREATEDB); only the ``restore`` level uses it. With ``record`` the result is
    written to ``backup/verify.json``. Returns the :class:`VerifyResult`; a damaged
    backup is a result with ``ok`` False, not an exception.

    Raises ``UsageError`` for an unknown level or a ``restore`` level without ``url``;
    ``BackupDamaged`` when the manifest itself is missing or damaged; ``ConnectError``
    and ``DatabaseError`` when the scratch database cannot be created or dropped.
    """
    from pgkeel.errors import UsageError

    if level not in LEVELS:
        raise UsageError(f"unknown verify level {level!r}", hint=f"use one of "
                         f"{', '.join(LEVELS)}")
    if level == "restore" and url is None:
        raise UsageError("verify --level restore needs a database server",
                         hint="give --database-url (the scratch database is made there)")
    at = datetime.now(UTC)
    clock = time.perf_counter()
    manifest = read_manifest(backup)
    problems = verify_files(backup, manifest)
    restore_ms: int | None = None
    comparison: Comparison | None = None
    if not problems and level in ("toc", "restore") and manifest.format != "plain":
        binaries = tools.pick(int(manifest.body["pg_dump"]["major"]), postgres_bin,
                              program="pg_restore", why="to read this archive")
        try:
            toc = toc_sha256(binaries.tool("pg_restore"), backup / manifest.archive)
        except PgkeelError as exc:
            problems.append(str(exc))
        else:
            if toc != manifest.body["toc_sha256"]:
                problems.append(f"{backup / manifest.archive}: table of contents differs "
                                "from the manifest's")
    if not problems and level == "restore":
        assert url is not None
        problems, restore_ms, comparison = _restore_level(manifest, backup, url,
                                                          postgres_bin)
    result = VerifyResult(manifest.id, level, not problems, tuple(problems), at,
                          round((time.perf_counter() - clock) * 1000), restore_ms,
                          comparison)
    if record:
        _record(backup, result)
    return result


def _record(backup: Path, result: VerifyResult) -> None:
    write_verification(backup, result.to_dict())
