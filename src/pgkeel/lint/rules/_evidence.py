"""What the data-reading rules share: whole-column queries and guarded type changes.

A fix that changes a column's type must keep every stored value (DESIGN.md
principle 7). The rule proves it on the rows it reads (the whole table, bounded by
the probe's ``statement_timeout``: a sample cannot prove "every value"); the fix
then proves it again on the rows present when it runs: it takes the table's
``ACCESS EXCLUSIVE`` lock (the one ``ALTER COLUMN ... TYPE`` takes anyway), refuses
with an error when any row would change, and only then alters the column, with the
views that read it dropped and re-created around it (:mod:`._views`).
"""

from __future__ import annotations

from typing import Any

from psycopg import sql

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.lint.context import CheckContext, ProbeFailed
from pgkeel.lint.rules._catalog import ident, literal, qualified_ident
from pgkeel.lint.rules._views import with_views

__all__ = ["column_facts", "guarded_type_change", "server_time_zone", "type_change"]


def column_facts(ctx: CheckContext, table: Table, select: str
                 ) -> tuple[Any, ...] | str:
    """Run ``SELECT <select> FROM table`` over every row; the one result row.

    ``select`` is SQL whose ``{col}``-free text the caller composed with
    :func:`~pgkeel.lint.rules._catalog.ident` (no user values in it). Returns the
    row, or a string saying why the rows were not read (no data at hand, or
    PostgreSQL's reason for refusing: a timeout, a permission).
    """
    if ctx.data is None:
        return "the data was not read (no database rows at hand)"
    query = sql.SQL("SELECT " + select + " FROM {}").format(
        sql.Identifier(table.schema, table.name))
    try:
        return ctx.data.rows(query)[0]
    except ProbeFailed as exc:
        return f"reading the data failed ({exc.reason})"


def server_time_zone(ctx: CheckContext) -> str | None:
    """The ``TimeZone`` a new session of the server gets (``pg_settings.reset_val``).

    That is the zone of ``postgresql.conf``, ``ALTER DATABASE``/``ALTER ROLE ... SET``,
    or the client's ``PGTZ`` at connection time, never a ``SET`` of the checking
    session. None when no data is at hand or the query fails.
    """
    if ctx.data is None:
        return None
    try:
        rows = ctx.data.rows("SELECT reset_val FROM pg_catalog.pg_settings "
                             "WHERE name = 'TimeZone'")
    except ProbeFailed:
        return None
    return str(rows[0][0]) if rows else None


def type_change(snapshot: Snapshot, table: Table, column: str, new_type: str,
                using: str) -> str:
    """``ALTER TABLE ... ALTER COLUMN ... TYPE new_type USING using``, views around it."""
    alter = (f"ALTER TABLE {qualified_ident(table.schema, table.name)} ALTER COLUMN "
             f"{ident(column)} TYPE {new_type} USING {using}; -- rewrites the table")
    return with_views(snapshot, table, column, alter)


def guarded_type_change(snapshot: Snapshot, table: Table, column: str, new_type: str,
                        using: str, changes: str) -> str:
    """:func:`type_change` after a guard that no row's value would change.

    ``changes`` is a SQL condition on a row that is true when converting it would
    change its value; the guard raises an error (ending the script, which rolls
    back) when any row satisfies it, under the lock the type change takes anyway.
    Inside the fix script's transaction no row can be written between the guard
    and the change.
    """
    target = qualified_ident(table.schema, table.name)
    # RAISE reads % as a placeholder; the body's dollar quote must not occur inside it.
    message = literal(f"pgkeel: a value of column {column} would change; the fix was "
                      "not applied: run pgkeel check again").replace("%", "%%")
    # The lock is held to the end of the script's transaction (LOCK TABLE outside a
    # DO block would fail when the script runs without one).
    body = (f"BEGIN LOCK TABLE {target} IN ACCESS EXCLUSIVE MODE; IF EXISTS (SELECT FROM "
            f"{target} WHERE {changes}) THEN RAISE EXCEPTION {message}; END IF; END")
    tag = next(t for n in range(len(body) + 1)
               if (t := f"$pgkeel{n or ''}$") not in body)
    guard = f"DO {tag} {body} {tag};"
    return guard + "\n" + type_change(snapshot, table, column, new_type, using)
