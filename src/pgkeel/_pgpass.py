"""libpq password files: what lets a printed URL work without holding the password.

Format (PostgreSQL docs, "The Password File"): one ``host:port:database:user:password``
line per entry, ``*`` matching anything, ``\\`` and ``:`` escaped with a backslash. libpq
ignores a file that group or others can read, so it is written with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_pgpass"]


def write_pgpass(path: Path, *, host: str, user: str, password: str) -> None:
    """Make ``path`` hold the single entry ``host:*:*:user:password`` (mode 0600).

    Any port and database match, so the file stays right when the server moves to
    another port. Rewritten atomically, and only when its content differs. Raises
    ``OSError`` when it cannot be written.
    """
    def escaped(value: str) -> str:
        return value.replace("\\", "\\\\").replace(":", "\\:")

    line = f"{escaped(host)}:*:*:{escaped(user)}:{escaped(password)}\n"
    if path.exists() and path.read_text() == line:
        return
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(line)
    tmp.replace(path)
