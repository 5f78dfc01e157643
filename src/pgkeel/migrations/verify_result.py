"""What ``migrate verify`` found: :class:`VerifyResult`, one :class:`MigrationCheck`
per migration, and the wording of its differences.

The checks are made by :func:`pgkeel.migrations.verify.verify`, which re-exports these
names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pgkeel.catalog.diff import Difference, Wording
from pgkeel.migrations._data_loss import DataLoss
from pgkeel.migrations._rehearse import LockTaken

__all__ = ["AFTER_DOWN", "AFTER_REAPPLY", "MigrationCheck", "StatementError", "Verdict",
           "VerifyResult"]

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
