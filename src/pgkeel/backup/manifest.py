"""``manifest.json``: what a backup holds, with a checksum of its own (and ``verify.json``).

Modelled on PostgreSQL's ``backup_manifest`` for base backups (PostgreSQL docs,
"Backup Manifest Format"): every file with its size and SHA-256, and a checksum of the
manifest itself (there ``Manifest-Checksum``, the SHA-256 of everything before it; here
``manifest_sha256``, the SHA-256 of the canonical JSON of every other key), so a
manifest edited or damaged on disk is detected before anything trusts it.

A manifest is a plain ``dict`` on disk; :class:`Manifest` reads the keys pgkeel
needs. The body's shape (schema version 1)::

    {"pgkeel_manifest": 1, "id", "database", "created_at" (ISO 8601 UTC),
     "duration_ms", "format" (custom|directory|plain), "compression",
     "options": {"jobs", "tables", "schema_only"},
     "archive" (the dump's name), "pgkeel" (version),
     "pg_dump": {"path", "version", "major"}, "server": {"version", "major"},
     "facts": {see pgkeel.backup.facts}, "toc_sha256" (null for plain),
     "files": [{"path", "size", "sha256"}], "manifest_sha256"}
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pgkeel.errors import Refused

__all__ = ["MANIFEST", "VERIFY_FILE", "BackupDamaged", "Manifest", "file_entry",
           "read_manifest", "read_verification", "sha256_file", "write_manifest",
           "write_verification"]

MANIFEST = "manifest.json"
#: The last verification's result, beside the manifest (:mod:`pgkeel.backup.verify`).
VERIFY_FILE = "verify.json"
SCHEMA_VERSION = 1


class BackupDamaged(Refused):
    """A backup's manifest or files do not match what was recorded (exit 4)."""


def _canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def sha256_file(path: Path) -> str:
    """The SHA-256 (hex) of the file at ``path``, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(root: Path, path: Path) -> dict[str, Any]:
    """The manifest entry of ``path`` (relative to ``root``, ``/``-separated)."""
    return {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size,
            "sha256": sha256_file(path)}


@dataclass(frozen=True, slots=True)
class Manifest:
    """A read, self-checked manifest: ``body`` is the whole JSON object."""

    body: dict[str, Any]

    @property
    def id(self) -> str:
        """``<database>/<UTC stamp>``, the backup's id."""
        return str(self.body["id"])

    @property
    def database(self) -> str:
        """The database that was dumped."""
        return str(self.body["database"])

    @property
    def created_at(self) -> datetime:
        """When the dump started (aware, UTC)."""
        return datetime.fromisoformat(self.body["created_at"])

    @property
    def format(self) -> str:
        """``custom``, ``directory`` or ``plain``."""
        return str(self.body["format"])

    @property
    def files(self) -> list[dict[str, Any]]:
        """``[{"path", "size", "sha256"}]``: every file of the dump."""
        return list(self.body["files"])

    @property
    def archive(self) -> str:
        """The dump's path relative to the backup (a file, or directory format's dir)."""
        return str(self.body["archive"])

    @property
    def facts(self) -> dict[str, Any]:
        """Catalog facts of the source at dump time (:mod:`pgkeel.backup.facts`)."""
        return dict(self.body["facts"])

    @property
    def size(self) -> int:
        """Total bytes of the dump's files."""
        return sum(int(f["size"]) for f in self.body["files"])


def write_manifest(directory: Path, body: dict[str, Any]) -> Path:
    """Write ``body`` plus its ``manifest_sha256`` to ``directory/manifest.json``.

    The file is written, fsynced and made owner-only (0600). Returns its path.
    """
    body = {k: v for k, v in body.items() if k != "manifest_sha256"}
    body["pgkeel_manifest"] = SCHEMA_VERSION
    body["manifest_sha256"] = hashlib.sha256(_canonical(body)).hexdigest()
    path = directory / MANIFEST
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(body, handle, indent=1, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def read_manifest(directory: Path) -> Manifest:
    """Read and self-check ``directory/manifest.json``.

    Raises ``BackupDamaged`` (exit 4), naming the file, when it is missing, not JSON,
    of an unknown schema version, or its ``manifest_sha256`` does not match its body.
    """
    path = directory / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupDamaged("manifest missing: the backup is incomplete or damaged",
                            path=path, hint="use another backup") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupDamaged(f"manifest is not valid JSON ({exc})", path=path,
                            hint="the file is damaged; use another backup") from None
    if not isinstance(body, dict) or body.get("pgkeel_manifest") != SCHEMA_VERSION:
        raise BackupDamaged("not a pgkeel manifest of a version this pgkeel reads",
                            path=path, hint="use the pgkeel that wrote it")
    recorded = body.pop("manifest_sha256", None)
    if hashlib.sha256(_canonical(body)).hexdigest() != recorded:
        raise BackupDamaged("manifest checksum mismatch: the manifest was edited or "
                            "damaged", path=path, hint="use another backup")
    body["manifest_sha256"] = recorded
    return Manifest(body)


def write_verification(directory: Path, record: dict[str, Any]) -> None:
    """Store ``record`` as ``directory/verify.json``: a temporary name, fsync, rename."""
    temp = directory / f".{VERIFY_FILE}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, directory / VERIFY_FILE)


def read_verification(directory: Path) -> dict[str, Any] | None:
    """The last recorded verification of the backup in ``directory``, or None."""
    try:
        data = json.loads((directory / VERIFY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
