"""Progress events: how the migration runner tells its caller what it is doing.

The library never prints (STYLE.md, "What this means for pgkeel" item 9). Every
long-running function takes ``progress: Progress | None`` and calls it with a
:class:`ProgressEvent`; the CLI renders them with Rich, tests collect them in a list.
This mirrors Django's ``progress_callback("apply_start", migration, fake)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Progress", "ProgressEvent", "ProgressKind", "emit"]

ProgressKind = Literal[
    "lock_wait",  # another runner holds the advisory lock; detail names it
    "lock_acquired",
    "backup_start",
    "backup_done",  # detail: the file written
    "apply_start",
    "apply_done",  # elapsed_ms: the migration's execution time
    "rollback_start",
    "rollback_done",
    "statement",  # a statement of a transaction:false section finished
    "retry",  # lock_timeout hit; detail says when the next try starts
    "failed",
    "interrupted",  # KeyboardInterrupt stopped a step; detail: the state it left
]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """One thing the runner did or is about to do.

    ``version`` and ``name`` identify the migration when the event concerns one;
    ``elapsed_ms`` is set on ``*_done`` events (milliseconds); ``detail`` is one human
    sentence (never holding a password).
    """

    kind: ProgressKind
    version: str | None = None
    name: str | None = None
    elapsed_ms: float | None = None
    detail: str | None = None


Progress = Callable[[ProgressEvent], None]


def emit(progress: Progress | None, kind: ProgressKind, **fields: object) -> None:
    """Call ``progress`` with a new event of ``kind`` when a callback was given."""
    if progress is not None:
        progress(ProgressEvent(kind, **fields))  # type: ignore[arg-type]
