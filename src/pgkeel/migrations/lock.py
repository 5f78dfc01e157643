"""pgkeel's advisory lock: one migration runner per database at a time.

Every command that writes history (``up``, ``rollback``, ``redo``, ``baseline``,
``repair``) holds a *session-level* advisory lock on its migration connection for the
whole run, taken with ``pg_try_advisory_lock`` in a poll loop (PostgreSQL docs §13.3.5
"Advisory Locks", §9.28.10 "Advisory Lock Functions"). A session lock outlives the
transactions of each migration and is released by the server when the session ends,
so a killed runner (``SIGKILL``, ``pg_terminate_backend``) never leaves it held; a
lock kept in a table row does (``knex/knex#1217``). Tools without one apply the same
migration twice when two deploys overlap (``amacneil/dbmate#101``,
``sqlalchemy/alembic#633``).

The key is the two-``int4`` form ``(class, object)``: the class is a constant for
pgkeel's migrations, the object a hash of the database name. Advisory locks are local
to a database anyway; hashing the name too keeps the key meaningful in ``pg_locks``
of a shared cluster and stable across PostgreSQL versions (``hashtext()`` is
internal and may change). A poll loop rather than a blocking ``pg_advisory_lock`` lets
the waiter report who holds the lock while it waits, and give up with the holder's pid
and ``application_name`` (from ``pg_locks`` joined with ``pg_stat_activity``).

A session lock does not survive a transaction-pooling PgBouncer (``ariga/atlas`` PR
#2447, ``flyway/flyway#2895``): run migrations over a direct connection.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from pgkeel.errors import LockNotAcquired
from pgkeel.migrations.progress import Progress, emit

if TYPE_CHECKING:
    import psycopg

__all__ = ["LOCK_CLASS", "AdvisoryLock", "LockHolder", "lock_holder", "lock_key"]

LOCK_CLASS = 0x706B6B6C  # "pkkl": pgkeel's migrations, in pg_locks.classid
_POLL_MIN_S = 0.05
_POLL_MAX_S = 0.25


def lock_key(dbname: str) -> tuple[int, int]:
    """Return the ``(classid, objid)`` pair of the migration lock for ``dbname``.

    Both are non-negative ``int4`` values, so they read the same in ``pg_locks``
    (where they are ``oid``) as in the lock functions' arguments.
    """
    digest = hashlib.sha256(f"pgkeel-migrations:{dbname}".encode()).digest()
    return LOCK_CLASS, int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class LockHolder:
    """The session holding the migration lock: its backend ``pid``, ``application_name``,
    client address (None over a Unix socket), ``state`` and current ``query``."""

    pid: int
    application_name: str
    client_addr: str | None
    state: str | None
    query: str | None

    def describe(self) -> str:
        """One phrase naming the holder, e.g. ``pid 4242 (application_name 'pgkeel')``."""
        where = f" from {self.client_addr}" if self.client_addr else ""
        return f"pid {self.pid} (application_name {self.application_name!r}{where})"


def _dbname(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def lock_holder(conn: psycopg.Connection[tuple[object, ...]]) -> LockHolder | None:
    """Return who holds the migration lock of ``conn``'s database, or None.

    Needs ``pg_read_all_stats`` (or superuser) to see another role's query; without
    it ``query`` is ``<insufficient privilege>``, as pg_stat_activity shows it.
    """
    classid, objid = lock_key(_dbname(conn))
    row = conn.execute(
        "SELECT l.pid, a.application_name, host(a.client_addr), a.state, a.query"
        " FROM pg_catalog.pg_locks l"
        " JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted"
        "   AND l.database = (SELECT oid FROM pg_catalog.pg_database"
        "                     WHERE datname = current_database())"
        "   AND l.classid = %s::oid AND l.objid = %s::oid AND l.objsubid = 2",
        (classid, objid),
    ).fetchone()
    if row is None:
        return None
    pid, app, addr, state, query = row
    return LockHolder(
        pid=int(str(pid)),
        application_name=str(app or ""),
        client_addr=str(addr) if addr else None,
        state=str(state) if state else None,
        query=str(query) if query else None,
    )


class AdvisoryLock:
    """The migration lock on one connection; use as a context manager.

    ``wait_s`` is how long (seconds) :meth:`acquire` waits for another runner; 0 means
    try once. ``progress`` receives a ``lock_wait`` event naming the holder once, when
    the first try fails, and ``lock_acquired`` when it succeeds.
    """

    def __init__(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        *,
        wait_s: float,
        progress: Progress | None = None,
    ) -> None:
        self.conn = conn
        self.wait_s = wait_s
        self.progress = progress
        self.key = lock_key(_dbname(conn))
        self.held = False
        self.waited_s = 0.0

    def _try(self) -> bool:
        row = self.conn.execute("SELECT pg_catalog.pg_try_advisory_lock(%s, %s)",
                                self.key).fetchone()
        return bool(row and row[0])

    def acquire(self) -> float:
        """Take the lock, polling until ``wait_s`` has passed; return seconds waited.

        Raises ``LockNotAcquired`` (exit 4) naming the holder's pid and
        application_name when the wait runs out.
        """
        start = time.monotonic()
        delay = _POLL_MIN_S
        announced = False
        while not self._try():
            waited = time.monotonic() - start
            if waited >= self.wait_s:
                holder = lock_holder(self.conn)
                who = holder.describe() if holder else "a session that has since ended"
                raise LockNotAcquired(
                    f"another migration runner holds pgkeel's lock on this database: "
                    f"{who}; waited {waited:.1f} s",
                    hint="wait for it to finish and run again (or raise --lock-wait); "
                    "if it is stuck, end it with SELECT pg_terminate_backend(pid)",
                )
            if not announced:
                holder = lock_holder(self.conn)
                emit(self.progress, "lock_wait",
                     detail=f"waiting up to {self.wait_s:g} s for "
                     f"{holder.describe() if holder else 'another runner'}")
                announced = True
            # Jitter keeps a crowd of waiters from polling in lockstep.
            time.sleep(min(delay, max(self.wait_s - waited, 0)) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, _POLL_MAX_S)
        self.held = True
        self.waited_s = time.monotonic() - start
        emit(self.progress, "lock_acquired", detail=f"waited {self.waited_s:.2f} s")
        return self.waited_s

    def release(self) -> None:
        """Release the lock if held; a closed connection has released it already."""
        if not self.held:
            return
        self.held = False
        if not self.conn.closed:
            self.conn.execute("SELECT pg_catalog.pg_advisory_unlock(%s, %s)", self.key)

    def __enter__(self) -> AdvisoryLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.release()
        except Exception:
            # The connection broke (the error being raised says why); the server
            # dropped the lock with the session.
            if exc is None:
                raise
