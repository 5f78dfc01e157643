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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
import psycopg.errors
from psycopg import generators, pq

from pgkeel.migrations.plan import PlannedStatement

if TYPE_CHECKING:
    from pgkeel.migrations.plan import Step

__all__ = ["AHEAD_MAX", "CLOCK", "RESET", "Outcome", "groups", "send_steps"]

#: pgkeel's writes run as the user that connected, whatever role the migration took.
RESET = ("RESET ROLE", "RESET SESSION AUTHORIZATION", "RESET search_path")
#: Notes when the migration's transaction began, for the history's ``execution_ms``
#: (``history.applied_sql``): ``now()`` is the same for every statement of a message.
CLOCK = ("SELECT pg_catalog.set_config('pgkeel.started', "
         "pg_catalog.clock_timestamp()::text, true)")
_SEPARATOR = ";\n"
_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)
#: Migrations sent in one message at most: the runner reports each one when its
#: message returns, so this bounds how late that can be, and the message's size.
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
               steps: Sequence[tuple[Step, str]], head: Sequence[str]) -> Outcome:
    """Run ``steps`` (each with its history statement, which returns ``execution_ms``)
    as one message, each migration opened by the statements ``head``; return the
    :class:`Outcome`.

    ``conn`` must be in autocommit mode and idle. After a failure the transaction is
    left aborted for the caller to roll back. Raises ``psycopg.OperationalError`` when
    the connection is closed, and whatever interrupts the wait (Ctrl-C: psycopg
    cancels the query first), after which nothing says what committed.
    """
    pieces: list[str] = []
    ends: list[int] = []  # one past each migration's last piece
    for step, record in steps:
        pieces += (*head, *(s.sql for s in step.statements), *RESET, record, "COMMIT")
        ends.append(len(pieces))
    results = _send(conn, _SEPARATOR.join(pieces).encode())
    failed = next((i for i, r in enumerate(results) if r.status not in _OK), None)
    committed = []
    start = 0
    for (step, _record), end in zip(steps, ends, strict=True):
        if failed is not None and failed < end:
            break
        committed.append((step, _milliseconds(results[end - 2])))
        start = end
    if failed is None:
        return Outcome(tuple(committed))
    step = steps[len(committed)][0]
    error = psycopg.errors.error_from_result(results[failed], encoding=conn.info.encoding)
    index, count = failed - start - len(head), len(step.statements)
    if 0 <= index < count:
        offset = sum(len(p) + len(_SEPARATOR) for p in pieces[:failed])
        return Outcome(tuple(committed), step, error, step.statements[index], offset)
    if failed == ends[len(committed)] - 1:  # a DEFERRABLE constraint is checked at COMMIT
        return Outcome(tuple(committed), step, error, PlannedStatement(count, "COMMIT", None))
    return Outcome(tuple(committed), step, error)


def _milliseconds(result: pq.PGresult) -> int:
    value = result.get_value(0, 0) if result.ntuples else None
    return int(value) if value is not None else 0


def _send(conn: psycopg.Connection[tuple[object, ...]], text: bytes) -> list[pq.PGresult]:
    """Send ``text`` as one simple query; return every result, errors included.

    ``Connection.execute`` raises on the first error and drops the results before it,
    which say how far the message got; this is the same exchange (``send_query``, then
    the ``execute`` generator, as psycopg's ``_exec_command`` does) keeping them.
    ``Connection.wait`` cancels the query on Ctrl-C as ``execute`` does.
    """
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    with conn.lock:
        conn.pgconn.send_query(text)
        return conn.wait(generators.execute(conn.pgconn))
