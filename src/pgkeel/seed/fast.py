"""``seed generate --fast``: drop secondary indexes around the load and rebuild them.

PostgreSQL docs, "Populating a Database" (14.4.3, "Remove Indexes"): loading into a
table without its indexes and creating them afterwards is faster than updating them
row by row. Only *secondary* indexes are dropped: plain (non-unique) indexes that back
no constraint, on ordinary tables that are not partitions (an index of a partitioned
table cannot be dropped one partition at a time). Primary keys, unique constraints and
unique indexes stay, because the generator's rows are checked against them, and so do
foreign keys. Everything happens in the caller's transaction: if the load fails the
indexes come back with the rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

__all__ = ["without_secondary_indexes"]

_SECONDARY = """
SELECT format('%I.%I', n.nspname, i.relname), pg_catalog.pg_get_indexdef(x.indexrelid)
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_class t ON t.oid = x.indrelid
JOIN pg_catalog.pg_namespace n ON n.oid = i.relnamespace
WHERE NOT x.indisunique AND NOT x.indisprimary AND NOT x.indisexclusion
  AND t.relkind = 'r' AND NOT t.relispartition AND NOT i.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'pgkeel')
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint c WHERE c.conindid = x.indexrelid)
  AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid =
                  'pg_catalog.pg_class'::regclass AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY 1
"""


@contextmanager
def without_secondary_indexes(conn: psycopg.Connection[Any]) -> Iterator[list[str]]:
    """Drop the secondary indexes of every table outside the system schemas, pgkeel's
    and extensions for the ``with`` block, then create them again; yields the dropped
    names (``schema.index``).

    Call inside a transaction. Raises ``psycopg.Error`` when a drop or rebuild fails.
    """
    found = conn.execute(_SECONDARY).fetchall()
    for name, _ in found:
        conn.execute(f"DROP INDEX {name}")  # name quoted by format('%I.%I') above
    yield [str(name) for name, _ in found]
    for _, definition in found:
        conn.execute(str(definition))
