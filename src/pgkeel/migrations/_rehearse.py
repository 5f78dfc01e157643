"""Lock rehearsal: which locks a migration's up takes, and which tables it rewrites.

While the up runs inside its transaction, before it commits, its own backend's rows in
``pg_locks`` say which relations it locked and in which modes; a lock is held until the
transaction ends, so every lock any statement took is still there (PostgreSQL docs,
"Explicit Locking", 13.3: "Once acquired, a lock is normally held until the end of the
transaction"). A table whose ``relfilenode`` changed was rewritten: PostgreSQL wrote a
new copy of it (``ALTER COLUMN ... TYPE``, a volatile ``DEFAULT``, ``VACUUM FULL``,
``CLUSTER``, ``TRUNCATE``; docs, "ALTER TABLE" notes, and "pg_class": "relfilenode ...
changes on rewrite").

Only relations that existed before the up count: a table the migration creates is
locked by it, but nobody else can be waiting for it.

:func:`production_sizes` reads, from another server (``--stats-from``), the size and row
estimate of the tables locked, so a report can say what a lock would cost there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import psycopg

from pgkeel.catalog._reader import user_namespace
from pgkeel.connect import connect

__all__ = ["LOCK_MODES", "LockTaken", "Relations", "locks_taken", "production_sizes",
           "relations"]

#: Table-level lock modes from weakest to strongest, as ``pg_locks.mode`` names them
#: (PostgreSQL docs, "Table-Level Locks", 13.3.1, table 13.2 "Conflicting Lock Modes").
LOCK_MODES = ("AccessShareLock", "RowShareLock", "RowExclusiveLock",
              "ShareUpdateExclusiveLock", "ShareLock", "ShareRowExclusiveLock",
              "ExclusiveLock", "AccessExclusiveLock")
_STRENGTH = {mode: rank for rank, mode in enumerate(LOCK_MODES)}

# (qualified name, relkind, relfilenode) by oid
Relations = dict[int, tuple[str, str, int]]

_RELATIONS = f"""
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relfilenode::int8
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'm', 'v') AND {user_namespace("n")}
"""

_LOCKS = """
SELECT l.relation, l.mode FROM pg_catalog.pg_locks l
WHERE l.pid = pg_catalog.pg_backend_pid() AND l.locktype = 'relation' AND l.granted
  AND l.database = (SELECT oid FROM pg_catalog.pg_database
                    WHERE datname = pg_catalog.current_database())
"""

_FILENODES = """
SELECT c.oid, c.relfilenode::int8 FROM pg_catalog.pg_class c WHERE c.oid = ANY(%s)
"""

_SIZES = """
SELECT n.nspname || '.' || c.relname, pg_catalog.pg_total_relation_size(c.oid),
       c.reltuples::float8
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname || '.' || c.relname = ANY(%s)
"""


@dataclass(frozen=True, slots=True)
class LockTaken:
    """The strongest lock an up took on one relation that existed before it.

    ``relation`` is ``schema.name``; ``mode`` the lock mode as the docs write it
    (``ACCESS EXCLUSIVE``); ``rewritten`` True when the table got a new file (its data
    was copied). ``size_bytes`` (``pg_total_relation_size``) and ``row_estimate``
    (``reltuples``, -1 never analysed) come from the ``--stats-from`` server, None
    without it or when that server lacks the table.
    """

    relation: str
    mode: str
    rewritten: bool = False
    size_bytes: int | None = None
    row_estimate: int | None = None

    @property
    def blocks_reads(self) -> bool:
        """True for ``ACCESS EXCLUSIVE``: even ``SELECT`` waits behind it."""
        return self.mode == "ACCESS EXCLUSIVE"

    def describe(self) -> str:
        """``ACCESS EXCLUSIVE`` on `orders`, table rewritten (12 MB, ~100000 rows)."""
        text = f"`{self.mode}` on `{self.relation.removeprefix('public.')}`"
        if self.rewritten:
            text += ", table rewritten"
        if self.size_bytes is not None:
            rows = f", ~{self.row_estimate} rows" if (self.row_estimate or -1) >= 0 else ""
            text += f" ({_size(self.size_bytes)}{rows} in production)"
        return text


def _size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _mode_words(mode: str) -> str:
    """``AccessExclusiveLock`` -> ``ACCESS EXCLUSIVE``."""
    words, current = [], ""
    for char in mode.removesuffix("Lock"):
        if char.isupper() and current:
            words.append(current)
            current = ""
        current += char
    words.append(current)
    return " ".join(words).upper()


def relations(conn: psycopg.Connection[Any]) -> Relations:
    """The user tables, partitioned tables, views and materialized views, by oid."""
    return {oid: (f"{schema}.{name}", kind, filenode)
            for oid, schema, name, kind, filenode in conn.execute(_RELATIONS)}


def locks_taken(conn: psycopg.Connection[Any], before: Relations) -> tuple[LockTaken, ...]:
    """The strongest lock this backend holds on each relation of ``before``.

    Call it inside the migration's transaction, before COMMIT; ``before`` is
    :func:`relations` read before the up began. Sorted by relation name.
    """
    strongest: dict[int, str] = {}
    for oid, mode in conn.execute(_LOCKS):
        if oid in before and mode in _STRENGTH and (
                oid not in strongest or _STRENGTH[mode] > _STRENGTH[strongest[oid]]):
            strongest[oid] = mode
    if not strongest:
        return ()
    now = dict(conn.execute(_FILENODES, (list(strongest),)).fetchall())
    taken = [LockTaken(before[oid][0], _mode_words(mode),
                       rewritten=before[oid][1] in ("r", "m") and oid in now
                       and now[oid] != before[oid][2])
             for oid, mode in strongest.items()]
    return tuple(sorted(taken, key=lambda t: t.relation))


def production_sizes(url: str, locks: tuple[LockTaken, ...]) -> tuple[LockTaken, ...]:
    """``locks`` with the size and row estimate of each relation on the server at ``url``.

    One query; a relation that server lacks keeps None. Raises ``ConnectError`` as
    :func:`pgkeel.connect.connect` does.
    """
    names = sorted({t.relation for t in locks})
    if not names:
        return locks
    with connect(url) as conn:
        found = {name: (int(size), int(tuples) if tuples >= 0 else -1)
                 for name, size, tuples in conn.execute(_SIZES, (names,))}
    return tuple(replace(t, size_bytes=found[t.relation][0],
                         row_estimate=found[t.relation][1])
                 if t.relation in found else t for t in locks)
