"""Rewrite ``ORDER BY ... LIMIT n OFFSET m`` pagination as keyset pagination.

``OFFSET m`` makes the server produce and throw away ``m`` rows for every page, so
page 1000 costs a thousand pages. Keyset ("seek") pagination remembers the sort key of
the last row shown and asks for the rows after it: ``WHERE (a, b) > ($1, $2) ORDER BY
a, b LIMIT n``, which an index on ``(a, b)`` answers by reading ``n`` rows (PostgreSQL
docs §7.6 "LIMIT and OFFSET": "rows skipped by an OFFSET clause still have to be
computed inside the server"; §9.24.5 "Row Constructor Comparison").

The rewrite needs every ORDER BY key to be a column sorted the same direction (a row
comparison compares left to right in one direction); it is exact only when the keys
are unique together, which the caller should make true by ending ORDER BY with the
primary key.
"""

from __future__ import annotations

from dataclasses import dataclass

from pglast import ast
from pglast.enums import SortByDir, SortByNulls
from pglast.parser import parse_sql
from pglast.stream import RawStream

from pgkeel.advisor.statement import param_number, walk

__all__ = ["Keyset", "keyset_rewrite"]


@dataclass(frozen=True, slots=True)
class Keyset:
    """A keyset rewrite: ``sql`` the new statement, ``keys`` the ORDER BY columns whose
    last-row values fill its new parameters ``$first`` .. ``$first + len(keys) - 1``;
    ``offset`` the OFFSET it replaces, as written."""

    sql: str
    keys: tuple[str, ...]
    first: int
    offset: str


def keyset_rewrite(text: str, params: int = 0) -> Keyset | None:
    """Return the keyset form of the SELECT ``text`` with OFFSET, or None.

    ``params`` is the number of ``$n`` parameters ``text`` already has (new ones are
    numbered after them; when the OFFSET itself is a parameter, as in a normalised
    query, it is dropped and the later ones renumbered). None when ``text`` is not a
    single SELECT with ORDER BY and OFFSET, or an ORDER BY key is not a plain column,
    or the keys are sorted in mixed directions or with explicit NULLS placement.
    """
    try:
        stmt = parse_sql(text)[0].stmt
    except Exception:  # any text pglast cannot read has no rewrite
        return None
    if not isinstance(stmt, ast.SelectStmt) or stmt.limitOffset is None or not stmt.sortClause:
        return None
    keys: list[str] = []
    directions: set[str] = set()
    for sort in stmt.sortClause:
        if not isinstance(sort.node, ast.ColumnRef) or \
                sort.sortby_nulls != SortByNulls.SORTBY_NULLS_DEFAULT or \
                sort.sortby_dir == SortByDir.SORTBY_USING:
            return None
        keys.append(str(RawStream()(sort.node)))
        directions.add("<" if sort.sortby_dir == SortByDir.SORTBY_DESC else ">")
    if len(directions) != 1:
        return None
    offset = str(RawStream()(stmt.limitOffset))
    if isinstance(stmt.limitOffset, ast.ParamRef):
        # The OFFSET's own $k goes away: later parameters move down one place, so the
        # new statement's parameters stay numbered without a gap.
        gone = param_number(stmt.limitOffset)
        for node in walk(stmt):
            if isinstance(node, ast.ParamRef) and param_number(node) > gone:
                node.number = param_number(node) - 1
        params -= 1
    placeholders = [f"${params + i + 1}" for i in range(len(keys))]
    if len(keys) == 1:
        seek = f"{keys[0]} {directions.pop()} {placeholders[0]}"
    else:
        seek = f"({', '.join(keys)}) {directions.pop()} ({', '.join(placeholders)})"
    where = seek if stmt.whereClause is None else \
        f"({RawStream()(stmt.whereClause)}) AND {seek}"
    condition = parse_sql(f"SELECT 1 WHERE {where}")[0].stmt
    assert isinstance(condition, ast.SelectStmt)
    stmt.whereClause = condition.whereClause
    stmt.limitOffset = None
    return Keyset(sql=str(RawStream()(stmt)), keys=tuple(keys), first=params + 1,
                  offset=offset)
