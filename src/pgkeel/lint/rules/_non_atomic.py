"""What ``non-atomic-column`` reads from a sample: lists packed into one value.

Two steps, each one query over the table's sample, raising
:class:`~pgkeel.lint.context.ProbeFailed` when PostgreSQL refuses: :func:`count_lists`
counts, for every candidate column of a table at once, the values that look like
lists; :func:`list_items` then reads the items of one column's distinct list values
(distinct values, so an address repeated on every order does not pass for a
vocabulary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from psycopg import sql

from pgkeel.catalog.model import Column, Table
from pgkeel.lint.context import DataProbe

__all__ = ["LIST_PATTERN", "SEPARATOR", "Kind", "Lists", "count_lists", "kind_of", "list_items"]

#: A value made of two or more items of 1 to 40 characters separated by , or ;
#: (POSIX regular expression, PostgreSQL docs 9.7.3).
LIST_PATTERN = r"^[^,;]{1,40}([,;][^,;]{1,40})+$"
#: Where ``regexp_split_to_table`` cuts such a value into items.
SEPARATOR = r"\s*[,;]\s*"

Kind = Literal["text", "array", "json"]


def kind_of(column: Column) -> Kind | None:
    """How ``column`` could hold a list: ``text``, ``array``, ``json``, or None."""
    if column.type_name in ("text", "varchar", "bpchar", "citext"):
        return "text"
    if column.type_name.startswith("_"):
        return "array"
    if column.type_name in ("json", "jsonb"):
        return "json"
    return None


def _is_list(kind: Kind, column: str) -> sql.Composable:
    c = sql.Identifier(column)
    if kind == "text":
        # The regular expression backtracks over long text (70 ms on Pagila's film
        # descriptions); most values hold no separator, and strpos rules them out
        # first (1 ms). CASE, because the planner may reorder AND's conditions.
        return sql.SQL("CASE WHEN strpos({c}, ',') + strpos({c}, ';') > 0 THEN {c} ~ {p} "
                       "ELSE false END").format(c=c, p=sql.Literal(LIST_PATTERN))
    if kind == "array":
        return sql.SQL("cardinality({}) >= 2").format(c)
    # CASE, not AND: the planner may reorder conditions, and jsonb_array_length
    # fails on anything but an array.
    j = sql.SQL("{}::jsonb").format(c)
    return sql.SQL("CASE WHEN jsonb_typeof({j}) = 'array' THEN jsonb_array_length({j}) >= 2 "
                   "AND jsonb_typeof({j} -> 0) = 'object' ELSE false END").format(j=j)


@dataclass(frozen=True, slots=True)
class Lists:
    """One column over a sample: ``filled`` non-null values, ``lists`` of them that
    hold two items or more."""

    filled: int
    lists: int


def count_lists(probe: DataProbe, table: Table, columns: Sequence[tuple[str, Kind]]
                ) -> tuple[int, dict[str, Lists]]:
    """Rows sampled, and per column its non-null values and list values: one query."""
    parts: list[sql.Composable] = [sql.SQL("count(*)")]
    for name, kind in columns:
        parts.append(sql.SQL("count({}), count(*) FILTER (WHERE {})").format(
            sql.Identifier(name), _is_list(kind, name)))
    query = sql.SQL("SELECT {} FROM {}").format(sql.SQL(", ").join(parts),
                                                probe.sample_from(table.schema, table.name))
    row = probe.rows(query)[0]
    return int(row[0]), {name: Lists(int(row[1 + 2 * i]), int(row[2 + 2 * i]))
                         for i, (name, _) in enumerate(columns)}


def list_items(probe: DataProbe, table: Table, column: str, kind: Kind) -> tuple[int, int]:
    """Items in the distinct list values of ``column``, and distinct items: one query.

    For text, items are the trimmed parts between separators; for arrays, the
    elements; for JSON, the objects, whose distinct *key sets* are counted (one key
    set: the objects are rows of one hidden table).
    """
    c = sql.SQL("v.{}").format(sql.Identifier(column))
    if kind == "text":
        items = sql.SQL("regexp_split_to_table(trim({}), {})").format(c, sql.Literal(SEPARATOR))
        count = sql.SQL("count(DISTINCT i)")
    elif kind == "array":
        items = sql.SQL("unnest({})").format(c)
        count = sql.SQL("count(DISTINCT i)")
    else:
        items = sql.SQL("jsonb_array_elements({}::jsonb)").format(c)
        count = sql.SQL("count(DISTINCT (SELECT array_agg(k ORDER BY k) "
                        "FROM jsonb_object_keys(CASE WHEN jsonb_typeof(i) = 'object' "
                        "THEN i END) AS k))")
    # json has no equality: its distinct values are read as jsonb.
    value = sql.SQL("{}::jsonb" if kind == "json" else "{}").format(sql.Identifier(column))
    query = sql.SQL("SELECT count(i), {count} FROM (SELECT DISTINCT {value} AS {c} FROM {sample}"
                    " WHERE {is_list}) AS v, {items} AS i").format(
        count=count, value=value, c=sql.Identifier(column),
        sample=probe.sample_from(table.schema, table.name),
        is_list=_is_list(kind, column), items=items)
    found, distinct = probe.rows(query)[0]
    return int(found), int(distinct)
