"""What ``repeating-column-group`` reads: numbered columns, and how full they are.

A group is two or more columns of one type whose names differ only by a number at
the end, numbered without a gap from 0 or 1 (pg-index-health
``tables_with_incrementing_columns`` groups by the name without its trailing
digits; the gap rule and the type keep ``sha1``/``sha256`` and ``ipv4``/``ipv6``
out).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from psycopg import sql

from pgkeel.catalog.model import Column, Table
from pgkeel.lint.context import DataProbe, ProbeFailed
from pgkeel.lint.rules._catalog import quote_ident

__all__ = ["fill_counts", "numbered_groups"]

_NUMBERED = re.compile(r"^(.*[^\d_])_?(\d+)$")


def numbered_groups(table: Table, ignore: set[str]) -> Iterator[tuple[str, list[Column]]]:
    """The numbered column groups of ``table``: ``(stem, columns in number order)``."""
    by_stem: dict[tuple[str, str], dict[int, Column]] = {}
    for column in table.columns:
        match = _NUMBERED.match(column.name)
        if match is None or sum(ch.isalpha() for ch in match.group(1)) < 2:
            continue
        stem = match.group(1).rstrip("_ ")
        by_stem.setdefault((stem, column.type), {})[int(match.group(2))] = column
    for (stem, _), numbered in by_stem.items():
        if stem.lower() in ignore or len(numbered) < 2:
            continue
        first = min(numbered)
        if first > 1 or sorted(numbered) != list(range(first, first + len(numbered))):
            continue
        yield stem, [numbered[n] for n in sorted(numbered)]


def fill_counts(probe: DataProbe | None, table: Table, group: list[Column]) -> str:
    """How many sampled rows fill each column of ``group``, as a clause; '' when unread."""
    if probe is None:
        return ""
    parts = [sql.SQL("count(*)")] + [sql.SQL("count({})").format(sql.Identifier(c.name))
                                     for c in group]
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts),
                                                probe.sample_from(table.schema, table.name))
    try:
        rows, *filled = probe.rows(query)[0]
    except ProbeFailed as exc:
        return f"(the rows could not be read: {exc.reason}) "
    if not rows:
        return ""
    counts = ", ".join(f"{quote_ident(c.name)} {n}" for c, n in zip(group, filled, strict=True))
    return f"in a sample of {rows} row{'s' if rows != 1 else ''} the filled values are {counts}; "
