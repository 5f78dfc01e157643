"""The database side of generation: read parent keys, test CHECKs on candidates, COPY.

Candidates are tested on the server, not re-implemented in Python: they are copied into
a temporary table with the target's column names and (for domains, base) types, and
each CHECK expression is evaluated there (``(expr) IS FALSE`` fails a row: a CHECK
whose result is NULL passes; PostgreSQL docs, "Check Constraints"). A domain's CHECK
reads ``VALUE``, which a sub-select names after the column. Rows that pass are loaded
into the real table with ``COPY ... FROM STDIN`` (psycopg 3 ``Cursor.copy``), where
every constraint is enforced once more.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pglast
import psycopg
from psycopg import sql

from pgkeel.catalog.model import Column, Domain, Table
from pgkeel.seed._checks import NOT_CONST, Rule, constant
from pgkeel.seed._order import Edge

__all__ = ["Candidates", "copy_rows", "existing", "link_deferred", "own_xid", "parent_keys",
           "partition_rule"]

_TEMP = sql.Identifier("pg_temp", "pgkeel_fill_candidates")


def _table(table: Table | str) -> sql.Composable:
    schema, _, name = (table.qualified if isinstance(table, Table) else table).partition(".")
    return sql.Identifier(schema, name)


def _cols(columns: Iterable[str]) -> sql.Composable:
    return sql.SQL(", ").join(map(sql.Identifier, columns))


def own_xid(conn: psycopg.Connection[Any]) -> str:
    """Return the id of the (sub)transaction ``conn`` writes in, as text.

    Rows written now carry it as ``xmin`` (PostgreSQL docs, "System Columns"), which is
    how :func:`link_deferred` finds the rows this run loaded and no others.
    """
    conn.execute("CREATE TEMP TABLE pgkeel_fill_xid () ON COMMIT DROP")
    row = conn.execute("SELECT xmin::text FROM pg_catalog.pg_class "
                       "WHERE oid = 'pg_temp.pgkeel_fill_xid'::regclass").fetchone()
    conn.execute("DROP TABLE pg_temp.pgkeel_fill_xid")
    assert row is not None
    return str(row[0])


def parent_keys(conn: psycopg.Connection[Any], table: str, columns: Sequence[str],
                limit: int = 100_000) -> list[tuple[Any, ...]]:
    """Distinct non-NULL values of ``columns`` in ``table``, sorted (up to ``limit``)."""
    query = sql.SQL("SELECT DISTINCT {c} FROM {t} WHERE {nn} ORDER BY {c} LIMIT {n}").format(
        c=_cols(columns), t=_table(table),
        nn=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(c))
                                 for c in columns),
        n=sql.Literal(limit))
    return [tuple(r) for r in conn.execute(query)]


def existing(conn: psycopg.Connection[Any], table: Table,
             columns: Sequence[str]) -> set[tuple[Any, ...]]:
    """The values of ``columns`` the rows of ``table`` already hold."""
    query = sql.SQL("SELECT {c} FROM {t}").format(c=_cols(columns), t=_table(table))
    return {tuple(r) for r in conn.execute(query)}


class Candidates:
    """A temporary table holding candidate rows of ``table`` (dropped by :meth:`close`)."""

    def __init__(self, conn: psycopg.Connection[Any], table: Table, domains: dict[str, Domain]):
        self.conn = conn
        self.table = table
        self.columns = [c for c in table.columns if c.generated is None]
        self.domains = domains
        defs = [sql.SQL("pgkeel_n integer")] + [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(self._type(c)))
            for c in self.columns]
        conn.execute(sql.SQL("CREATE TEMP TABLE {} ({})").format(_TEMP, sql.SQL(", ").join(defs)))

    def _type(self, column: Column) -> str:
        domain = self.domains.get(column.name)
        return domain.base_type if domain is not None else column.type

    def failing(self, rows: dict[int, dict[str, Any]]) -> dict[str, set[int]]:
        """Load ``rows`` (row number to column values) and return, per CHECK that some
        reject, the numbers of the rows it rejects. A CHECK the server cannot evaluate
        on its own (it errors) is reported under its name with every row number."""
        self.conn.execute(sql.SQL("TRUNCATE {}").format(_TEMP))
        names = sorted({k for r in rows.values() for k in r})
        with self.conn.cursor().copy(sql.SQL("COPY {} (pgkeel_n, {}) FROM STDIN").format(
                _TEMP, _cols(names))) as copy:
            for n, row in rows.items():
                copy.write_row([n, *(row.get(c) for c in names)])
        tests: list[tuple[str, sql.Composable]] = [
            (f"CHECK {c.name}", sql.SQL("SELECT pgkeel_n FROM {} WHERE ({}) IS FALSE").format(
                _TEMP, sql.SQL(c.expression)))
            for c in self.table.check_constraints if c.enforced]
        for column, domain in self.domains.items():
            tests += [(f"domain {domain.qualified} CHECK {c.name}", sql.SQL(
                "SELECT pgkeel_n FROM (SELECT pgkeel_n, {} AS value FROM {}) AS d "
                "WHERE ({}) IS FALSE").format(sql.Identifier(column), _TEMP, sql.SQL(c.expression)))
                for c in domain.checks]
        failed: dict[str, set[int]] = {}
        for name, query in tests:
            try:
                with self.conn.transaction():
                    bad = {r[0] for r in self.conn.execute(query)}
            except psycopg.Error:
                bad = set(rows)
            if bad:
                failed[name] = bad
        return failed

    def close(self) -> None:
        """Drop the temporary table."""
        self.conn.execute(sql.SQL("DROP TABLE {}").format(_TEMP))


def copy_rows(conn: psycopg.Connection[Any], table: Table, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> None:
    """``COPY`` ``rows`` (values in ``columns`` order) into ``table``."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(_table(table), _cols(columns))
    with conn.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def link_deferred(conn: psycopg.Connection[Any], edge: Edge, xids: Sequence[str]) -> int:
    """Point the rows this run loaded into ``edge.child`` at rows of ``edge.parent``.

    Rows are those whose ``xmin`` is one of ``xids`` (:func:`own_xid` of the savepoint
    that loaded them, and of the run, whose updates write new row versions); the n-th
    of them (by
    ``ctid``) takes the (n mod count)-th parent key, so a one-to-one key stays unique
    while there are enough parents. Returns the number of rows updated.
    """
    fk = edge.fk
    pairs = list(zip(fk.columns, fk.ref_columns, strict=True))
    query = sql.SQL(
        "WITH parent AS (SELECT {ref}, row_number() OVER (ORDER BY {ref}) - 1 AS pgkeel_i, "
        "count(*) OVER () AS pgkeel_n FROM {parent} WHERE {nn}), "
        "todo AS (SELECT ctid AS pgkeel_row, row_number() OVER (ORDER BY ctid) - 1 AS pgkeel_j "
        "FROM {child} WHERE xmin::text = ANY({xids})) "
        "UPDATE {child} AS c SET {sets} FROM todo JOIN parent "
        "ON parent.pgkeel_i = todo.pgkeel_j % parent.pgkeel_n WHERE c.ctid = todo.pgkeel_row"
    ).format(
        ref=_cols(fk.ref_columns), parent=_table(edge.parent), child=_table(edge.child),
        nn=sql.SQL(" AND ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(r))
                                 for r in fk.ref_columns),
        xids=sql.Literal(list(xids)),
        sets=sql.SQL(", ").join(
            sql.SQL("{} = parent.{}").format(sql.Identifier(c), sql.Identifier(r))
            for c, r in pairs))
    return conn.execute(query).rowcount


def partition_rule(conn: psycopg.Connection[Any], table: Table) -> tuple[str, Rule] | None:
    """The rule a leaf partition's bound puts on its one key column, or None.

    A one-column ``RANGE`` bound gives ``low <= key < high``, a ``LIST`` bound the
    allowed values (PostgreSQL docs, "CREATE TABLE ... PARTITION OF"); the bound's
    literals are cast to the column's type by the server. Multi-column and ``HASH``
    bounds give None: rows outside them are refused by ``COPY``.
    """
    if not table.partition_bound or not table.partition_of:
        return None
    try:
        stmt = pglast.parse_sql(f"CREATE TABLE x PARTITION OF y {table.partition_bound}")[0].stmt
    except pglast.parser.ParseError:
        return None
    bound = stmt.partbound  # type: ignore[union-attr]
    row = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) "
        "FROM pg_catalog.pg_partitioned_table p "
        "JOIN pg_catalog.pg_inherits i ON i.inhparent = p.partrelid "
        "JOIN pg_catalog.pg_attribute a ON a.attrelid = p.partrelid "
        "AND a.attnum = p.partattrs[0] "  # int2vector subscripts start at 0
        "WHERE i.inhrelid = %s::regclass AND p.partnatts = 1",
        (_table(table).as_string(conn),)).fetchone()
    if row is None:
        return None
    cast = sql.SQL("SELECT CAST(%s AS {})").format(sql.SQL(row[1]))

    def typed(node: Any) -> Any:
        raw = constant(node)
        return None if raw is NOT_CONST else conn.execute(cast, (str(raw),)).fetchone()[0]  # type: ignore[index]

    lower, upper = bound.lowerdatums or (), bound.upperdatums or ()
    if len(lower) == 1 and len(upper) == 1:
        return str(row[0]), Rule(low=typed(lower[0]), high=typed(upper[0]), high_strict=True)
    if bound.listdatums:
        return str(row[0]), Rule(choices=tuple(v for v in map(typed, bound.listdatums)
                                               if v is not None))
    return None
