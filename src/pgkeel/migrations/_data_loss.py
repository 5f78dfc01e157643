"""``verify --with-data``: does rolling a migration back throw rows away?

After the up, every table gets a few generated rows (:func:`pgkeel.seed.fill`, which
respects keys, types and CHECKs), so that tables and columns the up made hold data as
they would in production after a deploy. The down then runs; the columns that exist
no more afterwards (by table oid and column number, so a table dropped and created
again counts as lost too) are counted in the seeded state, and each that held a value
is a :class:`DataLoss`: what ``data-loss-on-rollback`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.catalog._reader import user_namespace

__all__ = ["Columns", "DataLoss", "columns", "held", "seed"]

# (table oid, attnum) -> (schema, table, column)
Columns = dict[tuple[int, int], tuple[str, str, str]]

_COLUMNS = f"""
SELECT c.oid, a.attnum, n.nspname, c.relname, a.attname
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
  AND {user_namespace("n")} AND n.nspname <> 'pgkeel'
"""


@dataclass(frozen=True, slots=True)
class DataLoss:
    """Values a down throws away: ``relation`` (``schema.name``) and ``column``, or
    ``column`` None when the whole table goes; ``rows`` how many rows held a value."""

    relation: str
    column: str | None
    rows: int

    def describe(self) -> str:
        """``column `orders.note`, which held values in 3 row(s)``."""
        table = self.relation.removeprefix("public.")
        if self.column is None:
            return f"table `{table}`, which held {self.rows} row(s)"
        return f"column `{table}.{self.column}`, which held values in {self.rows} row(s)"


def seed(conn: psycopg.Connection[Any]) -> tuple[str, ...]:
    """Fill every table with a few generated rows; return what the generator could not
    satisfy (``FillReport.problems``)."""
    from pgkeel.seed import fill

    return fill(conn).problems


def columns(conn: psycopg.Connection[Any]) -> Columns:
    """The live columns of the user tables (pgkeel's history left out)."""
    return {(oid, attnum): (schema, table, column)
            for oid, attnum, schema, table, column in conn.execute(_COLUMNS)}


def held(conn: psycopg.Connection[Any], before: Columns, after: Columns
         ) -> tuple[DataLoss, ...]:
    """What the columns of ``before`` missing from ``after`` held, counted on ``conn``
    (which must see the state of ``before``). A table all of whose columns went counts
    its rows; otherwise each column the rows it has a value in."""
    gone: dict[int, list[int]] = {}
    for key in before:
        if key not in after:
            gone.setdefault(key[0], []).append(key[1])
    losses: list[DataLoss] = []
    for oid, attnums in sorted(gone.items()):
        schema, table, _ = before[(oid, attnums[0])]
        whole = not any(o == oid for (o, _n) in after)
        names = [before[(oid, n)][2] for n in sorted(attnums)]
        counts = _counts(conn, schema, table, names)
        if whole:
            if counts[0]:
                losses.append(DataLoss(f"{schema}.{table}", None, counts[0]))
            continue
        losses += [DataLoss(f"{schema}.{table}", name, n)
                   for name, n in zip(names, counts[1:], strict=True) if n]
    return tuple(losses)


def _counts(conn: psycopg.Connection[Any], schema: str, table: str,
            names: list[str]) -> list[int]:
    """``count(*)`` then ``count(column)`` for each of ``names``."""
    query = sql.SQL("SELECT count(*), {} FROM {}.{}").format(
        sql.SQL(", ").join(sql.SQL("count({})").format(sql.Identifier(n)) for n in names),
        sql.Identifier(schema), sql.Identifier(table))
    row = conn.execute(query).fetchone()
    assert row is not None
    return [int(v) for v in row]

