"""Where PostgreSQL says a migration statement failed, in the terms of its file."""

from __future__ import annotations

import re

import psycopg

from pgkeel.migrations.plan import PlannedStatement

__all__ = ["describe", "error_place"]


def describe(error: psycopg.Error) -> str:
    """PostgreSQL's message on one line, with its DETAIL in brackets and its HINT."""
    diag = error.diag
    text = diag.message_primary or (str(error).strip().splitlines() or [type(error).__name__])[0]
    if diag.message_detail:
        text += f" ({' '.join(diag.message_detail.split())})"
    if diag.message_hint:
        text += f"; PostgreSQL hints: {' '.join(diag.message_hint.split())}"
    return text


_COPY_LINE = re.compile(r"^COPY .*, line (\d+)")  # CopyFromErrorCallback's CONTEXT


def error_place(statement: PlannedStatement, error: psycopg.Error,
                 offset: int) -> tuple[int | None, int | None]:
    """Return the file line and 1-based column PostgreSQL's error points at.

    ``diag.statement_position`` is a 1-based offset in characters (not bytes) into the
    text sent (PostgreSQL docs §55.8 "Error and Notice Message Fields", ``P``), where
    ``statement`` starts at character ``offset``. A bad ``COPY`` row is named in the
    CONTEXT instead ("COPY t, line 3, column b: ..."), counting the data lines from 1.
    Without either, the statement's first line and no column.
    """
    if statement.line is None:
        return None, None
    if statement.data_line is not None:
        for context in (error.diag.context or "").splitlines():
            found = _COPY_LINE.match(context.strip())
            if found:
                return statement.data_line + int(found.group(1)) - 1, None
        return statement.line, None
    position = error.diag.statement_position
    index = int(position) - 1 - offset if position and position.isdigit() else -1
    if not 0 <= index <= len(statement.sql):
        return statement.line, None
    before = statement.sql[:index]
    newlines = before.count("\n")
    if newlines:
        return statement.line + newlines, index - before.rfind("\n")
    return statement.line, statement.column + index
