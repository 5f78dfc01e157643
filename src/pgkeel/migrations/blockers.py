"""Who blocks the runner: sampled from a second connection while a statement waits.

When a statement gives up on ``lock_timeout``, the lock it waited for is no longer
requested, so ``pg_blocking_pids()`` (PostgreSQL docs §9.27 "System Information
Functions") has nothing left to say about it. On a retry, :class:`BlockerWatch` samples
it from another connection while the statement runs, so the final error can name the
sessions in the way and what they are doing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import TracebackType

import psycopg

from pgkeel.connect import connect
from pgkeel.errors import PgkeelError

__all__ = ["Blocker", "BlockerWatch"]


@dataclass(frozen=True, slots=True)
class Blocker:
    """A session holding a lock the runner waits for: ``pid``, ``application_name``,
    ``state`` (``idle in transaction``...), ``xact_seconds`` (age of its transaction)
    and the start of its ``query``."""

    pid: int
    application_name: str
    state: str | None
    xact_seconds: float | None
    query: str

    def describe(self) -> str:
        """One line naming the session and its query."""
        age = f" for {self.xact_seconds:.0f} s" if self.xact_seconds is not None else ""
        return (f"pid {self.pid} (application_name {self.application_name!r}, "
                f"{self.state or 'unknown state'}{age}): {self.query}")


class BlockerWatch:
    """Sample the sessions blocking backend ``pid`` every ``every_s`` seconds.

    Use as a context manager around a statement; :attr:`blockers` keeps the last
    non-empty sample. The second connection is opened only when the first sample is
    due, so a statement that finishes quickly costs nothing but a thread.
    """

    def __init__(self, url: str, pid: int, every_s: float) -> None:
        self.url = url
        self.pid = pid
        self.every_s = every_s
        self.blockers: tuple[Blocker, ...] = ()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pgkeel-blockers", daemon=True)

    def _sample(self, conn: psycopg.Connection[tuple[object, ...]]) -> tuple[Blocker, ...]:
        rows = conn.execute(
            "SELECT a.pid, a.application_name, a.state,"
            " extract(epoch FROM clock_timestamp() - a.xact_start),"
            " left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200)"
            " FROM pg_catalog.pg_stat_activity a"
            " WHERE a.pid = ANY (pg_catalog.pg_blocking_pids(%s)) ORDER BY a.pid",
            (self.pid,),
        ).fetchall()
        return tuple(
            Blocker(int(str(pid)), str(app or ""), str(state) if state else None,
                    float(str(age)) if age is not None else None, str(query or ""))
            for pid, app, state, age, query in rows
        )

    def _run(self) -> None:
        conn = None
        try:
            while not self._stop.wait(self.every_s):
                if conn is None:
                    conn = connect(self.url)
                found = self._sample(conn)
                if found:
                    self.blockers = found
        except (psycopg.Error, PgkeelError, OSError):
            # Best effort: the statement's own error is what matters; this only adds
            # detail to it.
            pass
        finally:
            if conn is not None:
                conn.close()

    def __enter__(self) -> BlockerWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
