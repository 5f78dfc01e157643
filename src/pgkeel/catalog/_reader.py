"""Running the catalog queries: one cursor, a query counter, and the shared scope.

Every catalog query of :mod:`pgkeel.catalog.introspect` goes through :class:`Reader`,
which counts them (``Snapshot.queries``) and always returns plain tuples, whatever row
factory the caller's connection uses.

The scope is the same for every query: user schemas only (not ``pg_catalog``,
``information_schema``, ``pg_toast``, ``pg_temp_N``: PostgreSQL reserves the ``pg_``
prefix for itself, docs "Schemas", section 5.10.5), and no object that belongs to an
extension (a ``pg_depend`` row with ``deptype = 'e'``, docs "pg_depend").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

__all__ = ["RELATIONS", "Reader", "not_extension_member", "user_namespace"]

Row = tuple[Any, ...]


def user_namespace(alias: str) -> str:
    """SQL condition: namespace ``alias`` is a user schema."""
    return f"{alias}.nspname <> 'information_schema' AND {alias}.nspname !~ '^pg_'"


def not_extension_member(catalog: str, oid: str) -> str:
    """SQL condition: object ``oid`` of system catalog ``catalog`` is no extension's.

    The members are found from the extensions' side (``refobjid``), which the index
    on pg_depend's referenced object serves, rather than by scanning all of pg_depend.
    """
    return (
        f"{oid} NOT IN (SELECT dep.objid FROM pg_catalog.pg_extension ext"
        " JOIN pg_catalog.pg_depend dep"
        " ON dep.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"
        " AND dep.refobjid = ext.oid AND dep.refobjsubid = 0"
        f" WHERE dep.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass"
        " AND dep.deptype = 'e')"
    )


# The relations in user schemas (tables, partitioned tables, views, materialized views),
# as a CTE the per-family queries join to. Only the relations query also drops the
# extensions' relations: the parts of those read by the other queries are never looked
# up, which is cheaper than repeating the pg_depend anti-join in every query.
RELATIONS = f"""
WITH rel AS (
    SELECT c.oid
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm') AND {user_namespace("n")}
)
"""


class Reader:
    """Run catalog queries on ``conn`` and count them.

    ``version`` is the server's ``server_version_num`` (150018), for queries whose
    text differs between major versions.
    """

    def __init__(self, conn: psycopg.Connection[Any], version: int = 0) -> None:
        # Binary results: arrays (indkey, conkey...) load several times faster than text.
        self._cursor = conn.cursor(row_factory=tuple_row, binary=True)
        self.version = version
        self.count = 0

    def rows(
        self, query: str | sql.SQL | sql.Composed, params: Sequence[Any] | None = None
    ) -> list[Row]:
        """Run ``query`` with ``params`` (values only) and return all its rows."""
        self.count += 1
        self._cursor.execute(query, params)
        return self._cursor.fetchall()

    def since(self, version: int, expression: str, fallback: str) -> sql.SQL:
        """SQL ``expression`` on servers from ``version`` (e.g. 150000) on, else ``fallback``.

        For catalog columns that only newer servers have (``indnullsnotdistinct`` in 15,
        ``conenforced`` in 18).
        """
        return sql.SQL(expression if self.version >= version else fallback)

    def close(self) -> None:
        """Close the cursor (the connection stays open)."""
        self._cursor.close()
