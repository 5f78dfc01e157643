"""The unprivileged account that runs PostgreSQL, and directories safe to share with it.

PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not
permitted", src/backend/main/main.c), so as root pgkeel runs it as ``postgres`` (or
``nobody``). Paths that account cannot enter are moved under ``/var/tmp`` — a directory
every local user can write to, so nothing found there is trusted unless root owns it,
it is no symbolic link, and nobody else can write to it (:func:`secure_dir`).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pgkeel.errors import ClusterError

__all__ = ["ServerUser", "digest", "secure_dir", "server_user", "shared_tmp",
           "unreachable_parent"]


@dataclass(frozen=True, slots=True)
class ServerUser:
    """The account the server runs as: ``name``, ``uid``, ``gid``."""

    name: str
    uid: int
    gid: int

    @property
    def is_other(self) -> bool:
        """True when it is not the account pgkeel itself runs as (pgkeel runs as root)."""
        return self.uid != os.geteuid()


def server_user() -> ServerUser:
    """Return ourselves, or as root an unprivileged account (``postgres``, ``nobody``).

    Raises ``ClusterError`` as root when neither account exists.
    """
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ServerUser(name, entry.pw_uid, entry.pw_gid)
    raise ClusterError(
        "running as root and no unprivileged 'postgres' or 'nobody' account exists",
        hint="create one (useradd --system postgres) or run pgkeel as a normal user",
    )


def unreachable_parent(path: Path, user: ServerUser) -> Path | None:
    """Return the first existing directory on ``path`` that ``user`` cannot enter."""
    if not user.is_other:
        return None
    for parent in reversed([path, *path.parents]):
        if not parent.exists():
            continue
        mode = parent.stat()
        if mode.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif mode.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return parent
    return None


def digest(path: Path) -> str:
    """A short, stable name component derived from ``path`` (12 hex digits)."""
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]


def shared_tmp() -> Path:
    """``/var/tmp`` (kept across reboots, unlike /tmp on many systems), else the temp dir."""
    var_tmp = Path("/var/tmp")
    return var_tmp if var_tmp.is_dir() else Path(tempfile.gettempdir())


def secure_dir(path: Path, *, owners: tuple[int, ...], mode: int = 0o755) -> Path:
    """Create ``path`` (one level), or check an existing one is safe to use; return it.

    Safe means: a real directory (not a symbolic link), owned by one of ``owners``, and
    not writable by group or others. In a world-writable parent such as /tmp another
    local user could otherwise plant the directory, or a link to one of root's, and
    have pgkeel run or chown what they chose.

    Raises ``ClusterError`` naming the directory when it is unsafe.
    """
    try:
        path.mkdir(mode=mode)
        path.chmod(mode)  # mkdir's mode is filtered by the umask
        return path
    except FileExistsError:
        pass
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        problem = "is a symbolic link" if stat.S_ISLNK(info.st_mode) else "is not a directory"
    elif info.st_uid not in owners:
        problem = f"belongs to uid {info.st_uid}"
    elif info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        problem = "is writable by other users"
    else:
        return path
    raise ClusterError(
        f"{path} {problem}; pgkeel will not use it (another user may have planted it)",
        hint=f"remove {path} if you know it, or set cluster_dir to a directory you own",
    )
