"""``migrate status`` and ``migrate validate``: compare the files with the history.

Both only read: no lock, no history tables created. ``status`` shows every migration
once, in version order: applied, pending, failed, changed since applied (checksum),
applied but missing on disk, irreversible, and pending ones that sort before the newest
applied (``up`` would refuse them), and invalid indexes a failed ``CONCURRENTLY`` build
left, with the ``DROP INDEX CONCURRENTLY`` to run. ``validate`` is the check for CI: it
fails on a checksum mismatch or an applied migration whose file is gone (Flyway's
``validate``, Sqitch's ``check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pgkeel.connect import connect
from pgkeel.migrations import health, history
from pgkeel.migrations.files import discover
from pgkeel.migrations.lock import LockHolder, lock_holder
from pgkeel.migrations.plan import order_of
from pgkeel.migrations.records import AppliedMigration, Failure
from pgkeel.report.findings import Finding

__all__ = ["MigrationStatus", "State", "StatusReport", "ValidateResult", "status", "validate"]

State = Literal["applied", "pending", "failed", "changed", "missing"]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One migration as files and history see it.

    ``state``: ``applied``; ``pending`` (file only); ``failed``; ``changed`` (applied,
    file checksum differs); ``missing`` (applied, no file). ``path`` is the file name
    (the recorded one when missing); ``reversible`` False when the down that rollback
    would run has no statements, is not ``noop:true`` and the up has statements;
    ``noop_down`` True when that down is ``noop:true`` (reversible, runs nothing);
    ``out_of_order`` marks a
    pending migration older than the newest applied one. The ``applied_*`` fields and
    ``execution_ms`` (ms) are set for migrations in the history.
    """

    version: str
    name: str
    path: str
    state: State
    reversible: bool
    noop_down: bool = False
    out_of_order: bool = False
    applied_order: int | None = None
    applied_at: datetime | None = None
    applied_by: str | None = None
    execution_ms: int | None = None
    method: str | None = None
    failure: Failure | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``applied_at`` as ISO 8601)."""
        failure = self.failure
        return {
            "version": self.version,
            "name": self.name,
            "file": self.path,
            "state": self.state,
            "reversible": self.reversible,
            "noop_down": self.noop_down,
            "out_of_order": self.out_of_order,
            "applied_order": self.applied_order,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "applied_by": self.applied_by,
            "execution_ms": self.execution_ms,
            "method": self.method,
            "failure": None if failure is None else {
                "direction": failure.direction,
                "statement_index": failure.statement_index,
                "line": failure.line,
                "sqlstate": failure.sqlstate,
                "message": failure.message,
            },
        }


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Every migration (dbmate's order), who holds pgkeel's lock right now, and the
    invalid indexes in the database (each with its ``DROP INDEX CONCURRENTLY``)."""

    migrations: tuple[MigrationStatus, ...]
    lock_holder: LockHolder | None
    invalid_indexes: tuple[Finding, ...] = ()

    def having(self, *states: State) -> tuple[MigrationStatus, ...]:
        """The migrations in any of ``states``."""
        return tuple(m for m in self.migrations if m.state in states)

    @property
    def irreversible(self) -> tuple[MigrationStatus, ...]:
        """Migrations whose rollback would be refused."""
        return tuple(m for m in self.migrations if not m.reversible)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``migrate status --format json``."""
        counts = {state: len(self.having(state))
                  for state in ("applied", "pending", "failed", "changed", "missing")}
        holder = self.lock_holder
        return {
            "migrations": [m.to_dict() for m in self.migrations],
            "counts": counts | {"irreversible": len(self.irreversible)},
            "lock_holder": None if holder is None else {
                "pid": holder.pid, "application_name": holder.application_name,
            },
            "invalid_indexes": [
                {"index": f.object, "message": f.message, "fix": f.fix}
                for f in self.invalid_indexes
            ],
        }


def _from_row(row: AppliedMigration, state: State, path: str) -> MigrationStatus:
    # The stored down is the one rollback runs, so it decides both flags.
    return MigrationStatus(
        version=row.version, name=row.name, path=path, state=state,
        reversible=row.reversible, noop_down=row.down.noop, applied_order=row.applied_order,
        applied_at=row.applied_at, applied_by=row.applied_by, execution_ms=row.execution_ms,
        method=row.method, failure=row.failure,
    )


def status(url: str, directory: Path) -> StatusReport:
    """Compare the migration files in ``directory`` with the history at ``url``.

    Raises ``MigrationFileError`` (exit 2) for a broken file and ``Refused`` (exit 4)
    for a history written by a newer pgkeel.
    """
    migrations = discover(directory)
    with connect(url) as conn:
        rows = history.read(conn)
        holder = lock_holder(conn)
        invalid = tuple(health.invalid_indexes(conn))
    files = {m.version: m for m in migrations}
    applied = {r.version: r for r in rows}
    newest = max((order_of(r.version, files, rows) for r in rows), default=None)
    entries = []
    for migration in migrations:
        row = applied.get(migration.version)
        if row is None:
            entries.append(MigrationStatus(
                version=migration.version, name=migration.name, path=migration.path.name,
                state="pending",
                reversible=migration.reversible or not migration.up.statements,
                noop_down=migration.down.noop,
                out_of_order=newest is not None and migration.sort_key < newest,
            ))
            continue
        state: State = ("failed" if row.failed else
                        "changed" if row.checksum != migration.checksum else "applied")
        entries.append(_from_row(row, state, migration.path.name))
    entries.extend(_from_row(r, "missing", r.path)
                   for r in rows if r.version not in files)
    entries.sort(key=lambda m: order_of(m.version, files, rows))
    return StatusReport(tuple(entries), holder, invalid)


@dataclass(frozen=True, slots=True)
class ValidateResult:
    """``validate``'s verdict: ``changed`` (checksum mismatches), ``missing`` files,
    ``failed`` migrations. ``ok`` is False for a mismatch or a missing file (exit 1)."""

    changed: tuple[MigrationStatus, ...]
    missing: tuple[MigrationStatus, ...]
    failed: tuple[MigrationStatus, ...]
    checked: int

    @property
    def ok(self) -> bool:
        """True when every applied migration's file is there, as it was applied."""
        return not self.changed and not self.missing


def validate(url: str, directory: Path) -> ValidateResult:
    """Check every applied migration's file against its recorded checksum.

    Line endings and a BOM do not count (the checksum is over normalised bytes).
    Raises what :func:`status` raises.
    """
    report = status(url, directory)
    return ValidateResult(
        changed=report.having("changed"),
        missing=report.having("missing"),
        failed=report.having("failed"),
        checked=len(report.having("applied", "changed", "failed")),
    )
