"""Read the workload from ``pg_stat_statements``, by the columns the view has.

The view's shape follows the *extension* version, not the server's: after a server
upgrade without ``ALTER EXTENSION pg_stat_statements UPDATE`` the old columns stay.
So :func:`read_statements` reads the view's columns from the catalog and maps them
(PostgreSQL docs, F.32 "pg_stat_statements"; the upgrade scripts
``pg_stat_statements--1.7--1.8.sql`` onward in postgres/postgres):

- execution time: ``total_exec_time`` (1.8+, PostgreSQL 13) else ``total_time``;
- planning time: ``total_plan_time`` (1.8+; zero unless ``track_planning`` is on) else 0;
- nested statements: ``WHERE toplevel`` when that column exists (1.9+), so a
  statement run inside a function is not counted twice under ``track = all``.

When the extension is missing or its library is not preloaded,
:func:`statements_status` says which steps make it usable, and
:func:`read_statements` raises :class:`StatementsUnavailable` carrying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from psycopg import sql

from pgkeel.errors import DatabaseError

if TYPE_CHECKING:
    import psycopg

__all__ = [
    "Order",
    "Statement",
    "StatementsStatus",
    "StatementsUnavailable",
    "read_statements",
    "statements_status",
]

#: ``read_statements(order=...)``: mean time, total time or calls, largest first.
Order = Literal["mean", "total", "calls"]

_EXTENSION = "pg_stat_statements"
#: The fallback the skill gives when pg_stat_statements cannot be loaded: log every
#: statement slower than this many ms (PostgreSQL docs §20.8.2 log_min_duration_statement).
LOG_MIN_DURATION_MS = 250


class StatementsUnavailable(DatabaseError):
    """pg_stat_statements is not installed in this database or not preloaded."""

    def __init__(self, message: str, *, steps: tuple[str, ...]) -> None:
        hint = "; then ".join(steps) + (
            f" — or, without it, ALTER SYSTEM SET log_min_duration_statement = "
            f"{LOG_MIN_DURATION_MS}, SELECT pg_reload_conf(), and read the server log")
        super().__init__(message, hint=hint)
        self.steps = steps


@dataclass(frozen=True, slots=True)
class Statement:
    """One normalised statement of the current database, as pg_stat_statements counts it.

    ``queryid`` is the signed 64-bit fingerprint (None only on servers that do not
    compute one); ``query`` the normalised text with ``$1`` placeholders; ``calls``
    executions; ``total_ms`` execution plus planning time in milliseconds, summed over
    the calls (``exec_ms`` and ``plan_ms`` its parts); ``rows`` the rows returned or
    affected, summed; ``shared_hit`` and ``shared_read`` shared buffer blocks found in
    cache and read; ``share`` this statement's part of the total time of every
    statement in the database (0..1); ``user`` the role that ran it.
    """

    queryid: int | None
    query: str
    calls: int
    total_ms: float
    exec_ms: float
    plan_ms: float
    rows: int
    shared_hit: int
    shared_read: int
    share: float
    user: str

    @property
    def mean_ms(self) -> float:
        """Mean time per call in milliseconds (0 when never called)."""
        return self.total_ms / self.calls if self.calls else 0.0

    @property
    def rows_per_call(self) -> float:
        """Rows returned or affected per call."""
        return self.rows / self.calls if self.calls else 0.0

    @property
    def cache_hit_ratio(self) -> float | None:
        """Shared blocks found in cache over blocks touched (0..1); None when none were."""
        touched = self.shared_hit + self.shared_read
        return self.shared_hit / touched if touched else None


@dataclass(frozen=True, slots=True)
class StatementsStatus:
    """Whether pg_stat_statements can be read here.

    ``version`` is the installed extension version (None when not created in this
    database), ``schema`` where its view lives, ``preloaded`` whether the server loaded
    its library at start, ``offered`` whether the server has the extension at all;
    ``steps`` the SQL statements or actions that make it usable, in order (empty when
    it is).
    """

    version: str | None
    schema: str | None
    preloaded: bool
    offered: bool
    steps: tuple[str, ...]

    @property
    def usable(self) -> bool:
        """True when the view can be read."""
        return not self.steps


def statements_status(conn: psycopg.Connection[tuple[object, ...]]) -> StatementsStatus:
    """Find out whether ``conn``'s database can read pg_stat_statements, in one query.

    The library is loaded when its ``pg_stat_statements.max`` setting exists (custom
    settings appear only once the library is loaded). ``shared_preload_libraries`` is
    readable only by superusers and ``pg_read_all_settings``; without it the step says
    to append the library to the current list rather than guessing that list.
    """
    row = conn.execute(
        "SELECT e.extversion, n.nspname,"
        " EXISTS (SELECT FROM pg_catalog.pg_settings WHERE name = 'pg_stat_statements.max'),"
        " EXISTS (SELECT FROM pg_catalog.pg_available_extensions WHERE name = %s),"
        " (SELECT setting FROM pg_catalog.pg_settings WHERE name = 'shared_preload_libraries')"
        " FROM (SELECT 1) AS one"
        " LEFT JOIN pg_catalog.pg_extension e ON e.extname = %s"
        " LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace",
        (_EXTENSION, _EXTENSION),
    ).fetchone()
    assert row is not None
    version, schema, preloaded, offered, libraries = row
    steps: list[str] = []
    if not offered:
        steps.append("install the contrib package of your PostgreSQL (it ships "
                     "pg_stat_statements)")
    if not preloaded:
        if libraries is None:
            steps.append("as a superuser, append pg_stat_statements to the list SHOW "
                         "shared_preload_libraries prints: ALTER SYSTEM SET "
                         "shared_preload_libraries = 'each', 'library', 'pg_stat_statements'")
        else:
            # One literal per library: ALTER SYSTEM writes 'a, b' as ONE library named
            # "a, b" (PostgreSQL docs, ALTER SYSTEM; §20.1.2 list-valued settings).
            current = [p.strip().strip('"') for p in str(libraries).split(",") if p.strip()]
            wanted = ", ".join(sql.Literal(lib).as_string(None)
                               for lib in (*current, _EXTENSION))
            steps.append(f"ALTER SYSTEM SET shared_preload_libraries = {wanted}")
        steps.append("restart PostgreSQL")
    if version is None:
        steps.append(f"CREATE EXTENSION {_EXTENSION}")
    return StatementsStatus(
        version=None if version is None else str(version),
        schema=None if schema is None else str(schema),
        preloaded=bool(preloaded), offered=bool(offered), steps=tuple(steps))


def _columns(conn: psycopg.Connection[tuple[object, ...]], schema: str) -> frozenset[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_catalog.pg_attribute a"
        " JOIN pg_catalog.pg_class c ON c.oid = a.attrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped",
        (schema, _EXTENSION),
    ).fetchall()
    return frozenset(str(r[0]) for r in rows)


def _time(columns: frozenset[str], new: str, old: str | None) -> sql.Composable:
    if new in columns:
        return sql.Identifier(new)
    if old is not None and old in columns:
        return sql.Identifier(old)
    return sql.SQL("0::float8")


_ORDER_KEY = {"mean": sql.SQL("total_ms / greatest(calls, 1)"),
              "total": sql.SQL("total_ms"),
              "calls": sql.SQL("calls")}


def read_statements(
    conn: psycopg.Connection[tuple[object, ...]],
    *,
    order: Order = "total",
    limit: int | None = None,
    min_calls: int = 1,
) -> tuple[Statement, ...]:
    """Return the current database's statements, largest ``order`` key first.

    ``order`` is ``"mean"`` (ms per call), ``"total"`` (ms) or ``"calls"``; ``limit``
    keeps the first N (None: all); statements with fewer than ``min_calls`` calls are
    left out. Times include planning time when the view tracks it. ``share`` is
    computed over every statement of the database before ``limit`` cuts.

    Raises :class:`StatementsUnavailable` (exit 3), with the steps that fix it, when
    the extension is not created here, not offered, or its library is not preloaded;
    ``ValueError`` for an unknown ``order``.
    """
    if order not in _ORDER_KEY:
        raise ValueError(f"unknown order {order!r}: use mean, total or calls")
    status = statements_status(conn)
    if not status.usable or status.schema is None:
        raise StatementsUnavailable("pg_stat_statements is not usable in this database",
                                    steps=status.steps)
    columns = _columns(conn, status.schema)
    where = [sql.SQL("s.dbid = (SELECT oid FROM pg_catalog.pg_database"
                     " WHERE datname = current_database())"),
             sql.SQL("s.calls >= {}").format(sql.Literal(min_calls))]
    if "toplevel" in columns:
        where.append(sql.SQL("s.toplevel"))
    query = sql.SQL(
        "SELECT queryid, query, calls, total_ms, exec_ms, plan_ms, rows, shared_hit,"
        " shared_read, coalesce(total_ms / nullif(sum(total_ms) OVER (), 0), 0), user_name"
        " FROM (SELECT s.queryid, s.query, s.calls, {exec}::float8 AS exec_ms,"
        "       {plan}::float8 AS plan_ms, {exec}::float8 + {plan}::float8 AS total_ms,"
        "       s.rows, s.shared_blks_hit AS shared_hit,"
        "       s.shared_blks_read AS shared_read,"
        "       coalesce(pg_catalog.pg_get_userbyid(s.userid)::text, '') AS user_name"
        "       FROM {view} s WHERE {where}) AS w"
        " ORDER BY {key} DESC, queryid{limit}"
    ).format(
        exec=_time(columns, "total_exec_time", "total_time"),
        plan=_time(columns, "total_plan_time", None),
        view=sql.Identifier(status.schema, _EXTENSION),
        where=sql.SQL(" AND ").join(where),
        key=_ORDER_KEY[order],
        limit=sql.SQL("") if limit is None else sql.SQL(" LIMIT {}").format(
            sql.Literal(limit)),
    )
    return tuple(
        Statement(queryid=None if qid is None else int(str(qid)), query=str(text or ""),
                  calls=int(str(calls)), total_ms=float(str(total)),
                  exec_ms=float(str(exec_ms)), plan_ms=float(str(plan_ms)),
                  rows=int(str(rows)), shared_hit=int(str(hit)), shared_read=int(str(read)),
                  share=float(str(share)), user=str(user))
        for qid, text, calls, total, exec_ms, plan_ms, rows, hit, read, share, user
        in conn.execute(query).fetchall()
    )
