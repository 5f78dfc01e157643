"""The migration history: every statement on the ``pgkeel`` schema's tables lives here.

As in Django, where ``recorder.py`` alone writes ``django_migrations``, the runner calls
these functions and never writes history SQL itself (STYLE.md §2 "Ownership").

Tables (always schema-qualified, so a migration's ``SET search_path`` cannot hide
them; their DDL and format upgrades are in :mod:`~pgkeel.migrations.history_schema`):

``pgkeel.meta``
    ``history_format``: the layout version of these tables (:data:`FORMAT`).
``pgkeel.migrations``
    One row per applied (or failed) migration: version, name, file, SHA-256 checksum
    and its algorithm, the up statements' checksums (for ``up --resume``), the down
    statements as they were when applied and whether the down was ``noop:true``
    (``rollback`` runs these, so it works after the file changed or vanished), applied
    order, ``applied_at``, execution time in ms, ``applied_by``, pgkeel version, how it
    got there (``run``, ``baseline``, ``repair``), ``status`` (``applied`` or
    ``failed``) and for a failure the direction, statement index (0-based), line,
    SQLSTATE and message. Unlike golang-migrate's single ``dirty`` flag
    (``golang-migrate/migrate#282``), a failure says *which* statement failed and what
    PostgreSQL said.
``pgkeel.events``
    Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE): every apply, rollback,
    failure, repair, baseline, resume and backup, with who, when and from where.

A transactional migration's row and ``apply`` event are written by
:func:`record_applied` inside the migration's own transaction (Django's "one commit"),
so a killed runner leaves either both or neither.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from psycopg import errors as pgerrors

from pgkeel import __version__
from pgkeel.migrations.files import CHECKSUM_ALGORITHM
from pgkeel.migrations.history_schema import FORMAT, denied, ensure, exists, found_format
from pgkeel.migrations.records import (
    AppliedMigration,
    Direction,
    Event,
    EventKind,
    Failure,
    StoredDown,
)

if TYPE_CHECKING:
    import psycopg

    from pgkeel.migrations.files import Migration

__all__ = [
    "FORMAT",
    "AppliedMigration",
    "Event",
    "EventKind",
    "Failure",
    "StoredDown",
    "applied_sql",
    "ensure",
    "events",
    "exists",
    "read",
    "record_applied",
    "record_baseline",
    "record_down_started",
    "record_event",
    "record_failure",
    "record_finished",
    "record_progress",
    "record_repaired",
    "record_started",
    "record_unapplied",
    "unapplied_sql",
]

_INTERRUPTED = "interrupted: the runner stopped before this statement finished"

_COLUMNS = (
    "version, name, path, checksum, checksum_algorithm, statement_checksums, transactional,"
    " down_statements, down_lines, down_transactional, down_noop, applied_order, applied_at,"
    " execution_ms, applied_by, pgkeel_version, method, status, statements_done,"
    " failed_direction, failed_statement, failed_line, failed_sqlstate, failed_message"
)


def _client() -> str:
    """``user@host pid N`` of this process, for the audit columns."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


_CLIENT = _client()


def _tuple(value: object) -> tuple[Any, ...]:
    assert isinstance(value, list)  # psycopg returns PostgreSQL arrays as lists
    return tuple(value)


def _row(values: Sequence[object]) -> AppliedMigration:
    (version, name, path, checksum, algorithm, statement_checksums, transactional,
     down_statements, down_lines, down_transactional, down_noop, applied_order, applied_at,
     execution_ms, applied_by, pgkeel_version, method, status, statements_done,
     failed_direction, failed_statement, failed_line, failed_sqlstate,
     failed_message) = values
    failure = None
    if status == "failed":
        failure = Failure(
            direction="down" if failed_direction == "down" else "up",
            statement_index=int(str(failed_statement or 0)),
            line=int(str(failed_line)) if failed_line is not None else None,
            sqlstate=str(failed_sqlstate) if failed_sqlstate else None,
            message=str(failed_message or ""),
        )
    return AppliedMigration(
        version=str(version),
        name=str(name),
        path=str(path),
        checksum=str(checksum),
        checksum_algorithm=str(algorithm),
        statement_checksums=_tuple(statement_checksums),
        transactional=bool(transactional),
        down=StoredDown(
            statements=_tuple(down_statements),
            lines=_tuple(down_lines),
            transactional=bool(down_transactional),
            noop=bool(down_noop),
        ),
        applied_order=int(str(applied_order)),
        applied_at=applied_at,  # type: ignore[arg-type]
        execution_ms=int(str(execution_ms)),
        applied_by=str(applied_by),
        pgkeel_version=str(pgkeel_version),
        method=str(method),
        status="failed" if status == "failed" else "applied",
        statements_done=int(str(statements_done)),
        failure=failure,
    )


def read(conn: psycopg.Connection[tuple[object, ...]]) -> list[AppliedMigration]:
    """Return every history row in applied order (oldest first); [] without history.

    An older layout is read as it is (``status`` and dry runs never upgrade it): a
    format-1 table has no ``down_noop`` column, and none of its downs was ``noop:true``.
    Raises ``Refused`` for a layout newer than this pgkeel's, and ``DatabaseError``
    (exit 3, SQLSTATE 42501) naming the grant when this user may not read it.
    """
    found = found_format(conn)
    if not found:
        return []
    columns = _COLUMNS if found >= 2 else _COLUMNS.replace(" down_noop,", " false,")
    try:
        rows = conn.execute(
            f"SELECT {columns} FROM pgkeel.migrations ORDER BY applied_order"
        ).fetchall()
    except pgerrors.InsufficientPrivilege as exc:
        raise denied(conn, exc, write=False) from exc
    return [_row(r) for r in rows]


def events(conn: psycopg.Connection[tuple[object, ...]]) -> list[Event]:
    """Return the whole event log, oldest first; [] without history."""
    if not exists(conn):
        return []
    try:
        rows = conn.execute(
            "SELECT id, at, kind, version, name, checksum, execution_ms, statement_index,"
            " sqlstate, message, detail, db_user, client FROM pgkeel.events ORDER BY id"
        ).fetchall()
    except pgerrors.InsufficientPrivilege as exc:
        raise denied(conn, exc, write=False) from exc
    return [
        Event(
            id=int(str(r[0])), at=r[1], kind=r[2],  # type: ignore[arg-type]
            version=r[3], name=r[4], checksum=r[5],  # type: ignore[arg-type]
            execution_ms=r[6], statement_index=r[7],  # type: ignore[arg-type]
            sqlstate=r[8], message=r[9], detail=dict(r[10] or {}),  # type: ignore[arg-type, call-overload]
            db_user=str(r[11]), client=r[12],  # type: ignore[arg-type]
        )
        for r in rows
    ]


_EVENT_INSERT = (
    "INSERT INTO pgkeel.events (kind, version, name, checksum, execution_ms,"
    " statement_index, sqlstate, message, detail, client, pgkeel_version)"
)


def record_event(
    conn: psycopg.Connection[tuple[object, ...]],
    kind: EventKind,
    *,
    version: str | None = None,
    name: str | None = None,
    checksum: str | None = None,
    execution_ms: int | None = None,
    statement_index: int | None = None,
    sqlstate: str | None = None,
    message: str | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """Append one event to ``pgkeel.events`` (in the caller's transaction, if any)."""
    conn.execute(
        _EVENT_INSERT + " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (kind, version, name, checksum, execution_ms, statement_index, sqlstate, message,
         json.dumps(detail or {}), _CLIENT, __version__),
    )


def _migration_values(migration: Migration, directory_relative: str) -> dict[str, object]:
    down = StoredDown.of(migration.down)
    return {
        "version": migration.version,
        "name": migration.name,
        "path": directory_relative,
        "checksum": migration.checksum,
        "algorithm": CHECKSUM_ALGORITHM,
        "statement_checksums": [s.checksum for s in migration.up.statements],
        "transactional": migration.up.transaction,
        "down_statements": list(down.statements),
        "down_lines": list(down.lines),
        "down_transactional": down.transactional,
        "down_noop": down.noop,
        "client": _CLIENT,
        "pgkeel_version": __version__,
    }


_INSERT = (
    "INSERT INTO pgkeel.migrations (version, name, path, checksum, checksum_algorithm,"
    " statement_checksums, transactional, down_statements, down_lines, down_transactional,"
    " down_noop, execution_ms, client, pgkeel_version, method, status, statements_done,"
    " failed_direction, failed_statement, failed_line, failed_message)"
    " VALUES (%(version)s, %(name)s, %(path)s, %(checksum)s, %(algorithm)s,"
    " %(statement_checksums)s, %(transactional)s, %(down_statements)s, %(down_lines)s,"
    " %(down_transactional)s, %(down_noop)s, %(execution_ms)s, %(client)s, %(pgkeel_version)s,"
    " %(method)s, %(status)s, %(statements_done)s, %(failed_direction)s,"
    " %(failed_statement)s, %(failed_line)s, %(failed_message)s)"
)


def record_applied(
    conn: psycopg.Connection[tuple[object, ...]],
    migration: Migration,
    path: str,
    *,
    execution_ms: int,
) -> None:
    """Insert the ``applied`` row and its ``apply`` event in one statement.

    Call inside the migration's transaction, after its statements ran: the row then
    commits with them or not at all. ``path`` is the file name relative to the
    migrations directory; ``execution_ms`` the statements' run time in ms.
    """
    conn.execute(*_applied(migration, path, execution_ms))


def applied_sql(
    conn: psycopg.Connection[tuple[object, ...]], migration: Migration, path: str
) -> str:
    """The statement of :func:`record_applied` as SQL text with its values inlined,
    returning the ``execution_ms`` it recorded.

    For sending with the migration's statements in one simple-query message
    (``migrations._batch``): ``execution_ms`` is then measured by the server, from
    the time noted in the setting ``pgkeel.started`` at the migration's BEGIN to now
    (``now()`` and ``statement_timestamp()`` are the same for every statement of one
    message: PostgreSQL docs §9.9.5 "Current Date/Time").
    """
    return _inline(conn, *_applied(migration, path, _SERVER_ELAPSED_MS))


def _applied(migration: Migration, path: str,
             execution_ms: int | _Elapsed) -> tuple[str, dict[str, object]]:
    values = _migration_values(migration, path) | {
        "execution_ms": execution_ms, "method": "run", "status": "applied",
        "statements_done": len(migration.up.statements), "failed_direction": None,
        "failed_statement": None, "failed_line": None, "failed_message": None,
    }
    return (
        f"WITH m AS ({_INSERT} RETURNING version, name, checksum, execution_ms) "
        + _EVENT_INSERT
        + " SELECT 'apply', version, name, checksum, execution_ms, NULL, NULL, NULL,"
        " '{}', %(client)s, %(pgkeel_version)s FROM m RETURNING execution_ms",
        values,
    )


class _Elapsed:
    """Stands for "milliseconds since the server received this message" in inlined SQL."""


_SERVER_ELAPSED_MS = _Elapsed()
# Since the migration's BEGIN, noted in pgkeel.started (migrations._batch.CLOCK);
# since the message arrived if the migration reset that setting.
_ELAPSED_SQL = (
    "coalesce(round(extract(epoch FROM pg_catalog.clock_timestamp() - NULLIF("
    "pg_catalog.current_setting('pgkeel.started', true), '')::timestamptz) * 1000)::integer,"
    " round(extract(epoch FROM pg_catalog.clock_timestamp()"
    " - pg_catalog.statement_timestamp()) * 1000)::integer)")


def _inline(conn: psycopg.Connection[tuple[object, ...]], query: str,
            values: dict[str, object]) -> str:
    """Return ``query`` with ``values`` quoted in by psycopg (``ClientCursor.mogrify``),
    and each :class:`_Elapsed` value replaced by the server-side expression."""
    from psycopg import ClientCursor

    for name, value in values.items():
        if isinstance(value, _Elapsed):
            query = query.replace(f"%({name})s", _ELAPSED_SQL)
    plain = {k: v for k, v in values.items() if not isinstance(v, _Elapsed)}
    return ClientCursor(conn).mogrify(query, plain)


def record_started(
    conn: psycopg.Connection[tuple[object, ...]],
    migration: Migration,
    path: str,
    *,
    start_index: int = 0,
) -> None:
    """Write the row of a ``transaction:false`` migration before its first statement.

    The row says ``failed`` at ``start_index`` with the message "interrupted" until
    :func:`record_progress` moves it on and :func:`record_finished` marks it applied:
    if the runner dies half-way, the history tells the truth (some statements may have
    run) instead of nothing, which is what dbmate and Knex leave behind. On
    ``up --resume`` the existing failed row is updated in place.
    """
    line = migration.up.statements[start_index].line if migration.up.statements else None
    values = _migration_values(migration, path) | {
        "execution_ms": 0, "method": "run", "status": "failed",
        "statements_done": start_index, "failed_direction": "up",
        "failed_statement": start_index, "failed_line": line,
        "failed_message": _INTERRUPTED,
    }
    conn.execute(
        _INSERT + " ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum,"
        " path = EXCLUDED.path, statement_checksums = EXCLUDED.statement_checksums,"
        " down_statements = EXCLUDED.down_statements, down_lines = EXCLUDED.down_lines,"
        " down_transactional = EXCLUDED.down_transactional, down_noop = EXCLUDED.down_noop,"
        " statements_done = EXCLUDED.statements_done,"
        " failed_statement = EXCLUDED.failed_statement, failed_line = EXCLUDED.failed_line,"
        " failed_sqlstate = NULL, failed_message = EXCLUDED.failed_message",
        values,
    )



def record_progress(
    conn: psycopg.Connection[tuple[object, ...]],
    version: str,
    direction: Direction,
    done: int,
    next_line: int | None,
    *,
    execution_ms: int = 0,
) -> None:
    """Record that ``done`` statements of a ``transaction:false`` section completed.

    The row keeps saying ``failed`` ("interrupted") at the next statement until the
    section finishes; ``statements_done`` counts up statements only. ``execution_ms``
    (the statement's run time) is added to the row's for an up section, so that after
    ``up --resume`` the row counts every statement that ran, in both runs.
    """
    conn.execute(
        "UPDATE pgkeel.migrations SET failed_statement = %s, failed_line = %s,"
        " statements_done = CASE WHEN %s = 'up' THEN %s ELSE statements_done END,"
        " execution_ms = CASE WHEN %s = 'up' THEN execution_ms + %s ELSE execution_ms END"
        " WHERE version = %s",
        (done, next_line, direction, done, direction, execution_ms, version),
    )


def record_down_started(
    conn: psycopg.Connection[tuple[object, ...]],
    row: AppliedMigration,
    first_line: int | None,
) -> None:
    """Mark a migration whose ``transaction:false`` down section is about to run.

    As with :func:`record_started`, the row says ``failed`` (direction ``down``,
    "interrupted") until :func:`record_unapplied` deletes it, so a runner killed
    half-way through a down leaves the truth behind.
    """
    conn.execute(
        "UPDATE pgkeel.migrations SET status = 'failed', failed_direction = 'down',"
        " failed_statement = 0, failed_line = %s, failed_sqlstate = NULL,"
        " failed_message = %s WHERE version = %s",
        (first_line, _INTERRUPTED, row.version),
    )


def record_finished(
    conn: psycopg.Connection[tuple[object, ...]],
    migration: Migration,
    *,
    execution_ms: int,
    resumed: bool,
) -> None:
    """Mark a ``transaction:false`` migration applied and log ``apply`` (or ``resume``).

    The row's ``execution_ms`` already holds every completed statement's time (added by
    :func:`record_progress`, including a run that failed before ``up --resume``); the
    event's ``execution_ms`` is this run's time.
    """
    conn.execute(
        "UPDATE pgkeel.migrations SET status = 'applied', applied_at = clock_timestamp(),"
        " statements_done = %s, failed_direction = NULL,"
        " failed_statement = NULL, failed_line = NULL, failed_sqlstate = NULL,"
        " failed_message = NULL WHERE version = %s",
        (len(migration.up.statements), migration.version),
    )
    record_event(conn, "resume" if resumed else "apply", version=migration.version,
                 name=migration.name, checksum=migration.checksum, execution_ms=execution_ms)


def record_failure(
    conn: psycopg.Connection[tuple[object, ...]],
    version: str,
    name: str,
    failure: Failure,
    *,
    keep_row: bool,
    execution_ms: int | None = None,
) -> None:
    """Log a ``fail`` event; with ``keep_row``, also mark the history row failed.

    ``keep_row`` is for a ``transaction:false`` section, whose earlier statements stay
    committed; a failed transactional migration rolled back entirely and leaves only
    the event.
    """
    if keep_row:
        conn.execute(
            "UPDATE pgkeel.migrations SET status = 'failed', failed_direction = %s,"
            " failed_statement = %s, failed_line = %s, failed_sqlstate = %s,"
            " failed_message = %s WHERE version = %s",
            (failure.direction, failure.statement_index, failure.line, failure.sqlstate,
             failure.message, version),
        )
    record_event(conn, "fail", version=version, name=name, execution_ms=execution_ms,
                 statement_index=failure.statement_index, sqlstate=failure.sqlstate,
                 message=failure.message,
                 detail={"direction": failure.direction, "line": failure.line,
                         "row_kept": keep_row})


def record_unapplied(
    conn: psycopg.Connection[tuple[object, ...]],
    row: AppliedMigration,
    *,
    execution_ms: int,
    source: Literal["stored", "file"],
) -> None:
    """Delete a rolled-back migration's row and log ``rollback``, in one statement.

    Call inside the down section's transaction. ``source`` says whether the stored
    down or the file's down ran.
    """
    conn.execute(*_unapplied(row, execution_ms, source))


def unapplied_sql(
    conn: psycopg.Connection[tuple[object, ...]],
    row: AppliedMigration,
    *,
    source: Literal["stored", "file"],
) -> str:
    """The statement of :func:`record_unapplied` as SQL text with its values inlined,
    timed by the server as :func:`applied_sql` is."""
    return _inline(conn, *_unapplied(row, _SERVER_ELAPSED_MS, source))


def _unapplied(row: AppliedMigration, execution_ms: int | _Elapsed,
               source: Literal["stored", "file"]) -> tuple[str, dict[str, object]]:
    return (
        "WITH m AS (DELETE FROM pgkeel.migrations WHERE version = %(version)s"
        " RETURNING version, name, checksum) " + _EVENT_INSERT
        + " SELECT 'rollback', version, name, checksum, %(ms)s, NULL, NULL, NULL,"
        " %(detail)s, %(client)s, %(pgkeel_version)s FROM m RETURNING execution_ms",
        {"version": row.version, "ms": execution_ms,
         "detail": json.dumps({"down": source, "applied_order": row.applied_order}),
         "client": _CLIENT, "pgkeel_version": __version__},
    )


def record_baseline(
    conn: psycopg.Connection[tuple[object, ...]],
    migrations: Sequence[tuple[Migration, str]],
    baseline_version: str,
) -> None:
    """Record each ``(migration, path)`` as applied by baseline, with ``baseline`` events.

    Nothing of the migrations runs; their down sections are stored so that a later
    rollback can still undo them.
    """
    with conn.transaction():
        for migration, path in migrations:
            values = _migration_values(migration, path) | {
                "execution_ms": 0, "method": "baseline", "status": "applied",
                "statements_done": len(migration.up.statements), "failed_direction": None,
                "failed_statement": None, "failed_line": None, "failed_message": None,
            }
            conn.execute(_INSERT, values)
            record_event(conn, "baseline", version=migration.version, name=migration.name,
                         checksum=migration.checksum,
                         detail={"baseline_version": baseline_version})


def record_repaired(
    conn: psycopg.Connection[tuple[object, ...]],
    row: AppliedMigration,
    action: Literal["mark-applied", "mark-rolled-back"],
    migration: Migration | None,
    path: str | None,
) -> None:
    """Resolve a failed row by hand and log ``repair``, in one transaction.

    ``mark-rolled-back`` deletes the row; ``mark-applied`` sets it applied with the
    checksum and down section of ``migration`` (the file as it is now, since the user
    finished its work by hand) or, without a file, keeps what was stored.
    """
    with conn.transaction():
        if action == "mark-rolled-back":
            conn.execute("DELETE FROM pgkeel.migrations WHERE version = %s", (row.version,))
        elif migration is not None and path is not None:
            values = _migration_values(migration, path)
            conn.execute(
                "UPDATE pgkeel.migrations SET status = 'applied', method = 'repair',"
                " checksum = %(checksum)s, checksum_algorithm = %(algorithm)s,"
                " path = %(path)s, statement_checksums = %(statement_checksums)s,"
                " down_statements = %(down_statements)s, down_lines = %(down_lines)s,"
                " down_transactional = %(down_transactional)s, down_noop = %(down_noop)s,"
                " statements_done = cardinality(%(statement_checksums)s::text[]),"
                " failed_direction = NULL, failed_statement = NULL, failed_line = NULL,"
                " failed_sqlstate = NULL, failed_message = NULL WHERE version = %(version)s",
                values,
            )
        else:
            conn.execute(
                "UPDATE pgkeel.migrations SET status = 'applied', method = 'repair',"
                " failed_direction = NULL, failed_statement = NULL, failed_line = NULL,"
                " failed_sqlstate = NULL, failed_message = NULL WHERE version = %s",
                (row.version,),
            )
        failure = row.failure
        record_event(conn, "repair", version=row.version, name=row.name,
                     checksum=migration.checksum if migration else row.checksum,
                     statement_index=failure.statement_index if failure else None,
                     sqlstate=failure.sqlstate if failure else None,
                     message=failure.message if failure else None,
                     detail={"action": action,
                             "direction": failure.direction if failure else None})
