"""What the column rules share: reading the sample, naming a CHECK, what blocks a type change."""

from __future__ import annotations

import re

from psycopg import sql

from pgkeel.catalog.model import Column, Snapshot, Table
from pgkeel.lint.context import CheckContext, ProbeFailed
from pgkeel.lint.rules._catalog import choose_name, in_partition_key, quote_ident, table_name
from pgkeel.lint.rules._column_use import views_reading

__all__ = ["check_name", "in_foreign_key", "mentions", "sample", "type_change_blocked"]


def mentions(text: str | None, column: str) -> bool:
    """True when SQL ``text`` names ``column`` (as quote_ident writes it)."""
    return text is not None and re.search(
        rf'(?<![\w$"]){re.escape(quote_ident(column))}(?![\w$"])', text) is not None


def type_change_blocked(snapshot: Snapshot, table: Table, column: Column) -> str | None:
    """Why the type of ``column`` cannot be changed by a fix, or None."""
    if in_partition_key(table, column.name):
        return "it is in the partition key, whose type cannot be altered"
    views = views_reading(snapshot, table, column.name)
    if views:
        return (f"views use it ({', '.join(table_name(v) for v in views)}): drop them, "
                "change the type, re-create them")
    return None


def in_foreign_key(snapshot: Snapshot, table: Table, column: Column) -> str | None:
    """Why a ``character(n)`` column in a foreign key cannot change type alone."""
    if any(column.name in fk.columns for fk in table.foreign_keys) or any(
            (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
            and column.name in fk.ref_columns
            for t in snapshot.tables for fk in t.foreign_keys):
        return ("a foreign key pairs it with another character(n) column: change both "
                "in one transaction, dropping and re-adding the key")
    return None


def check_name(table: Table, column: str) -> str:
    taken = {c.name for c in table.check_constraints} | {
        c.name for c in (table.primary_key, *table.unique_constraints) if c is not None} | {
        f.name for f in table.foreign_keys}
    return choose_name(table.name, column, "check", taken)


def sample(ctx: CheckContext, table: Table, select: sql.Composable
            ) -> tuple[object, ...] | None:
    """One row of aggregates over the sampled rows of ``table``; None without data."""
    if ctx.data is None:
        return None
    query = sql.SQL("SELECT {} FROM {}").format(select, ctx.data.sample_from(table.schema,
                                                                              table.name))
    try:
        return ctx.data.rows(query)[0]
    except ProbeFailed:
        return None
