"""The table of contents of a custom or directory archive, as ``pg_restore --list`` reads it.

``pg_restore --list`` prints one line per archive entry (dump id, catalog ids, type,
schema, name, owner) after a header of ``;`` comment lines that hold the archive's
creation time and name (PostgreSQL docs, ``pg_restore``, ``-l``). The hash covers the
entry lines only, so the same archive hashes the same wherever it lies, and any entry
added, lost or changed changes it.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from pgkeel.backup.manifest import BackupDamaged
from pgkeel.backup.tools import last_error

__all__ = ["toc_entries", "toc_sha256"]


def toc_entries(pg_restore: Path, archive: Path) -> list[str]:
    """The entry lines of ``archive``'s table of contents.

    Raises ``BackupDamaged`` (exit 4) naming ``archive`` when pg_restore cannot read it
    (truncated, damaged, not an archive), with pg_restore's own message.
    """
    result = subprocess.run([str(pg_restore), "--list", str(archive)], capture_output=True,
                            text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise BackupDamaged(f"pg_restore cannot read the archive: "
                            f"{last_error(result.stderr)}", path=archive,
                            hint="the archive is damaged; use another backup")
    return [ln for ln in result.stdout.splitlines() if ln.strip() and not ln.startswith(";")]


def toc_sha256(pg_restore: Path, archive: Path) -> str:
    """The SHA-256 (hex) of :func:`toc_entries`, one entry per line."""
    text = "\n".join(toc_entries(pg_restore, archive)) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
