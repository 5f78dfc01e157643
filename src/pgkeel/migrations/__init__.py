"""SQL migrations: files on disk (``files``), importing other tools' histories
(``importer``), and running them against PostgreSQL."""

from __future__ import annotations

from pgkeel.migrations.files import (
    CHECKSUM_ALGORITHM,
    Migration,
    Section,
    Statement,
    checksum,
    discover,
    new_migration,
    parse_migration,
    read_migration,
)
from pgkeel.migrations.importer import FileNote, ImportReport, import_history

__all__ = [
    "CHECKSUM_ALGORITHM",
    "FileNote",
    "ImportReport",
    "Migration",
    "Section",
    "Statement",
    "checksum",
    "discover",
    "import_history",
    "new_migration",
    "parse_migration",
    "read_migration",
]

# The database side: history, planning, running (appended by its owner).
from pgkeel.migrations.execute import RetryPolicy
from pgkeel.migrations.plan import Plan, PlannedStatement, Step
from pgkeel.migrations.progress import ProgressEvent
from pgkeel.migrations.records import AppliedMigration, Event, Failure
from pgkeel.migrations.runner import (
    BaselineResult,
    Done,
    RepairResult,
    RollbackResult,
    UpResult,
    baseline,
    redo,
    repair,
    rollback,
    up,
)
from pgkeel.migrations.status_report import (
    MigrationStatus,
    StatusReport,
    ValidateResult,
    status,
    validate,
)

__all__ += [
    "AppliedMigration",
    "BaselineResult",
    "Done",
    "Event",
    "Failure",
    "MigrationStatus",
    "Plan",
    "PlannedStatement",
    "ProgressEvent",
    "RepairResult",
    "RetryPolicy",
    "RollbackResult",
    "StatusReport",
    "Step",
    "UpResult",
    "ValidateResult",
    "baseline",
    "redo",
    "repair",
    "rollback",
    "status",
    "up",
    "validate",
]
