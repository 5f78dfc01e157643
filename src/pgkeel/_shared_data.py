"""Where the team's real inputs live: ``../shared/data`` beside a clone of pgkeel.

The test suite, the benchmarks and ``tools/check_real_schemas.py`` read Pagila,
Chinook, Northwind and the Harness history in place from there (they are not copied
into the project). A user's clone has no such folder: callers skip or refuse, saying
so.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir"]


def shared_data_dir(project: Path | None = None) -> Path:
    """``$PGKEEL_SHARED_DATA``, else the nearest ``shared/data`` beside an ancestor.

    ``project`` is the checkout's root (default: the one this source file is in).
    The nearest ancestor counts because a git worktree (``../wt/NAME``) sits deeper
    than the main clone. When none exists, returns ``<project>/../shared/data``
    (absent: the caller says so).
    """
    if "PGKEEL_SHARED_DATA" in os.environ:
        return Path(os.environ["PGKEEL_SHARED_DATA"])
    root = project or Path(__file__).resolve().parents[2]
    for parent in root.parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return root.parent / "shared" / "data"
