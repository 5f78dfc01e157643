"""Prove migrations reversible on a scratch database: ``pgkeel migrate verify``.

On a scratch database (:mod:`pgkeel.migrations.scratch`: created from a template and
dropped afterwards) every migration before the range is applied by the runner; then
for each migration M of the range (DESIGN.md principle 3):

1. M's up runs in its transaction and, before COMMIT, the locks it holds and the
   tables it rewrote are read (:mod:`pgkeel.migrations._rehearse`); the catalog
   before it is S0, after it S1;
2. M's down runs; the catalog (S2) must equal S0, otherwise each difference is a finding
   (:func:`pgkeel.catalog.diff.compare`: "column `orders.note` still exists after
   down");
3. M's up runs again: it must not fail (the down left nothing that blocks a
   re-apply); it meets the catalog S0 again, so it builds S1 again (compared
   explicitly where the sections commit, ``transaction:false``).

Up, down and the second up run in one transaction, the last two after a savepoint that
is rolled back to, so the scratch database holds S1 for the next migration whatever the
down did. Snapshots cost tens of milliseconds; most downs undo their up exactly, which
one query proves: the catalog's fingerprint after the down equals the one before the up
(:mod:`pgkeel.migrations._fingerprint`), and then the second up met the catalog the
first one met. Only when the fingerprints differ is the migration run again with
snapshots, and compared. A down that fails, or a second up that fails, is reported with
the statement, its line and PostgreSQL's message. A ``transaction:false`` section cannot
run in a transaction block: then the up's locks are not rehearsed (its table rewrites
still are), and up, down and the second up each commit, with snapshots between them.

Like the runner, each section starts from a clean session (``RESET ALL``, ``RESET
ROLE``, ``RESET SESSION AUTHORIZATION``), and ``COPY ... FROM STDIN`` rows are sent as
COPY data. Verification writes no history row: only the migrations before the range
are recorded, by the runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg import pq

from pgkeel.catalog import Snapshot, snapshot
from pgkeel.catalog.diff import Difference, Wording, compare
from pgkeel.connect import connect
from pgkeel.errors import PgkeelError, UsageError
from pgkeel.migrations import scratch
from pgkeel.migrations._data_loss import Columns, DataLoss, columns, held, seed
from pgkeel.migrations._fingerprint import fingerprint
from pgkeel.migrations._rehearse import (
    LockTaken,
    Relations,
    locks_taken,
    production_sizes,
    relations,
)
from pgkeel.migrations.files import Migration, Section, discover

__all__ = ["AFTER_DOWN", "AFTER_REAPPLY", "MigrationCheck", "StatementError", "Verdict",
           "VerifyResult", "verify"]

Conn = psycopg.Connection[Any]

#: How a difference between S0 and S2 is said.
AFTER_DOWN = Wording(added="still exists after down", removed="was not restored by down",
                     changed="differs after down")
#: How a difference between S1 and the catalog after the second up is said.
AFTER_REAPPLY = Wording(added="appears only when up runs again after down",
                        removed="is missing when up runs again after down",
                        changed="differs when up runs again after down")

Verdict = Literal["reversible", "no-down", "down-fails", "down-incomplete", "reapply-fails",
                  "reapply-differs", "up-fails"]


@dataclass(frozen=True, slots=True)
class StatementError:
    """A statement PostgreSQL refused: which section (``up``, ``down`` or ``reapply``),
    its 0-based ``index``, its file ``line``, its text, and the server's ``message``
    (first line) and ``sqlstate``."""

    section: Literal["up", "down", "reapply"]
    index: int
    line: int | None
    sql: str
    message: str
    sqlstate: str | None


@dataclass(frozen=True, slots=True)
class MigrationCheck:
    """What verify found for one migration.

    ``verdict``: ``reversible``; ``no-down`` (the down section has no statements and is
    not ``noop:true``); ``down-fails`` / ``reapply-fails`` (``error`` says where);
    ``down-incomplete`` (``down_differences``: S0 against S2); ``reapply-differs``
    (``reapply_differences``: S1 against the catalog after the second up; compared for
    ``transaction:false`` sections, since in a transaction a second up that meets S0
    again builds S1 again);
    ``up-fails`` (the first up failed: later migrations were not verified).
    ``locks`` are the strongest lock per existing relation its up took, None when
    the up is ``transaction:false`` (not rehearsed; ``rewrites`` still lists the
    tables it rewrote); ``up_ms`` the first up's time in milliseconds; ``down_line``
    the line of the file's down marker. With ``--with-data``: ``data_loss`` what the
    down throws away of the rows generated after the up, ``seed_problems`` what the
    generator could not fill (so rows there were not rehearsed).
    """

    version: str
    name: str
    path: Path
    verdict: Verdict
    up_ms: int
    locks: tuple[LockTaken, ...] | None = ()
    rewrites: tuple[str, ...] = ()
    down_differences: tuple[Difference, ...] = ()
    reapply_differences: tuple[Difference, ...] = ()
    error: StatementError | None = None
    down_line: int | None = None
    data_loss: tuple[DataLoss, ...] = ()
    seed_problems: tuple[str, ...] = ()

    @property
    def reversible(self) -> bool:
        """True when up, down and up again leave the catalog as it was each time."""
        return self.verdict == "reversible"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "version": self.version, "name": self.name, "path": str(self.path),
            "verdict": self.verdict, "reversible": self.reversible, "up_ms": self.up_ms,
            "locks": None if self.locks is None else [
                {"relation": t.relation, "mode": t.mode, "rewritten": t.rewritten,
                 "size_bytes": t.size_bytes, "row_estimate": t.row_estimate}
                for t in self.locks],
            "rewrites": list(self.rewrites),
            "down_differences": [d.to_dict() for d in self.down_differences],
            "reapply_differences": [d.to_dict() for d in self.reapply_differences],
            "error": None if self.error is None else {
                "section": self.error.section, "statement": self.error.index + 1,
                "line": self.error.line, "sql": self.error.sql,
                "message": self.error.message, "sqlstate": self.error.sqlstate},
            "data_loss": [{"relation": d.relation, "column": d.column, "rows": d.rows}
                          for d in self.data_loss],
            "seed_problems": list(self.seed_problems),
        }


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Every migration verified, in order; ``before`` how many were applied first
    (those before ``--from``); ``stopped`` why verification ended early, or None;
    ``elapsed_ms`` the whole run; ``snapshots`` how many catalog snapshots it took;
    ``roles_left`` the roles the migrations created, which outlive the scratch
    database (roles belong to the whole cluster: pgkeel does not drop them, since it
    cannot tell them from roles someone else created meanwhile)."""

    migrations: tuple[MigrationCheck, ...]
    before: int = 0
    stopped: str | None = None
    elapsed_ms: int = 0
    snapshots: int = field(default=0, compare=False)
    roles_left: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when every migration is reversible and none was left out."""
        return self.stopped is None and all(m.reversible for m in self.migrations)


def verify(
    url: str,
    directory: Path,
    *,
    from_version: str | None = None,
    template: str = "template1",
    stats_from: str | None = None,
    with_data: bool = False,
    progress: Callable[[MigrationCheck], None] | None = None,
) -> VerifyResult:
    """Verify the migrations of ``directory`` on a scratch database of ``url``'s server.

    ``from_version`` starts the range at that version (the ones before are applied
    first, unverified); ``template`` is the database the scratch one is copied from;
    ``stats_from`` a URL whose tables' sizes and row estimates are added to the locks
    (what a lock would cost there); ``with_data`` fills every table with a few
    generated rows after each up (:mod:`pgkeel.migrations._data_loss`) and reports
    what the down throws away; ``progress`` is called with each finished check.

    Raises ``MigrationFileError`` for a broken file, ``UsageError`` for an unknown
    ``from_version``, ``DatabaseError`` when the scratch database cannot be created,
    and what :func:`pgkeel.migrations.runner.up` raises for the migrations before the
    range. Statement failures inside the range are results, not exceptions.
    """
    start = time.perf_counter()
    migrations = discover(directory)
    first = _first_index(migrations, from_version)
    before, in_range = migrations[:first], migrations[first:]
    with scratch.scratch(url, template=template) as db, connect(db.url) as conn:
        roles = _roles(conn)
        if before:
            scratch.apply_up_to(db.url, directory, before[-1].version)
        run = _Run(conn, with_data=with_data)
        checks, stopped = run.all(in_range, progress)
        left = tuple(sorted(_roles(conn) - roles))
    if stats_from is not None:
        checks = [_with_sizes(c, stats_from) for c in checks]
    return VerifyResult(tuple(checks), len(before), stopped,
                        round((time.perf_counter() - start) * 1000), run.snapshots, left)


def _roles(conn: Conn) -> set[str]:
    return {str(r[0]) for r in conn.execute("SELECT rolname FROM pg_catalog.pg_roles")}


def _first_index(migrations: Sequence[Migration], version: str | None) -> int:
    if version is None:
        return 0
    for index, m in enumerate(migrations):
        if m.version == version:
            return index
    raise UsageError(f"no migration has version {version}",
                     hint="`pgkeel migrate status` lists the versions")


def _with_sizes(check: MigrationCheck, url: str) -> MigrationCheck:
    if not check.locks:
        return check
    from dataclasses import replace

    return replace(check, locks=production_sizes(url, check.locks))


class _Failed(Exception):
    def __init__(self, error: StatementError) -> None:
        super().__init__(error.message)
        self.error = error


_RESET = b"RESET ALL; RESET SESSION AUTHORIZATION; RESET ROLE"


class _Run:
    """The scratch connection (autocommit) and what is known of its current catalog:
    its fingerprint always, its snapshot when one was taken since the last change."""

    def __init__(self, conn: Conn, *, with_data: bool = False) -> None:
        self.conn = conn
        self.with_data = with_data
        self.snapshots = 0
        self.print = ""
        self.known: Snapshot | None = None

    def snap(self) -> Snapshot:
        self.snapshots += 1
        # A migration may have changed role or search_path: read as the login role.
        self.conn.execute(b"RESET ROLE; RESET SESSION AUTHORIZATION; RESET search_path")
        return snapshot(self.conn)

    def current(self) -> Snapshot:
        """The snapshot of the catalog as it is now (taken once per state)."""
        if self.known is None:
            self.known = self.snap()
        return self.known

    def all(self, migrations: Sequence[Migration],
            progress: Callable[[MigrationCheck], None] | None
            ) -> tuple[list[MigrationCheck], str | None]:
        checks: list[MigrationCheck] = []
        self.print = fingerprint(self.conn)
        for m in migrations:
            check, stop = self.one(m)
            checks.append(check)
            if progress is not None:
                progress(check)
            if stop:
                left = len(migrations) - len(checks)
                return checks, f"{stop}; the {left} migration(s) after it were not verified"
        return checks, None

    def one(self, m: Migration) -> tuple[MigrationCheck, str | None]:
        """Check ``m``; return the check and a reason to stop (the scratch database no
        longer holds what later migrations need)."""
        base: dict[str, Any] = {"version": m.version, "name": m.name, "path": m.path,
                                "down_line": m.down.line}
        if not (m.up.transaction and (m.down.transaction or not m.reversible)):
            return self.committed(m, base)
        existing = relations(self.conn)
        self.conn.execute(b"BEGIN")
        try:
            check = self.rehearse(m, base, existing)
        except BaseException:
            self.rollback()
            raise
        if check is None:  # the down changed something: compare snapshots
            check = self.compared(m, base, existing)
            return check, f"{m.path.name}: its up failed" if check.verdict == "up-fails" \
                else None
        if check.verdict == "up-fails":
            return check, f"{m.path.name}: its up failed"
        self.conn.execute(b"COMMIT")
        self.known = None
        self.print = fingerprint(self.conn)
        return check, None

    def up(self, m: Migration, base: dict[str, Any], existing: Relations
           ) -> MigrationCheck | None:
        """The up inside the open transaction; its time and locks go into ``base``.
        Returns None, or the ``up-fails`` check when it failed (the transaction is then
        rolled back)."""
        began = time.perf_counter()
        try:
            self.statements(m.up, "up")
        except _Failed as failed:
            self.rollback()
            return MigrationCheck(**base, verdict="up-fails", up_ms=_ms(began),
                                  error=failed.error)
        base["up_ms"] = _ms(began)
        locks = locks_taken(self.conn, existing)
        base.update(locks=locks, rewrites=tuple(t.relation for t in locks if t.rewritten))
        return None

    def rehearse(self, m: Migration, base: dict[str, Any], existing: Relations
                 ) -> MigrationCheck | None:
        """Up, down and up again in the open transaction, the last two in a savepoint
        rolled back. Returns the check, or None when the down left another catalog
        fingerprint (the transaction is then rolled back: the catalog is as before)."""
        failed_up = self.up(m, base, existing)
        if failed_up is not None:
            return failed_up
        if not m.reversible:
            return MigrationCheck(**base, verdict="no-down")
        self.conn.execute(b"SAVEPOINT pgkeel_verify")
        try:
            before = self.seed(base)
            try:
                self.statements(m.down, "down")
            except _Failed as failed:
                return MigrationCheck(**base, verdict="down-fails", error=failed.error)
            exact = fingerprint(self.conn) == self.print
            if before is not None:
                self.data_lost(m, base, before)
            if not exact:
                self.conn.execute(b"ROLLBACK")
                return None
            try:
                self.statements(m.up, "reapply")
            except _Failed as failed:
                return MigrationCheck(**base, verdict="reapply-fails", error=failed.error)
            return MigrationCheck(**base, verdict="reversible")
        finally:
            if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
                self.conn.execute(b"ROLLBACK TO SAVEPOINT pgkeel_verify")

    def seed(self, base: dict[str, Any]) -> Columns | None:
        """With data: fill every table, then mark the seeded state (savepoint) and
        return its columns; None without data."""
        if not self.with_data:
            return None
        try:
            base["seed_problems"] = seed(self.conn)
        except (psycopg.Error, PgkeelError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            base["seed_problems"] = (f"no rows generated: {first}",)
            return None
        self.conn.execute(b"SAVEPOINT pgkeel_seeded")
        return columns(self.conn)

    def data_lost(self, m: Migration, base: dict[str, Any], before: Columns) -> None:
        """Put in ``base`` what the down (which just ran) dropped of the seeded rows; the
        catalog is left as the down left it."""
        after = columns(self.conn)
        if all(key in after for key in before):
            return
        self.conn.execute(b"ROLLBACK TO SAVEPOINT pgkeel_seeded")
        base["data_loss"] = held(self.conn, before, after)
        self.statements(m.down, "down")  # it ran a moment ago from this very state

    def compared(self, m: Migration, base: dict[str, Any], existing: Relations
                 ) -> MigrationCheck:
        """The slow path: the catalog fingerprint changed across up and down, so the
        rehearsal runs again and compares snapshots: S0 before the up with S2 after the
        down."""
        s0 = self.current()
        self.conn.execute(b"BEGIN")
        try:
            failed_up = self.up(m, base, existing)
            if failed_up is not None:  # it ran a moment ago: something is off
                return failed_up
            self.conn.execute(b"SAVEPOINT pgkeel_verify")
            self.seed(base)
            check = self.down_and_again(m, base, s0)
            self.conn.execute(b"COMMIT")
        except BaseException:
            self.rollback()
            raise
        self.known = None
        self.print = fingerprint(self.conn)
        return check

    def down_and_again(self, m: Migration, base: dict[str, Any], s0: Snapshot
                       ) -> MigrationCheck:
        """Down and the second up after the savepoint, which is rolled back to."""
        try:
            self.statements(m.down, "down")
        except _Failed as failed:
            self.conn.execute(b"ROLLBACK TO SAVEPOINT pgkeel_verify")
            return MigrationCheck(**base, verdict="down-fails", error=failed.error)
        lost = compare(s0, self.snap())
        try:
            self.statements(m.up, "reapply")
        except _Failed as failed:
            self.conn.execute(b"ROLLBACK TO SAVEPOINT pgkeel_verify")
            # What the down left is the cause; the failure of the second up follows.
            return MigrationCheck(**base, verdict="down-incomplete" if lost
                                  else "reapply-fails", down_differences=lost,
                                  error=failed.error)
        self.conn.execute(b"ROLLBACK TO SAVEPOINT pgkeel_verify")
        # Without differences the second up met the catalog the first one met, so it
        # built the same. With them, the down must change first: what the second up
        # builds on a wrong catalog is not compared (two snapshots saved), only whether
        # it fails.
        return MigrationCheck(**base, verdict="down-incomplete" if lost else "reversible",
                              down_differences=lost)

    def committed(self, m: Migration, base: dict[str, Any]
                  ) -> tuple[MigrationCheck, str | None]:
        """A ``transaction:false`` section: up, down and the second up each commit,
        with snapshots between them; the up's locks are not rehearsed."""
        s0 = self.current()
        existing = relations(self.conn)
        began = time.perf_counter()
        try:
            locks = self.section(m.up, "up", existing)
        except _Failed as failed:
            self.known = None
            return (MigrationCheck(**base, verdict="up-fails", up_ms=_ms(began),
                                   error=failed.error), f"{m.path.name}: its up failed")
        base.update(up_ms=_ms(began), locks=locks, rewrites=self.rewritten(existing))
        s1 = self.snap()
        self.known, stop = s1, None
        if not m.reversible:
            check = MigrationCheck(**base, verdict="no-down")
        else:
            check, stop = self.committed_down(m, base, s0, s1)
        self.print = fingerprint(self.conn)
        return check, stop

    def committed_down(self, m: Migration, base: dict[str, Any], s0: Snapshot,
                       s1: Snapshot) -> tuple[MigrationCheck, str | None]:
        self.known = None
        try:
            self.section(m.down, "down", None)
        except _Failed as failed:
            return MigrationCheck(**base, verdict="down-fails", error=failed.error), None
        lost = compare(s0, self.snap())
        try:
            self.section(m.up, "reapply", None)
        except _Failed as failed:
            check = MigrationCheck(**base, verdict="down-incomplete" if lost
                                   else "reapply-fails", down_differences=lost,
                                   error=failed.error)
            return check, f"{m.path.name}: its up failed after its down"
        self.known = s3 = self.snap()
        again = compare(s1, s3)
        verdict: Verdict = ("down-incomplete" if lost else
                            "reapply-differs" if again else "reversible")
        return MigrationCheck(**base, verdict=verdict, down_differences=lost,
                              reapply_differences=again), None

    def section(self, section: Section, name: Literal["up", "down", "reapply"],
                existing: Relations | None) -> tuple[LockTaken, ...] | None:
        """Run ``section`` as the runner would, committed; return the locks the up held
        before COMMIT (None when ``existing`` is None or it ran outside a transaction)."""
        if not section.transaction:
            self.statements(section, name)
            return None
        self.conn.execute(b"BEGIN")
        try:
            self.statements(section, name)
            locks = locks_taken(self.conn, existing) if existing is not None else None
            self.conn.execute(b"COMMIT")
        except BaseException:
            self.rollback()
            raise
        return locks

    def statements(self, section: Section, name: Literal["up", "down", "reapply"]) -> None:
        """Run the statements of ``section``; raise ``_Failed`` for the first refused.

        Inside a transaction the section ends as its COMMIT would: deferred constraints
        are checked (``SET CONSTRAINTS ALL IMMEDIATE``; PostgreSQL docs, "SET
        CONSTRAINTS"), so a failure is the section's, as with the runner, and the next
        section meets no pending trigger events ("cannot ALTER TABLE ... because it has
        pending trigger events") it would not meet after a real COMMIT.
        """
        self.conn.execute(_RESET)
        for statement in section.statements:
            try:
                if statement.copy_data is not None:
                    with self.conn.cursor() as cursor, \
                            cursor.copy(statement.sql.encode()) as copy:
                        copy.write(statement.copy_data)
                else:
                    self.conn.execute(statement.sql.encode())
            except psycopg.Error as exc:
                raise _Failed(StatementError(name, statement.index, statement.line,
                                             statement.sql, _first(exc), exc.sqlstate)
                              ) from exc
        if self.conn.info.transaction_status == pq.TransactionStatus.INTRANS:
            try:
                self.conn.execute(b"SET CONSTRAINTS ALL IMMEDIATE")
            except psycopg.Error as exc:
                raise _Failed(StatementError(name, len(section.statements), None, "COMMIT",
                                             _first(exc), exc.sqlstate)) from exc

    def rewritten(self, existing: Relations) -> tuple[str, ...]:
        now = relations(self.conn)
        return tuple(sorted(
            name for oid, (name, kind, node) in existing.items()
            if kind in ("r", "m") and oid in now and now[oid][2] != node))

    def rollback(self) -> None:
        if not self.conn.closed and \
                self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
            self.conn.execute(b"ROLLBACK")


def _first(exc: psycopg.Error) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _ms(began: float) -> int:
    return round((time.perf_counter() - began) * 1000)
