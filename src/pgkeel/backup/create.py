"""``backup create``: pg_dump into ``<backups>/<database>/<UTC stamp>/`` with a manifest.

Atomic (DESIGN.md principle 4): the dump goes to a hidden ``.<stamp>.partial``
directory beside the final one; every file is hashed into the manifest, everything is
fsynced, and only then is the directory renamed (``rename(2)`` is atomic within a file
system). An interrupted backup leaves only a hidden ``.partial`` directory, which
:func:`pgkeel.backup.store.list_backups` never shows as a backup.

Consistent: pgkeel opens a ``REPEATABLE READ`` transaction, exports its snapshot
(``pg_export_snapshot()``, PostgreSQL docs "Snapshot Synchronization Functions") and
hands it to ``pg_dump --snapshot``, so the manifest's row counts and sequence values
are read from exactly the data the dump holds. Sequence values are the exception
PostgreSQL itself makes: they are not transactional, so a busy sequence may move
between the two reads (verification only requires it to be at least the max of its
column).

Formats (PostgreSQL docs, ``pg_dump``): ``custom`` (one file, the default),
``directory`` (a file per table; the only format ``--jobs`` dumps in parallel) and
``plain`` (SQL for psql). tar is not offered: it cannot be compressed or restored in
parallel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql

from pgkeel import __version__
from pgkeel.backup import tools
from pgkeel.backup.facts import EXACT_MAX_PAGES, feeding_sequences, read_facts
from pgkeel.backup.manifest import Manifest, file_entry, read_manifest, write_manifest
from pgkeel.backup.store import directory_name
from pgkeel.backup.toc import toc_sha256
from pgkeel.connect import connect
from pgkeel.errors import DatabaseError, UsageError

__all__ = ["FORMATS", "CreateResult", "Progress", "create_backup"]

FORMATS = ("custom", "directory", "plain")
_FLAG = {"custom": "c", "directory": "d", "plain": "p"}

#: ``progress(done, total)``: tables dumped so far of those to dump.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class CreateResult:
    """A finished backup: its ``path`` (the final directory) and read-back ``manifest``."""

    path: Path
    manifest: Manifest


def _archive_name(database: str, archive_format: str, compression: str) -> str:
    database = directory_name(database)  # a file name too: no "/" may lead elsewhere
    if archive_format == "directory":
        return f"{database}.dir"
    if archive_format == "plain":
        return f"{database}.sql" + (".gz" if compression == "gzip" else "")
    return f"{database}.dump"


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stamp_dir(parent: Path, now: datetime) -> tuple[str, Path]:
    """A free ``<stamp>`` under ``parent`` (``-2``, ``-3``... within one second)."""
    base = now.strftime("%Y%m%dT%H%M%SZ")
    stamp, n = base, 1
    while (parent / stamp).exists() or (parent / f".{stamp}.partial").exists():
        n += 1
        stamp = f"{base}-{n}"
    return stamp, parent / f".{stamp}.partial"


def _resolve_tables(conn: Any, tables: Sequence[str]) -> set[tuple[str, str]]:
    """The tables named, each with its partitions at every level: ``pg_dump --table``
    of a partitioned table dumps the parent alone, which holds no rows (PostgreSQL
    docs, ``pg_dump``, ``--table-and-children``, only from 16 on)."""
    found: set[tuple[str, str]] = set()
    for name in tables:
        rows = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s) OR c.oid IN "
            "(SELECT relid FROM pg_partition_tree(to_regclass(%s)))",
            (name, name)).fetchall()
        if not rows:
            raise UsageError(f"--table {name}: no such table in this database",
                             hint="give a table name as in psql's \\dt, schema-qualified "
                             "if it is not on the search_path")
        found.update((row[0], row[1]) for row in rows)
    return found


class _PgDump:
    """pg_dump running in the background; a thread counts the tables it has dumped.

    pg_dump ``--verbose`` says "dumping contents of table" once per table, workers of
    ``--jobs`` included; every other line is kept for the error message.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     text=True)
        self.lines: list[str] = []
        self.total = 0
        self.progress: Progress | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        done = 0
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            if "dumping contents of table" in line:
                done += 1
                if self.progress is not None:
                    self.progress(min(done, self.total), self.total)
            else:
                self.lines.append(line)

    def wait(self) -> int:
        """Wait for pg_dump and its output; return its exit code."""
        code = self.proc.wait()
        self._reader.join()
        return code


def create_backup(
    url: str,
    root: Path,
    *,
    archive_format: str = "custom",
    compression: str | None = None,
    jobs: int = 1,
    tables: Sequence[str] = (),
    schema_only: bool = False,
    postgres_bin: Path | None = None,
    exact_max_pages: int = EXACT_MAX_PAGES,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> CreateResult:
    """Dump the database at ``url`` into ``root/<database>/<UTC stamp>/``.

    ``archive_format`` is ``custom``, ``directory`` or ``plain``; ``compression`` one of
    :data:`pgkeel.backup.tools.COMPRESSIONS` or None for the best this pg_dump build
    has (:func:`pgkeel.backup.tools.default_compression`); ``jobs`` > 1 (directory
    format only) dumps tables in parallel; ``tables`` (names as ``to_regclass`` reads
    them) limits the dump to those tables; ``schema_only`` dumps no rows.
    ``progress(done, total)`` is called as tables are dumped. Returns the finished
    backup, its manifest read back and self-checked.

    Raises ``UsageError`` (exit 2) for an unknown format or compression, ``--jobs``
    without directory format, a table that does not exist, or an unwritable backups
    directory; ``ClusterError`` (exit 3) when no pg_dump at least the server's major
    exists (an older one is never run); ``DatabaseError`` (exit 3) with pg_dump's
    message when it fails. Nothing is left under a visible name on failure.
    """
    if archive_format not in FORMATS:
        raise UsageError(f"unknown format {archive_format!r}",
                         hint=f"use one of {', '.join(FORMATS)}")
    if jobs < 1 or (jobs > 1 and archive_format != "directory"):
        raise UsageError(f"--jobs {jobs} needs --format directory (pg_dump dumps in "
                         "parallel only into a directory)",
                         hint="add --format directory, or drop --jobs")
    if compression is not None and compression not in tools.COMPRESSIONS:
        raise UsageError(f"unknown compression {compression!r}",
                         hint=f"use one of {', '.join(tools.COMPRESSIONS)}")
    started = (now or datetime.now(UTC)).astimezone(UTC)
    clock = time.perf_counter()
    conninfo, env = tools.command_env(url)
    with connect(url) as conn:
        conn.autocommit = False
        server_major = conn.info.server_version // 10000
        database = conn.info.dbname
        binaries = tools.pick(server_major, postgres_bin,
                              why=f"to dump a PostgreSQL {server_major} server")
        pg_dump = binaries.tool("pg_dump")
        method = compression or tools.default_compression(pg_dump, binaries.major,
                                                          archive_format)
        compress = tools.compress_args(pg_dump, binaries.major, archive_format, method)
        only = _resolve_tables(conn, tables) if tables else None
        named = sorted(only | feeding_sequences(conn, only)) if only else []
        conn.rollback()
        parent = root / directory_name(database)
        try:
            parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            stamp, partial = _stamp_dir(parent, started)
            partial.mkdir(mode=0o700)
        except OSError as exc:
            raise UsageError(f"cannot create the backup directory under {parent}: "
                             f"{exc.strerror or exc}", path=parent,
                             hint="fix its permissions or set [backup] directory") from exc
        archive = partial / _archive_name(database, archive_format, method)
        try:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()
            assert snapshot is not None
            args = [str(pg_dump), f"--format={_FLAG[archive_format]}", "--file",
                    str(archive), "--no-password", "--verbose", f"--snapshot={snapshot[0]}",
                    *compress]
            if jobs > 1:
                args.append(f"--jobs={jobs}")
            if schema_only:
                args.append("--schema-only")
            for schema, name in named:
                args.append("--table=" + sql.Identifier(schema, name).as_string(conn))
            args += ["--dbname", conninfo]
            if archive_format != "directory":
                # Owner-only before pg_dump opens it (it keeps the mode when truncating).
                os.close(os.open(archive, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            # Facts are read while pg_dump runs, in the snapshot it dumps.
            dump = _PgDump(args, env)
            try:
                facts = read_facts(conn, exact_max_pages=exact_max_pages, only=only)
                total = 0 if schema_only else sum(1 for t in facts["tables"]
                                                  if t["kind"] == "r")
                dump.total, dump.progress = total, progress
                if progress is not None:
                    progress(0, total)
                code = dump.wait()
            except BaseException:
                # Interrupted (Ctrl-C, a failed query): stop pg_dump before the partial
                # directory it writes into is removed.
                dump.proc.kill()
                dump.wait()
                raise
            conn.rollback()
            if code != 0:
                raise DatabaseError(f"pg_dump failed: {tools.last_error(''.join(dump.lines))}",
                                    hint="fix the problem and run again; no backup was "
                                    "written")
            if progress is not None:
                progress(total, total)
            return _finish(partial, parent / stamp, archive, {
                "id": f"{database}/{stamp}", "database": database,
                "created_at": started.isoformat(),
                "format": archive_format, "compression": method,
                "archive": archive.name,
                "options": {"jobs": jobs, "tables": [f"{s}.{n}" for s, n in sorted(only)]
                            if only else [], "schema_only": schema_only},
                "pg_dump": {"path": str(pg_dump), "version": tools.version_of(pg_dump),
                            "major": binaries.major},
                "server": {"version": conn.info.parameter_status("server_version"),
                           "major": server_major},
                "pgkeel": __version__, "facts": facts,
            }, binaries.tool("pg_restore"), clock)
        finally:
            _remove(partial)


def _finish(partial: Path, final: Path, archive: Path, body: dict[str, Any],
            pg_restore: Path, clock: float) -> CreateResult:
    files = sorted(p for p in partial.rglob("*") if p.is_file())
    for path in files:
        _fsync(path)
    body["toc_sha256"] = None if body["format"] == "plain" else toc_sha256(pg_restore,
                                                                           archive)
    body["files"] = [file_entry(partial, p) for p in files]
    body["duration_ms"] = round((time.perf_counter() - clock) * 1000)
    write_manifest(partial, body)
    for directory in {p.parent for p in files} | {partial}:
        _fsync(directory)
    os.replace(partial, final)
    _fsync(final.parent)
    return CreateResult(final, read_manifest(final))


def _remove(path: Path) -> None:
    """Delete a partial backup directory, if it is still there."""
    shutil.rmtree(path, ignore_errors=True)
