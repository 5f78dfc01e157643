"""Is a candidate already served by an index the table has?

Both sides are compared as the server prints them (``pg_get_indexdef`` for existing
indexes, ``hypopg_get_indexdef`` or ``pg_get_indexdef`` of the built candidate),
parsed with pglast. A btree index covers a candidate with the same predicate whose
elements (with operator class and order) are a prefix of its own (the rule PgHero's
``index_covers?`` and Dexter apply to plain columns); a GIN index covers a candidate
whose elements it all has (GIN searches any of its columns, docs 11.3).
"""

from __future__ import annotations

from collections.abc import Iterable

import pglast
from pglast import ast
from pglast.stream import RawStream

__all__ = ["covering_index"]


def _parts(definition: str) -> tuple[str, str, tuple[str, ...], str | None]:
    stmt = pglast.parse_sql(definition)[0].stmt
    assert isinstance(stmt, ast.IndexStmt)
    rel = stmt.relation
    table = f"{rel.schemaname}.{rel.relname}" if rel.schemaname else rel.relname
    elements = tuple(str(RawStream()(e)) for e in stmt.indexParams)
    where = str(RawStream()(stmt.whereClause)) if stmt.whereClause is not None else None
    return table, stmt.accessMethod or "btree", elements, where


def covering_index(definition: str, existing: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first ``(name, definition)`` in ``existing`` that covers the
    index ``definition``, or None."""
    table, method, elements, where = _parts(definition)
    for name, other in existing:
        o_table, o_method, o_elements, o_where = _parts(other)
        if o_table != table or o_method != method or o_where != where:
            continue
        if method == "gin" and set(elements) <= set(o_elements):
            return name
        if o_elements[: len(elements)] == elements:
            return name
    return None
