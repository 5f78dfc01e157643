"""What the migration rules learn from the live database: :func:`catalog_facts`.

Three reads, all read-only: the catalog snapshot (:func:`pgkeel.catalog.snapshot`),
the other sessions holding or awaiting table locks now (``pg_locks`` joined with
``pg_stat_activity``; PostgreSQL docs, "pg_locks", "pg_stat_activity"), and pgkeel's
migration history (:func:`pgkeel.migrations.history.read`) when this role may read it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from pgkeel.errors import PgkeelError
from pgkeel.lint.migration.context import Blocker, CatalogFacts
from pgkeel.lint.migration.locks import mode_named

__all__ = ["applied_versions", "blocking_sessions", "catalog_facts"]

# Table-like relations only (an index's own lock is keyed by the index). A prepared
# transaction's locks have no pid (pg_locks.pid is NULL): shown as pid 0.
_LOCKS = """
SELECT n.nspname, c.relname, coalesce(l.pid, 0), l.mode, l.granted,
       a.usename, a.application_name, a.client_addr::text, a.state,
       floor(extract(epoch FROM now() - coalesce(a.xact_start, a.query_start)))::bigint
FROM pg_catalog.pg_locks l
JOIN pg_catalog.pg_class c ON c.oid = l.relation
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation'
  AND l.database = (SELECT oid FROM pg_catalog.pg_database
                    WHERE datname = pg_catalog.current_database())
  AND l.pid IS DISTINCT FROM pg_catalog.pg_backend_pid()
  AND c.relkind IN ('r', 'p', 'm', 'v', 'f')
ORDER BY 1, 2, 3
"""


def _duration(seconds: int | None) -> str:
    if seconds is None or seconds < 0:
        return "?"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def blocking_sessions(conn: psycopg.Connection[Any]) -> dict[str, tuple[Blocker, ...]]:
    """``{schema.table: sessions}`` of every other session's table lock in this database.

    Each :class:`Blocker` says the pid, user, client, state and for how long its
    transaction has been open, never the query text (it may hold a password). One query.
    """
    found: dict[str, list[Blocker]] = {}
    for (schema, table, pid, mode, granted, user, application, client, state,
         age) in conn.execute(_LOCKS).fetchall():
        try:
            lock = mode_named(mode)
        except KeyError:  # not a table lock mode (cannot happen for locktype relation)
            continue
        who = f"{user or '?'}@{client or 'local'}" + (f" {application}" if application else "")
        status = "prepared transaction" if pid == 0 else f"{state or '?'} for {_duration(age)}"
        verb = "holds" if granted else "awaits"
        found.setdefault(f"{schema}.{table}", []).append(Blocker(
            int(pid), lock, bool(granted), f"pid {pid} ({who}, {status}) {verb} {mode}"))
    return {table: tuple(sessions) for table, sessions in found.items()}


def applied_versions(conn: psycopg.Connection[Any]) -> dict[str, str] | None:
    """``{version: checksum}`` of the migrations pgkeel's history records as applied
    ({} without a history); None when this role may not read it."""
    from pgkeel.migrations import history

    try:
        rows = history.read(conn)
    except PgkeelError:
        return None
    return {row.version: row.checksum for row in rows if row.status == "applied"}


def catalog_facts(conn: psycopg.Connection[Any]) -> CatalogFacts:
    """Everything the migration rules read from the database ``conn`` (module docstring).

    Raises ``DatabaseError`` when a catalog query fails.
    """
    from pgkeel.catalog.introspect import snapshot

    snap = snapshot(conn)
    return CatalogFacts(snap, blocking=blocking_sessions(conn), applied=applied_versions(conn))
