"""Whether the process ``postmaster.pid`` names is really this data directory's server.

A ``postmaster.pid`` outlives its server when the server is killed, and its process id
may then be reused by any program, or belong to a zombie (an exited process its parent
has not reaped, which ``kill(pid, 0)`` and ``pg_ctl status`` still report as alive).
pgkeel must neither call such a cluster ``running`` nor let ``pg_ctl stop`` signal that
process, so it asks Linux's ``/proc/<pid>`` (proc(5)): ``stat``'s state field (``Z``
zombie, ``X`` dead) and flags (``PF_EXITING``: killed, not yet a zombie), ``exe`` and
``cmdline`` (a ``postgres`` executable), and ``cwd`` (the postmaster changes into its
data directory at start, ``ChangeToDataDir`` in src/backend/utils/init/miscinit.c) or
its ``-D`` argument.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Verdict", "check_postmaster"]

_PROC = Path("/proc")
_SERVER_NAMES = ("postgres", "postmaster")
_PF_EXITING = 0x4  # task flag set when a process starts to exit (include/linux/sched.h)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What process ``pid`` is: ``ours`` (this data directory's server), ``gone``,
    ``zombie`` or ``other``; ``detail`` says it in words, for messages."""

    kind: Literal["ours", "gone", "zombie", "other"]
    detail: str


def check_postmaster(pid: int, data_dir: Path) -> Verdict | None:
    """Tell whether ``pid`` is the PostgreSQL server of ``data_dir``.

    Returns None where ``/proc`` is not available (not Linux): the caller falls back
    to ``pg_ctl status``. A process whose ``exe``/``cwd`` links cannot be read (another
    user's, when pgkeel is not root) is ``other``: pgkeel runs its server as a user it
    can inspect (itself, or as root any user).
    """
    if not (_PROC / "self").exists():
        return None
    proc = _PROC / str(pid)
    try:
        stat = (proc / "stat").read_text()
        argv = [a for a in (proc / "cmdline").read_bytes().decode(errors="replace")
                .split("\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return Verdict("gone", f"process {pid} no longer exists")
    except OSError as exc:
        return Verdict("other", f"process {pid} cannot be inspected ({exc.strerror})")
    # The command name in parentheses may hold spaces or ')': the fields follow the
    # last ')', starting with the state (field 3); flags is field 9.
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[:1] in (["Z"], ["X"]):
        return Verdict("zombie", f"process {pid} has exited (a zombie its parent has not "
                                 "reaped)")
    if len(fields) > 6 and int(fields[6]) & _PF_EXITING:
        # Killed but not yet a zombie: its memory (and with it exe and cmdline) is
        # already released, so it would otherwise look like a nameless other program.
        return Verdict("zombie", f"process {pid} is exiting")
    program = _link(proc / "exe")
    # The executable when readable, else the command line's first word.
    name = Path(program.removesuffix(" (deleted)") if program else argv[0] if argv else "").name
    if name not in _SERVER_NAMES:
        return Verdict("other", f"process {pid} is '{name or '?'}', not a PostgreSQL server")
    where = _link(proc / "cwd") or _data_dir_argument(argv)
    if where is None:
        return Verdict("other", f"process {pid} is a PostgreSQL server whose data directory "
                                "cannot be read")
    if _same(Path(where), data_dir):
        return Verdict("ours", f"process {pid} is this cluster's server")
    return Verdict("other", f"process {pid} is the PostgreSQL server of {where}")


def _link(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def _data_dir_argument(argv: list[str]) -> str | None:
    """The ``-D DIR`` / ``-DDIR`` of a server's command line, if given."""
    for index, arg in enumerate(argv):
        if arg == "-D" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("-D") and len(arg) > 2:
            return arg[2:]
    return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
