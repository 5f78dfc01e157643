"""What the history holds, as frozen dataclasses: rows, stored downs, failures, events.

Kept apart from :mod:`pgkeel.migrations.history` (which reads and writes them) so the
planner and the status report can use them without any SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pgkeel.migrations.files import Section

__all__ = ["AppliedMigration", "Direction", "Event", "EventKind", "Failure", "StoredDown"]

EventKind = Literal["apply", "rollback", "fail", "repair", "baseline", "resume", "backup"]
Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class StoredDown:
    """The down section as recorded when the migration was applied.

    ``statements`` are the SQL texts, ``lines`` their 1-based lines in the file,
    ``transactional`` False when the section was marked ``transaction:false``, ``noop``
    True when it was marked ``noop:true`` (nothing to undo, so rolling back runs nothing).
    """

    statements: tuple[str, ...]
    lines: tuple[int, ...]
    transactional: bool
    noop: bool = False

    @classmethod
    def of(cls, section: Section) -> StoredDown:
        """Capture a file's down section."""
        return cls(
            statements=tuple(s.sql for s in section.statements),
            lines=tuple(s.line for s in section.statements),
            transactional=section.transaction,
            noop=section.noop,
        )


@dataclass(frozen=True, slots=True)
class Failure:
    """Where a migration failed: ``direction``, 0-based ``statement_index``, its 1-based
    ``line`` in the file, and PostgreSQL's ``sqlstate`` and ``message``."""

    direction: Direction
    statement_index: int
    line: int | None
    sqlstate: str | None
    message: str


@dataclass(frozen=True, slots=True)
class AppliedMigration:
    """One row of ``pgkeel.migrations``.

    ``path`` is the file name (relative to the migrations directory) when applied;
    ``statement_checksums`` the up statements' checksums; ``execution_ms`` in
    milliseconds; ``method`` ``run``, ``baseline`` or ``repair``; ``failure`` is set
    when ``status`` is ``failed``; ``statements_done`` counts the up statements of a
    ``transaction:false`` migration that completed.
    """

    version: str
    name: str
    path: str
    checksum: str
    checksum_algorithm: str
    statement_checksums: tuple[str, ...]
    transactional: bool
    down: StoredDown
    applied_order: int
    applied_at: datetime
    execution_ms: int
    applied_by: str
    pgkeel_version: str
    method: str
    status: Literal["applied", "failed"]
    statements_done: int
    failure: Failure | None

    @property
    def failed(self) -> bool:
        """True when the migration is recorded ``failed``."""
        return self.status == "failed"

    @property
    def reversible(self) -> bool:
        """False when the stored down has no statements, is not ``noop:true``, and the
        up had statements.

        A migration whose up ran nothing is undone by running nothing, as Django
        finds a migration without operations reversible (``Migration.unapply``).
        """
        return bool(self.down.statements) or self.down.noop or not self.statement_checksums


@dataclass(frozen=True, slots=True)
class Event:
    """One row of ``pgkeel.events``; ``detail`` is the JSON object stored with it."""

    id: int
    at: datetime
    kind: EventKind
    version: str | None
    name: str | None
    checksum: str | None
    execution_ms: int | None
    statement_index: int | None
    sqlstate: str | None
    message: str | None
    detail: dict[str, object]
    db_user: str
    client: str | None
