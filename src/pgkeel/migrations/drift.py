"""Schema drift: what the live database has that its migrations do not say, and back.

:func:`drift` builds a scratch database from the migrations folder
(:func:`pgkeel.migrations.scratch.migrated`), snapshots it and the live database, and
compares them (:func:`pgkeel.catalog.diff.compare`, the comparison ``migrate verify``
uses): every difference is an object created or changed outside the migrations, or a
migration the live database has not had. pgkeel's own history schema is left out of
both sides.

:func:`write_drift_migration` turns the drift into migration files through the one
writer (:mod:`pgkeel.migrations._write`): up brings the migrations' schema to the live
one, down takes it back (:mod:`pgkeel.migrations._drift_sql`). Indexes on existing
tables are built ``CONCURRENTLY``, and constraints validated, in a second,
``transaction:false`` file. The live
database already has what they do, so they are recorded there as applied without
running (as ``migrate baseline`` records, Flyway's baseline and Sqitch's ``--log-only``
do); it is refused while the live database has migrations still to apply, whose
objects the new up would otherwise drop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pgkeel.catalog import Snapshot, read_snapshot
from pgkeel.catalog.diff import Difference, Wording, compare
from pgkeel.connect import connect
from pgkeel.errors import Refused
from pgkeel.migrations import history, scratch
from pgkeel.migrations._drift_sql import changes
from pgkeel.migrations._write import MigrationDraft, write_migrations
from pgkeel.migrations.files import discover, read_migration
from pgkeel.migrations.lock import AdvisoryLock

__all__ = ["DRIFT", "DriftResult", "drift", "write_drift_migration"]

#: How a difference between the migrations' schema and the live one is said.
DRIFT = Wording(added="exists in the database but in no migration",
                removed="is in the migrations but missing from the database",
                changed="differs in the database from the migrations")

_HISTORY_SCHEMA = "pgkeel"  # the runner's own (pgkeel.migrations.history_schema)


@dataclass(frozen=True, slots=True)
class DriftResult:
    """``differences`` from the migrations' schema (``expected``) to the live one
    (``live``); ``pending`` the versions of migration files the live database's
    history does not hold as applied (their objects show as missing); ``elapsed_ms``
    the whole run, scratch database included."""

    differences: tuple[Difference, ...]
    expected: Snapshot
    live: Snapshot
    pending: tuple[str, ...] = ()
    elapsed_ms: int = 0

    @property
    def drifted(self) -> bool:
        """True when the live database differs from what the migrations build."""
        return bool(self.differences)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``drifted``, ``elapsed_ms`` and each difference with its sentence."""
        return {"drifted": self.drifted, "elapsed_ms": self.elapsed_ms,
                "pending": list(self.pending),
                "differences": [{**d.to_dict(), "message": d.describe(DRIFT)}
                                for d in self.differences]}


def drift(url: str, directory: Path, *, template: str = "template1") -> DriftResult:
    """Compare the live database ``url`` with the schema ``directory``'s migrations build.

    The scratch database is created on ``url``'s server from ``template`` and dropped
    afterwards. Returns a :class:`DriftResult`. Raises ``MigrationFileError`` for a
    broken migration file, ``DatabaseError``/``ConnectError`` when a database cannot be
    reached or the scratch database cannot be created, and what
    :func:`pgkeel.migrations.runner.up` raises when a migration fails on it.
    """
    start = time.perf_counter()
    versions = [m.version for m in discover(directory)]
    with scratch.migrated(url, directory, template=template) as db:
        expected = _without_history(read_snapshot(db.url))
    live = _without_history(read_snapshot(url))
    with connect(url) as conn:
        applied = ({r.version for r in history.read(conn) if not r.failed}
                   if history.exists(conn) else set())
    return DriftResult(compare(expected, live), expected, live,
                       tuple(v for v in versions if v not in applied),
                       round((time.perf_counter() - start) * 1000))


@dataclass(frozen=True, slots=True)
class DriftMigration:
    """Files written by :func:`write_drift_migration` and what they could not say."""

    paths: tuple[Path, ...]
    unwritable: tuple[str, ...]


def write_drift_migration(result: DriftResult, directory: Path, name: str, *,
                          record_in: str | None = None,
                          lock_wait_s: float = 60.0) -> DriftMigration:
    """Write the migration(s) that make the migrations describe the live schema.

    One file holds everything that runs in a transaction; indexes on tables both sides
    have (``CREATE``/``DROP INDEX CONCURRENTLY``) and the validation of constraints
    added ``NOT VALID`` go to a second, ``transaction:false`` file named
    ``<name>_online`` (:mod:`pgkeel.migrations._drift_sql`). What cannot be written is listed in
    the first file's header and returned in ``unwritable``. ``record_in`` is the live
    database's URL: the files are recorded there as applied, not run (module
    docstring), under pgkeel's lock (waiting up to ``lock_wait_s`` seconds). Returns
    the paths written (none when nothing is writable).

    Raises ``Refused`` while ``result.pending`` is not empty, ``LockNotAcquired`` when
    another runner holds the lock, and what :func:`write_migrations` raises.
    """
    if result.pending:
        raise Refused(f"{len(result.pending)} migration(s) are not applied to this database "
                      f"(first: {result.pending[0]}): the new migration would drop what they "
                      "create", hint="run `pgkeel migrate up` first, then drift again")
    up = changes(result.expected, result.live, online=True)
    down = changes(result.live, result.expected)
    header = "\n".join(["-- Written by `pgkeel migrate drift --write-migration`: up brings "
                        "the migrations' schema", "-- to the live database's, down takes it back."]
                       + [f"-- not written (do it by hand): {line}" for line in up.unwritable])
    drafts = []
    down_main = up.cleanup + down.main
    if up.main or down_main:
        drafts.append(MigrationDraft(name, "\n".join(up.main), "\n".join(down_main),
                                     header=header, down_noop=not down_main))
    online_up = up.concurrent + [s for f in up.follow for s in f.do]
    online_down = down.concurrent + [s for f in reversed(up.follow) for s in f.undo]
    if online_up or online_down:
        drafts.append(MigrationDraft(
            f"{name} online", "\n".join(online_up), "\n".join(online_down),
            header="-- Outside a transaction block, one statement at a time: CREATE/DROP INDEX\n"
            "-- CONCURRENTLY, and scans (VALIDATE CONSTRAINT) that hold no ACCESS EXCLUSIVE lock",
            up_transaction=False, down_transaction=False, down_noop=not online_down))
    paths = write_migrations(directory, drafts) if drafts else ()
    if paths and record_in is not None:
        with connect(record_in) as conn, AdvisoryLock(conn, wait_s=lock_wait_s):
            history.ensure(conn)
            history.record_baseline(conn, [(read_migration(p), p.name) for p in paths],
                                    paths[-1].name.split("_", 1)[0])
    return DriftMigration(paths, tuple(up.unwritable))


def _without_history(snap: Snapshot) -> Snapshot:
    def keep(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(i for i in items
                     if getattr(i, "schema", getattr(i, "name", None)) != _HISTORY_SCHEMA)
    return replace(snap, schemas=keep(snap.schemas), tables=keep(snap.tables),
                   views=keep(snap.views), sequences=keep(snap.sequences),
                   functions=keep(snap.functions), enums=keep(snap.enums),
                   domains=keep(snap.domains))
