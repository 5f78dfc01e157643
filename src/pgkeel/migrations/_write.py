"""Create files atomically without ever replacing one that exists."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_new"]


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``, all or nothing.

    The bytes go to a temporary file in the same directory, are flushed to disk, and
    the file is then hard-linked to ``path``: unlike a rename, a link fails when the
    name exists, so a concurrent writer or an existing file is never replaced. Raises
    ``FileExistsError`` when ``path`` exists and ``OSError`` for other I/O failures;
    the temporary file is removed either way.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a migration is an ordinary file
        os.link(tmp, path)
    finally:
        os.unlink(tmp)
