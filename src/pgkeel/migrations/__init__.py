"""SQL migrations: files on disk (``files``), importing other tools' histories
(``importer``), and running them against PostgreSQL.

The names below load their module on first use (PEP 562 ``__getattr__``): a command
pays only for the modules it touches (``pgkeel migrate up`` never imports the importer,
and the file-only names never import psycopg).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgkeel.migrations.execute import RetryPolicy
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
    from pgkeel.migrations.verify import MigrationCheck, VerifyResult

#: Each public name and the submodule that defines it.
_HOMES = {
    **dict.fromkeys(("CHECKSUM_ALGORITHM", "Migration", "Section", "Statement", "checksum",
                     "discover", "new_migration", "parse_migration", "read_migration"),
                    "files"),
    **dict.fromkeys(("FileNote", "ImportReport", "import_history"), "importer"),
    "RetryPolicy": "execute",
    **dict.fromkeys(("Plan", "PlannedStatement", "Step"), "plan"),
    "ProgressEvent": "progress",
    **dict.fromkeys(("AppliedMigration", "Event", "Failure"), "records"),
    **dict.fromkeys(("BaselineResult", "Done", "RepairResult", "RollbackResult",
                     "UpResult", "baseline", "redo", "repair", "rollback", "up"), "runner"),
    **dict.fromkeys(("MigrationStatus", "StatusReport", "ValidateResult", "status",
                     "validate"), "status_report"),
    # The function verify stays in its module: the name is the submodule's.
    **dict.fromkeys(("MigrationCheck", "VerifyResult"), "verify"),
}

__all__ = [
    "CHECKSUM_ALGORITHM",
    "AppliedMigration",
    "BaselineResult",
    "Done",
    "Event",
    "Failure",
    "FileNote",
    "ImportReport",
    "Migration",
    "MigrationCheck",
    "MigrationStatus",
    "Plan",
    "PlannedStatement",
    "ProgressEvent",
    "RepairResult",
    "RetryPolicy",
    "RollbackResult",
    "Section",
    "Statement",
    "StatusReport",
    "Step",
    "UpResult",
    "ValidateResult",
    "VerifyResult",
    "baseline",
    "checksum",
    "discover",
    "import_history",
    "new_migration",
    "parse_migration",
    "read_migration",
    "redo",
    "repair",
    "rollback",
    "status",
    "up",
    "validate",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` and return it from there."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value
