"""What an interrupted step left behind, read back from the history.

When SIGINT (or a caller's SIGTERM handler raising ``KeyboardInterrupt``) stops a
step, psycopg cancels the running statement (``Connection.wait`` sends a cancel request
on ``KeyboardInterrupt``), a transactional step's transaction is rolled back, and a
``transaction:false`` step's row already says ``failed`` at the statement that was
running (:func:`~pgkeel.migrations.history.record_started`). The interrupt can also
land just after a ``COMMIT``, so :func:`left_by` does not assume: it reads the row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg

from pgkeel.errors import PgkeelError
from pgkeel.migrations import history

if TYPE_CHECKING:
    from pgkeel.migrations.plan import Step

__all__ = ["left_by"]


def left_by(conn: psycopg.Connection[tuple[object, ...]], step: Step) -> str:
    """Return one sentence: the state ``step`` is in after an interrupt, and what next.

    Reads the step's history row on ``conn`` and, unless the step had finished, logs a
    ``fail`` event saying it was interrupted (as a failed statement does); when the
    session is gone or the read fails, says the state is unknown. Never raises
    ``psycopg.Error``.
    """
    try:
        if conn.broken or conn.closed:
            raise psycopg.OperationalError("the connection is closed")
        row = next((r for r in history.read(conn) if r.version == step.version), None)
        finished = (row is not None and not row.failed) if step.direction == "up" \
            else row is None
        if not finished:
            failure = row.failure if row is not None else None
            history.record_event(
                conn, "fail", version=step.version, name=step.name,
                statement_index=failure.statement_index if failure else None,
                message="interrupted: the runner was stopped (SIGINT or SIGTERM) before "
                "this migration finished",
                detail={"direction": step.direction, "interrupted": True,
                        "row_kept": failure is not None})
    except (psycopg.Error, PgkeelError):
        return "the connection was lost, so its state is not known"
    if row is not None and row.failed and row.failure is not None:
        failure = row.failure
        at = f"statement {failure.statement_index + 1}"
        if failure.line:
            at += f" (line {failure.line})"
        if failure.direction == "up":
            return (f"it runs without a transaction, so it is recorded as failed at {at}; "
                    f"the {row.statements_done} statement(s) before it stay done: "
                    "`pgkeel migrate up --resume` continues there, or undo them by hand "
                    "and run `pgkeel migrate repair --mark-rolled-back`")
        return (f"its down section runs without a transaction, so it is recorded as failed "
                f"at {at}: finish the down by hand, then run "
                "`pgkeel migrate repair --mark-rolled-back`")
    if step.direction == "up":
        if row is None:
            return ("its transaction was rolled back, so it is not applied: "
                    "`pgkeel migrate up` applies it again")
        return "it had committed just before the interrupt, so it is applied"
    if row is None:
        return "its rollback had committed just before the interrupt, so it is rolled back"
    return ("its transaction was rolled back, so it is still applied: "
            "`pgkeel migrate rollback` rolls it back again")
