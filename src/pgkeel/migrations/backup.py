"""``migrate up --backup``: a ``pg_dump -Fc`` of the database before anything runs.

The dump goes to a hidden temporary name in the backups directory, is flushed to disk
and only then renamed to its final name (PostgreSQL docs, ``pg_dump``; DESIGN.md
principle 4 "Nothing lost"), so a file under the final name is always complete.

pg_dump must be at least the server's major version: an older pg_dump refuses a newer
server ("aborting because of server version mismatch"), while a newer one reads older
servers. Among the installations found (:func:`pgkeel.cluster.available_binaries`, or
the configured ``postgres_bin``), the lowest major that is not older than the server
is used, so the archive stays restorable by the oldest ``pg_restore`` that can.

The password never appears on a command line (where ``ps`` shows it) or in output: it
is taken out of the DSN and handed to pg_dump as ``PGPASSWORD`` in its environment.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg.conninfo import make_conninfo

from pgkeel.cluster import Binaries, available_binaries, find_binaries
from pgkeel.dsn import parse_dsn
from pgkeel.errors import ClusterError, DatabaseError, UsageError

__all__ = ["BackupFile", "dump", "pg_dump_for"]


@dataclass(frozen=True, slots=True)
class BackupFile:
    """A finished dump: ``path``, ``size_bytes``, SHA-256 hex ``sha256``, the
    ``pg_dump`` program used, its major version, and ``elapsed_ms``."""

    path: Path
    size_bytes: int
    sha256: str
    pg_dump: Path
    pg_dump_major: int
    elapsed_ms: int


def pg_dump_for(server_major: int, postgres_bin: Path | None = None) -> Binaries:
    """Return the installation whose pg_dump should dump a ``server_major`` server.

    With ``postgres_bin`` only that installation is considered. Raises
    ``ClusterError`` when no pg_dump of at least ``server_major`` is found.
    """
    found = [find_binaries(postgres_bin)] if postgres_bin else available_binaries()
    usable = [b for b in found if b.major >= server_major and b.tool("pg_dump").exists()]
    if not usable:
        have = ", ".join(f"{b.major} ({b.bindir})" for b in found) or "none"
        raise ClusterError(
            f"no pg_dump of PostgreSQL {server_major} or newer found (found: {have})",
            hint=f"install postgresql-client-{server_major} (or newer), or set postgres_bin "
            "to its bin directory",
        )
    return min(usable, key=lambda b: b.major)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def dump(
    url: str,
    directory: Path,
    *,
    dbname: str,
    server_major: int,
    postgres_bin: Path | None = None,
    now: datetime | None = None,
) -> BackupFile:
    """Dump the database at ``url`` with ``pg_dump -Fc`` into ``directory``.

    The file is ``<dbname>-<UTC time>-before-migrate.dump``, mode 0600 (it holds all
    the data); ``directory`` is created (mode 0700) when missing. Returns the finished
    file's facts.

    Raises ``UsageError`` (exit 2) when ``directory`` is a file or cannot be created,
    ``ClusterError`` when no suitable pg_dump exists and ``DatabaseError``
    (exit 3) with pg_dump's last message when it fails; no partial file is left.
    """
    binaries = pg_dump_for(server_major, postgres_bin)
    params = parse_dsn(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    if directory.exists() and not directory.is_dir():
        raise UsageError(
            f"cannot write the backup: {directory} exists but is not a directory",
            hint=f"move or rename {directory} (--backup writes its dumps into a "
            "directory of that name), then run again; nothing was migrated",
            path=directory,
        )
    try:
        # Owner-only: a new backups directory is not listable by other users.
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise UsageError(
            f"cannot create the backups directory {directory}: {exc.strerror or exc}",
            hint="create it (or fix its parent's permissions), then run again; nothing "
            "was migrated",
            path=directory,
        ) from exc
    final = directory / f"{dbname}-{stamp}-before-migrate.dump"
    partial = directory / f".{final.name}.partial"
    start = time.perf_counter()
    try:
        # The dump holds every row: create it readable by its owner only (0600) before
        # pg_dump opens it, whatever the umask (pg_dump truncates, keeping the mode).
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(partial, 0o600)
        result = subprocess.run(
            [str(binaries.tool("pg_dump")), "--format=custom", "--no-password",
             "--file", str(partial), "--dbname", make_conninfo("", **params)],
            env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
        )
        if result.returncode != 0:
            lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
            raise DatabaseError(
                f"pg_dump failed: {lines[-1] if lines else 'no message'}",
                hint="nothing was migrated; fix the problem or run without --backup",
            )
        _fsync(partial)
        os.replace(partial, final)
        _fsync(directory)
    finally:
        partial.unlink(missing_ok=True)
    digest = hashlib.sha256()
    with final.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return BackupFile(
        path=final,
        size_bytes=final.stat().st_size,
        sha256=digest.hexdigest(),
        pg_dump=binaries.tool("pg_dump"),
        pg_dump_major=binaries.major,
        elapsed_ms=round((time.perf_counter() - start) * 1000),
    )
