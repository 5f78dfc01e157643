"""The errors pgkeel raises, and the exit code each maps to.

Every error the library raises on purpose is a ``PgkeelError``; the CLI prints its
one-line ``str()`` (plus ``hint`` when set) and exits with its ``exit_code``. The
exit codes are the project's contract (see DESIGN.md, "Conventions")::

    PgkeelError                     (exit 3 unless overridden)
    ├── UsageError                  2  bad arguments or input the user must change
    │   ├── ConfigError             2  pgkeel.toml / .env / DSN problems
    │   └── MigrationFileError      2  a migration file breaks the format
    ├── DatabaseError               3  could not talk to PostgreSQL, or it refused
    │   ├── ConnectError            3  wrong password, unreachable host, missing database
    │   └── MigrationFailed         3  a migration statement failed on the server
    ├── ClusterError                3  the local cluster could not be set up or started
    └── Refused                     4  pgkeel would not act, to protect data
        ├── LockNotAcquired         4  another runner holds the advisory lock
        ├── ChecksumMismatch        4  an applied migration's file was edited
        ├── OutOfOrderMigration     4  a pending migration sorts before an applied one
        ├── FailedMigrationBlocks   4  a failed migration must be resolved first
        ├── HistoryFormatTooNew     4  a newer pgkeel wrote the migration history
        └── IrreversibleMigration   4  rollback asked of a migration with no down section
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "ChecksumMismatch",
    "ClusterError",
    "ConfigError",
    "ConnectError",
    "DatabaseError",
    "FailedMigrationBlocks",
    "HistoryFormatTooNew",
    "IrreversibleMigration",
    "LockNotAcquired",
    "MigrationFailed",
    "MigrationFileError",
    "OutOfOrderMigration",
    "PgkeelError",
    "Refused",
    "UsageError",
]


class PgkeelError(Exception):
    """Base of every error pgkeel raises on purpose; carries a hint and a location."""

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        path: Path | str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = Path(path) if path is not None else None
        self.line = line

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class UsageError(PgkeelError):
    """The user's arguments or input must change before pgkeel can proceed."""

    exit_code = 2


class ConfigError(UsageError):
    """Configuration (flags, environment, .env, pgkeel.toml, DSN) is invalid."""


class MigrationFileError(UsageError):
    """A migration file or directory breaks pgkeel's format."""


class DatabaseError(PgkeelError):
    """PostgreSQL could not be reached or refused a statement.

    ``sqlstate`` is the five-character SQLSTATE when the server sent one.
    """

    exit_code = 3

    def __init__(self, message: str, *, sqlstate: str | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.sqlstate = sqlstate


class ConnectError(DatabaseError):
    """A connection could not be opened: wrong password, host or database."""


class MigrationFailed(DatabaseError):
    """A migration statement failed on the server; ``statement_index`` is 0-based."""

    def __init__(
        self,
        message: str,
        *,
        version: str,
        statement_index: int | None = None,
        sqlstate: str | None = None,
        **kw: object,
    ) -> None:
        super().__init__(message, sqlstate=sqlstate, **kw)
        self.version = version
        self.statement_index = statement_index


class ClusterError(PgkeelError):
    """The local PostgreSQL cluster could not be found, created, started or stopped."""

    exit_code = 3


class Refused(PgkeelError):
    """pgkeel refused to act because acting could lose or corrupt data."""

    exit_code = 4


class LockNotAcquired(Refused):
    """Another runner holds pgkeel's advisory lock past the wait limit."""


class ChecksumMismatch(Refused):
    """An applied migration's file differs from what was applied."""


class IrreversibleMigration(Refused):
    """A rollback reached a migration whose down section has no statements."""


class OutOfOrderMigration(Refused):
    """A pending migration sorts before the newest applied one."""


class FailedMigrationBlocks(Refused):
    """A migration failed part-way; nothing runs until it is resumed or repaired."""


class HistoryFormatTooNew(Refused):
    """The history tables were written by a newer pgkeel than this one."""
