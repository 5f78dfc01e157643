"""One line, with the fix, for an operating-system error on a file or folder.

Python's ``str(OSError)`` is ``[Errno 36] File name too long: '/very/long/path'``: the
number means nothing to a user and that path can be a screen long. :func:`describe`
names the path (a too-long one shortened), says what is wrong in words, and how to fix it, chosen by
``errno`` (POSIX ``<errno.h>`` names), never by the message text.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["describe"]

_NAME_MAX = 255  # bytes in one file name on ext4, xfs, btrfs, tmpfs, APFS, NTFS


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit // 2]}…{text[-limit // 2:]}"


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists and is not a folder."""
    for candidate in (path, *path.parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def describe(exc: OSError) -> tuple[str, str | None]:
    """Return ``(message, fix)`` for ``exc``; ``fix`` is None when there is no advice."""
    name = exc.filename if exc.filename is not None else exc.filename2
    code = exc.errno
    if code == errno.ENAMETOOLONG and exc.filename2 is not None:
        # link/rename(src, dst): the name too long is the longer one, usually dst.
        name = max((exc.filename, exc.filename2),
                   key=lambda n: len(Path(str(n)).name.encode()))
    path = Path(str(name)) if name is not None else None
    shown = str(path) if path is not None else "a file"
    if code == errno.ENAMETOOLONG and path is not None:
        size = len(path.name.encode())
        return (f"{_short(shown)}: the file name is too long ({size} bytes; file systems allow "
                f"{_NAME_MAX})",
                "use a shorter name (for `pgkeel migrate new`, a shorter description)")
    if path is not None and code in (errno.ENOTDIR, errno.EEXIST):
        blocking = _file_in_the_way(path)
        if blocking is not None:
            return (f"{blocking} is a file, where a folder is expected",
                    "move or rename that file, or point pgkeel at the right folder "
                    "(--project, or the migrations_dir setting)")
    if code in (errno.EACCES, errno.EPERM):
        kind = "folder" if path is not None and path.is_dir() else "file"
        rights = "read, write and enter (chmod u+rwx)" if kind == "folder" else \
            "read and write (chmod u+rw)"
        return (f"{shown}: permission denied",
                f"let your user {rights} the {kind} {shown}, or run pgkeel as its owner "
                f"(see ls -ld {shown})")
    if code == errno.EISDIR:
        return (f"{shown} is a folder, where a file is expected",
                "remove or rename that folder, or give the path of a file")
    if code == errno.ENOSPC:
        return (f"{shown}: no space left on the device", "free some space and run again")
    if code == errno.EROFS:
        return (f"{shown}: the file system is read-only",
                "run pgkeel where it may write, or remount the file system read-write")
    reason = exc.strerror or type(exc).__name__
    return (f"{shown}: {reason[0].lower()}{reason[1:]}" if path is not None else reason,
            None)
