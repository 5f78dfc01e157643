"""Run transactional migrations as one simple-query message, and read back what happened.

Each migration becomes ``BEGIN``, the session prologue, its statements, pgkeel's reset,
its history row and ``COMMIT``; several migrations are these pieces one after the
other, joined by ``;``. PostgreSQL runs such a message statement by statement; an
explicit ``BEGIN ... COMMIT`` inside it is a transaction of its own, and after an error
the server skips the rest of the message (PostgreSQL docs §55.2.2.1 "Multiple
Statements in a Simple Query"). So every migration still commits with its history row
or not at all, exactly as when each is sent on its own, in one round trip instead of
one per statement.

The migrations' statements are whole statements cut by PostgreSQL's parser, with no
transaction control in them (``files`` refuses it) and no ``COPY`` (the caller sends
those alone), so joining them changes nothing. The server answers every statement with
one result, so the results received before an error say which migrations committed
and which statement failed; PostgreSQL's error position counts characters of the whole
message and is moved back into that statement.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
import psycopg.errors
from psycopg import generators, pq

from pgkeel.migrations.plan import PlannedStatement

if TYPE_CHECKING:
    from pgkeel.migrations.plan import Step

__all__ = ["AHEAD_MAX", "CLOCK", "FLUSH", "RESET", "Outcome", "groups", "send_steps"]

#: pgkeel's writes run as the user that connected, whatever role the migration took.
RESET = ("RESET ROLE", "RESET SESSION AUTHORIZATION", "RESET search_path")
#: Notes when the migration's transaction began, for the history's ``execution_ms``
#: (``history.applied_sql``): ``now()`` is the same for every statement of a message.
CLOCK = ("SELECT pg_catalog.set_config('pgkeel.started', "
         "pg_catalog.clock_timestamp()::text, true)")
_SEPARATOR = ";\n"
#: Sends a notice, which PostgreSQL flushes to the client at once together with the
#: answers queued before it (elog.c, send_message_to_frontend). Needs PL/pgSQL; the
#: setting is local to the DO's own transaction.
FLUSH = ("DO $pgkeel$BEGIN PERFORM pg_catalog.set_config('client_min_messages', 'notice', "
         "true); RAISE NOTICE 'pgkeel: migration committed'; END$pgkeel$")
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)
#: Migrations sent in one message at most: bounds the message's size and how much
#: work one message holds (each migration is reported as its COMMIT arrives).
AHEAD_MAX = 25


def _shareable(step: Step) -> bool:
    """Whether ``step`` can be sent in one message with others (``_batch``)."""
    return (step.direction == "up" and step.transactional and not step.resumed
            and step.migration is not None
            and all(s.copy_data is None for s in step.statements))


def groups(steps: Sequence[Step]) -> dict[str, tuple[Step, ...]]:
    """Runs of 2 to ``AHEAD_MAX`` shareable steps, keyed by their first version."""
    found: dict[str, tuple[Step, ...]] = {}
    run: list[Step] = []
    for step in (*steps, None):
        if step is not None and _shareable(step) and len(run) < AHEAD_MAX:
            run.append(step)
            continue
        if len(run) > 1:
            found[run[0].version] = tuple(run)
        run = [step] if step is not None and _shareable(step) else []
    return found


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a message did.

    ``committed`` holds each migration that committed, with its ``execution_ms`` as
    the server recorded it. When one failed: ``failed`` is its step, ``error``
    PostgreSQL's error, ``statement`` the statement (a ``COMMIT`` one past the last
    for a deferred constraint; None when one of pgkeel's own statements failed) and
    ``offset`` the character where that statement starts in the message. The
    migrations after a failed one did not run.
    """

    committed: tuple[tuple[Step, int], ...]
    failed: Step | None = None
    error: psycopg.Error | None = None
    statement: PlannedStatement | None = None
    offset: int = 0


def send_steps(conn: psycopg.Connection[tuple[object, ...]],
               steps: Sequence[tuple[Step, str]], head: Sequence[str],
               on_commit: Callable[[Step, int], None] | None = None,
               flush: str | None = None) -> Outcome:
    """Run ``steps`` (each with its history statement, which returns ``execution_ms``)
    as one message, each migration opened by the statements ``head``; return the
    :class:`Outcome`.

    ``on_commit(step, execution_ms)`` is called as each migration's ``COMMIT`` result
    arrives, while the rest of the message may still run. The server queues the
    answers to a simple query's statements and sends them when the message ends;
    ``flush`` (:data:`FLUSH`), placed after each ``COMMIT`` but the last, makes it
    send what it has then (a notice is sent at once, with what is queued before it),
    so the caller can report a migration the moment it is committed.

    ``conn`` must be in autocommit mode and idle. After a failure the transaction is
    left aborted for the caller to roll back. Raises ``psycopg.OperationalError`` when
    the connection is closed, and whatever interrupts the wait (Ctrl-C: psycopg
    cancels the query first), after which nothing says what committed.
    """
    pieces: list[str] = []
    starts: list[int] = []  # where each migration's pieces begin
    ends: list[int] = []  # one past each migration's COMMIT
    for number, (step, record) in enumerate(steps):
        starts.append(len(pieces))
        pieces += (*head, *(s.sql for s in step.statements), *RESET, record, "COMMIT")
        ends.append(len(pieces))
        if flush is not None and number < len(steps) - 1:
            pieces.append(flush)
    commits = {end - 1: number for number, end in enumerate(ends)}

    def arrived(results: list[pq.PGresult]) -> None:
        number = commits.get(len(results) - 1)
        if on_commit is not None and number is not None and results[-1].status in _OK:
            on_commit(steps[number][0], _milliseconds(results[-2]))

    results = _send(conn, _SEPARATOR.join(pieces).encode(), arrived)
    failed = next((i for i, r in enumerate(results) if r.status not in _OK), None)
    committed = []
    for (step, _record), end in zip(steps, ends, strict=True):
        if failed is not None and failed < end:
            break
        committed.append((step, _milliseconds(results[end - 2])))
    if failed is None:
        return Outcome(tuple(committed))
    step = steps[len(committed)][0]
    error = psycopg.errors.error_from_result(results[failed], encoding=conn.info.encoding)
    index = failed - starts[len(committed)] - len(head)
    count = len(step.statements)
    if 0 <= index < count:
        offset = sum(len(p) + len(_SEPARATOR) for p in pieces[:failed])
        return Outcome(tuple(committed), step, error, step.statements[index], offset)
    if failed == ends[len(committed)] - 1:  # a DEFERRABLE constraint is checked at COMMIT
        return Outcome(tuple(committed), step, error, PlannedStatement(count, "COMMIT", None))
    return Outcome(tuple(committed), step, error)


def _milliseconds(result: pq.PGresult) -> int:
    value = result.get_value(0, 0) if result.ntuples else None
    return int(value) if value is not None else 0


def _send(conn: psycopg.Connection[tuple[object, ...]], text: bytes,
          arrived: Callable[[list[pq.PGresult]], None]) -> list[pq.PGresult]:
    """Send ``text`` as one simple query; return every result, errors included.

    ``Connection.execute`` raises on the first error and drops the results before it,
    which say how far the message got; this is the same exchange (``send_query``,
    ``send``, then one ``fetch`` per result until libpq has none, as psycopg's
    ``execute`` generator does) keeping them, and calling ``arrived(results)`` as each
    one comes in. ``Connection.wait`` cancels the query on Ctrl-C as ``execute`` does.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    results: list[pq.PGresult] = []
    with conn.lock:
        conn.pgconn.send_query(text)
        conn.wait(generators.send(conn.pgconn))
        try:
            while (result := _next_result(conn, results)) is not None:
                results.append(result)
                arrived(results)
        except psycopg.Error:
            raise
        except BaseException:
            # An interrupt: ``wait`` cancelled the query and read the result it waited
            # for; read the rest too, so the connection is idle again for whoever
            # looks at what the interrupt left (the history).
            with contextlib.suppress(psycopg.Error):
                conn.wait(generators.fetch_many(conn.pgconn))
            raise
    return results


def _next_result(conn: psycopg.Connection[tuple[object, ...]],
                 received: list[pq.PGresult]) -> pq.PGresult | None:
    """The next result of the message, or None when there are no more.

    A server that ends the session (``pg_terminate_backend``) first sends a FATAL
    error result, then the connection fails: as psycopg's ``fetch_many`` does, that
    result is the answer, and the failure to read on is not.
    """
    try:
        return conn.wait(generators.fetch(conn.pgconn))
    except psycopg.DatabaseError:
        if any(r.status == pq.ExecStatus.FATAL_ERROR for r in received):
            return None
        raise
