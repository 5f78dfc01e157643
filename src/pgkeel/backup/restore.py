"""``restore``: preflight, pg_restore (or psql) that stops at the first error, fix-ups.

Preflight, before any change (the research note's restore "plan"): the target server
is not older than the source (SQL a newer server dumped may not run on an older one;
PostgreSQL docs, ``pg_dump``: "not guaranteed to load into an older major version");
every role the dump references and every extension it needs exist on the target; the
target is empty unless ``clean``. Any problem refuses the restore (exit 4) and lists
all of them at once.

Restore: ``pg_restore --exit-on-error`` (and ``--single-transaction`` unless restoring
in parallel; PostgreSQL docs, ``pg_restore``), or ``psql -v ON_ERROR_STOP=1
--single-transaction`` for plain SQL. Without ``--exit-on-error`` pg_restore carries
on past errors and exits 1 with "errors ignored on restore: N"; pgkeel never counts
that as success.

After: sequences are set to at least the max of the columns they feed (``setval``),
the database is analysed (``ANALYZE``: restored tables have no statistics, PostgreSQL
docs "Populating a Database"), and compared with the manifest
(:func:`pgkeel.backup.compare.compare`).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.backup import tools
from pgkeel.backup.compare import Comparison, compare
from pgkeel.backup.facts import column_max, read_facts
from pgkeel.backup.manifest import Manifest
from pgkeel.backup.toc import clean_order, select_entries, toc_entries
from pgkeel.connect import connect
from pgkeel.errors import DatabaseError, Refused, UsageError

__all__ = ["RestoreRefused", "RestoreResult", "preflight", "restore_into"]


class RestoreRefused(Refused):
    """The preflight found the target unfit; ``problems`` lists every reason (exit 4)."""

    def __init__(self, problems: Sequence[str], hint: str) -> None:
        super().__init__("restore refused: " + "; ".join(problems), hint=hint)
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A finished restore: ``restore_ms`` (pg_restore/psql wall time), the program
    run, ``sequences_fixed`` (names moved up to their columns' max) and the
    ``comparison`` with the manifest."""

    restore_ms: int
    program: str
    sequences_fixed: tuple[str, ...]
    comparison: Comparison


_NOT_EMPTY = """
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_%'
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                          AND d.objid = c.oid AND d.deptype = 'e')),
       (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                          AND d.objid = p.oid AND d.deptype = 'e')),
       (SELECT count(*) FROM pg_namespace n WHERE n.nspname NOT IN
          ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg\\_%'),
       (SELECT count(*) FROM pg_extension WHERE extname <> 'plpgsql')"""


def preflight(conn: psycopg.Connection[Any], manifest: Manifest, *, clean: bool = False,
              no_owner: bool = False, data_only: bool = False) -> list[str]:
    """Return every reason the database ``conn`` reaches is unfit to restore into.

    Checks (module docstring): server major not older than the dump's source; roles
    the dump references exist (skipped with ``no_owner``); extensions it needs are
    available; the target is empty (skipped with ``clean`` or ``data_only``, which
    restores rows into an existing schema). Runs no DDL. Returns ``[]`` when fit.
    """
    problems: list[str] = []
    facts = manifest.facts
    source = int(manifest.body["server"]["major"])
    target = conn.info.server_version // 10000
    if target < source:
        problems.append(f"target server is PostgreSQL {target}, older than the source "
                        f"({source})")
    if not no_owner:
        have = {r for (r,) in conn.execute("SELECT rolname FROM pg_roles")}
        missing = sorted(set(facts["roles"]) - have)
        if missing:
            problems.append(f"roles the dump references are missing on the target: "
                            f"{', '.join(missing)} (create them, or restore with "
                            "--no-owner)")
    available = {e for (e,) in conn.execute("SELECT name FROM pg_available_extensions")}
    lacking = sorted(set(facts["extensions"]) - available)
    if lacking:
        problems.append(f"extensions the dump needs are not installable on the target: "
                        f"{', '.join(lacking)}")
    if not (clean or data_only):
        row = conn.execute(_NOT_EMPTY).fetchone()
        assert row is not None
        if any(row):
            problems.append(f"target database {conn.info.dbname} is not empty "
                            f"({row[0]} relations, {row[1]} functions, {row[2]} schemas, "
                            f"{row[3]} extensions)")
    return problems


def _command(manifest: Manifest, archive: Path, conninfo: str, pg_bin: Any, *,
             clean: bool, no_owner: bool, tables: Sequence[tuple[str, str]],
             data_only: bool, jobs: int) -> list[str]:
    if manifest.format == "plain":
        if clean or tables or data_only or jobs > 1 or no_owner:
            raise UsageError("a plain-format backup restores whole, through psql: "
                             "--clean, --table, --data-only, --no-owner and --jobs need a "
                             "custom or directory backup", hint="restore into an empty database "
                             "without those options, or back up with --format custom")
        return [str(pg_bin.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                "--single-transaction", "-d", conninfo]
    args = [str(pg_bin.tool("pg_restore")), "--exit-on-error", "--no-password",
            "-d", conninfo]
    args.append(f"--jobs={jobs}" if jobs > 1 else "--single-transaction")
    if clean:
        args += ["--clean", "--if-exists"]
    if no_owner:
        args += ["--no-owner", "--no-privileges"]
    if data_only:
        args.append("--data-only")
    return [*args, str(archive)]


def _run(args: list[str], env: dict[str, str], archive: Path, plain_gzip: bool,
         plain: bool) -> None:
    if plain:
        with (gzip.open(archive, "rb") if plain_gzip else archive.open("rb")) as source:
            proc = subprocess.Popen(args, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            assert proc.stdin is not None and proc.stderr is not None
            try:
                shutil.copyfileobj(source, proc.stdin, 1 << 20)
            except (BrokenPipeError, EOFError, gzip.BadGzipFile):
                pass  # psql stopped at an error, or the file is cut: its exit code says
            finally:
                proc.stdin.close()
            stderr = proc.stderr.read().decode("utf-8", "replace")
            code = proc.wait()
    else:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False,
                              stdin=subprocess.DEVNULL)
        code, stderr = done.returncode, done.stderr
    if code != 0 or "errors ignored on restore" in stderr:
        raise DatabaseError(f"restore failed: {tools.last_error(stderr)}",
                            hint="the target is left as the failed transaction left it "
                            "(single-transaction: unchanged); fix the cause and restore "
                            "again, with --clean if objects were created")


def _resync(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """Move every sequence below the max of a column it feeds up to that max."""
    fixed = []
    for seq in read_facts(conn, exact_max_pages=-1)["sequences"]:
        top = column_max(conn, seq["columns"])
        if top is not None and (seq["last_value"] is None or seq["last_value"] < top):
            name = sql.Identifier(seq["schema"], seq["name"]).as_string(conn)
            conn.execute("SELECT setval(%s::regclass, %s)", (name, top))
            fixed.append(f"{seq['schema']}.{seq['name']}")
    return tuple(fixed)


def _with_partitions(pairs: list[tuple[str, str]],
                     facts: dict[str, Any]) -> list[tuple[str, str]]:
    """``pairs`` and the partitions, at every level, of the partitioned ones among them.

    A partitioned table holds no rows itself (PostgreSQL docs, "Table Partitioning"):
    restoring it alone restores none. Raises ``UsageError`` for a partitioned table of
    a backup whose manifest predates the ``partition_of`` fact.
    """
    chosen = list(pairs)
    for table in facts["tables"]:
        if (table["schema"], table["name"]) in pairs and table["kind"] == "p" \
                and "partition_of" not in table:
            raise UsageError(f"--table {table['schema']}.{table['name']} is partitioned, and "
                             "this backup's manifest does not say which its partitions are",
                             hint="name each partition with --table too")
    grown = True
    while grown:
        grown = False
        for table in facts["tables"]:
            key, parent = (table["schema"], table["name"]), table.get("partition_of")
            if parent and tuple(parent) in chosen and key not in chosen:
                chosen.append(key)
                grown = True
    return chosen


def restore_into(manifest: Manifest, backup: Path, url: str, *, clean: bool = False,
                 no_owner: bool = False, tables: Sequence[str] = (),
                 data_only: bool = False, jobs: int = 1,
                 postgres_bin: Path | None = None, fixups: bool = True) -> RestoreResult:
    """Restore the backup at ``backup`` (its read ``manifest``) into the database ``url``.

    Runs :func:`preflight` first and raises ``RestoreRefused`` (exit 4) listing every
    problem; ``UsageError`` (exit 2) for options a plain backup cannot honour;
    ``ClusterError`` when no pg_restore can read the archive; ``DatabaseError`` (exit 3)
    with the restore program's first error when it fails. ``tables`` (``schema.name``,
    ``public`` when unqualified) restores only those tables, whole: definition, rows,
    indexes, constraints, RLS, policies, triggers and the sequences feeding them
    (:func:`pgkeel.backup.toc.select_entries`).
    ``fixups`` False skips the sequence resync and ``ANALYZE`` (a scratch restore
    that is dropped after its comparison needs neither). Checksums are not checked
    here: :func:`pgkeel.backup.verify.verify_files` first.
    """
    pairs = _with_partitions([(t.split(".", 1)[0], t.split(".", 1)[1]) if "." in t
                              else ("public", t) for t in tables], manifest.facts)
    with connect(url) as conn:
        problems = preflight(conn, manifest, clean=clean, no_owner=no_owner,
                             data_only=data_only)
        if problems:
            raise RestoreRefused(problems, hint="nothing was restored; fix the target "
                                 "(--clean replaces what it holds) and run again")
        major = conn.info.server_version // 10000
    dumped_by = int(manifest.body["pg_dump"]["major"])
    pg_bin = tools.pick(max(dumped_by, major), postgres_bin,
                        program="psql" if manifest.format == "plain" else "pg_restore",
                        why=f"to read an archive of pg_dump {dumped_by}")
    conninfo, env = tools.command_env(url)
    archive = backup / manifest.archive
    args = _command(manifest, archive, conninfo, pg_bin, clean=clean, no_owner=no_owner,
                    tables=pairs, data_only=data_only, jobs=jobs)
    if manifest.format == "plain":
        args += ["-f", "-"]
    with tempfile.TemporaryDirectory(prefix="pgkeel-restore-") as scratch:
        if pairs or clean:  # (a plain backup refused both in _command)
            chosen = toc_entries(pg_bin.tool("pg_restore"), archive)
            if pairs:
                chosen = select_entries(chosen, manifest.facts, set(pairs),
                                        extensions=not clean)
            if clean:
                chosen = clean_order(chosen)
            listing = Path(scratch) / "toc.list"
            listing.write_text("\n".join(chosen) + "\n", encoding="utf-8")
            args.insert(-1, f"--use-list={listing}")
        start = time.perf_counter()
        _run(args, env, archive, archive.suffix == ".gz", manifest.format == "plain")
        restore_ms = round((time.perf_counter() - start) * 1000)
    with connect(url) as conn:
        fixed = _resync(conn) if fixups else ()
        if fixups:
            conn.execute("ANALYZE")
        # A table-limited backup is compared on its own tables only.
        dumped = {(t["schema"], t["name"]) for t in manifest.facts["tables"]} \
            if manifest.body["options"]["tables"] else None
        comparison = compare(conn, manifest.facts,
                             schema_only=bool(manifest.body["options"]["schema_only"]),
                             tables=set(pairs) or dumped)
    return RestoreResult(restore_ms, args[0], fixed, comparison)
