"""Real values for a query's ``$n`` parameters, sampled from the planner's statistics.

A normalised query (``WHERE id = $1``, as pg_stat_statements stores it) cannot be
executed without values. :func:`sample_params` takes, for each parameter compared with
a column, the column's most common value (``pg_stats.most_common_vals``), else the
middle bound of its histogram (``histogram_bounds``): values that exist in the table,
so ``EXPLAIN ANALYZE`` runs the plan a real call would (PostgreSQL docs §14.2
"Statistics Used by the Planner"; the approach PgHero and pganalyze describe for
normalised queries).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgkeel.errors import UsageError

if TYPE_CHECKING:
    import psycopg

    from pgkeel.advisor.statement import SqlStatement

__all__ = ["sample_params"]


def sample_params(conn: psycopg.Connection[tuple[object, ...]],
                  statement: SqlStatement) -> tuple[str, ...]:
    """Return one value (as text) for each of ``$1`` .. ``$n``, read from ``pg_stats``.

    Tables written without a schema are looked up through ``search_path``. Raises
    ``UsageError`` (exit 2) naming the parameter when one is not compared with a
    column, or the column has no statistics (never analyzed, or no common value and
    no histogram): the user then gives ``--param``.
    """
    by_number = {p.number: p for p in statement.param_columns}
    values: list[str] = []
    for number in range(1, statement.params + 1):
        column = by_number.get(number)
        if column is None:
            raise UsageError(f"${number} is not compared with a table column, so no value "
                             "can be sampled for it", hint="give its value with --param")
        row = conn.execute(
            "SELECT (s.most_common_vals::text::text[])[1],"
            " (s.histogram_bounds::text::text[])"
            "  [(array_length(s.histogram_bounds::text::text[], 1) + 1) / 2]"
            " FROM pg_catalog.pg_stats s"
            " JOIN pg_catalog.pg_class c ON c.relname = s.tablename"
            " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            "  AND n.nspname = s.schemaname"
            " WHERE c.oid = to_regclass(CASE WHEN %s::text IS NULL THEN quote_ident(%s)"
            "  ELSE quote_ident(%s) || '.' || quote_ident(%s) END) AND s.attname = %s",
            (column.schema, column.table, column.schema, column.table, column.column),
        ).fetchone()
        value = None if row is None else (row[0] if row[0] is not None else row[1])
        if value is None:
            raise UsageError(f"${number} is compared with {column.where}, which has no "
                             "statistics to sample a value from",
                             hint="run ANALYZE on that table, or give --param")
        values.append(str(value))
    return tuple(values)
