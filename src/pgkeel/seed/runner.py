"""``pgkeel seed run``: the seed files in one transaction, with reset and re-run records.

:func:`run_seeds` runs every file of the seeds folder (or the one ``specific`` names)
in name order inside one transaction: a failure rolls every file back and names the
file, line and row (:class:`pgkeel.seed.files.SeedFileError`).

``reset`` first empties exactly the tables the files fill, in one
``TRUNCATE ... RESTART IDENTITY`` (children listed before parents), never with
``CASCADE`` (which would empty tables nobody named) and never pgkeel's own schema. A
table outside the set whose foreign key points into it makes PostgreSQL refuse the
``TRUNCATE`` (docs, ``TRUNCATE``: "cannot truncate a table referenced in a foreign
key constraint from another table" unless that table is also truncated); that is
reported with the referencing table. A database marked as production (its name holds
``prod``/``production`` as a word, or ``[seed] production = true``) is refused
without ``force`` (Knex leaves this to the user; e2b-dev/infra#2383 shows the cost).

Afterwards every serial and identity column of the seeded tables has its sequence
moved past the largest value (``setval``, as Django's ``loaddata`` and Snaplet do), so
the application's next insert does not collide. Each file run is recorded in
``pgkeel.seed_runs`` (file, SHA-256, when); ``changed_only`` skips files whose checksum
is recorded unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.errors import DatabaseError, Refused, UsageError
from pgkeel.migrations.history_schema import ensure
from pgkeel.migrations.lock import AdvisoryLock
from pgkeel.seed.files import SeedFile, discover, load, tables_named

__all__ = ["SeedRunReport", "fix_sequences", "is_production", "run_seeds"]

_HISTORY_SCHEMA = "pgkeel"
_PRODUCTION = re.compile(r"(^|[^a-z0-9])prod(uction)?([^a-z0-9]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class SeedRunReport:
    """What :func:`run_seeds` did: ``ran`` ``(file name, rows)`` in order (rows -1 for
    Python files), ``skipped`` the unchanged files ``changed_only`` left out,
    ``truncated`` the tables reset (``schema.table``), ``sequences`` the
    ``(sequence, new value)`` moved past the largest id."""

    ran: tuple[tuple[str, int], ...]
    skipped: tuple[str, ...] = ()
    truncated: tuple[str, ...] = ()
    sequences: tuple[tuple[str, int], ...] = ()


def is_production(dbname: str, marked: bool) -> bool:
    """True when ``dbname`` holds ``prod`` or ``production`` as a word (``app_prod``,
    ``prod-eu``; not ``product``) or the config ``marked`` it."""
    return marked or bool(_PRODUCTION.search(dbname))


def run_seeds(conn: psycopg.Connection[Any], directory: Path, *,
              specific: str | None = None, reset: bool = False,
              changed_only: bool = False, force: bool = False,
              production: bool = False, lock_wait: float = 60.0) -> SeedRunReport:
    """Run the seed files of ``directory`` on ``conn`` (an autocommit connection).

    ``specific`` is a file name, with or without extension (``01_users`` or
    ``users``): only that file runs. ``production`` is the ``[seed] production``
    setting. Holds pgkeel's advisory lock (waiting ``lock_wait`` seconds) so a
    migration runner does not interleave. Returns a :class:`SeedRunReport`.

    Raises ``UsageError`` for a missing folder, an unknown ``specific`` or
    ``reset`` with ``changed_only``; ``Refused`` (exit 4) to reset a production
    database without ``force`` or to touch pgkeel's schema; ``SeedFileError`` when a
    file fails (everything rolled back); ``DatabaseError`` when the ``TRUNCATE`` is
    refused.
    """
    if reset and changed_only:
        raise UsageError("--reset empties the tables of every file; --changed-only would "
                         "leave the unchanged files' tables empty",
                         hint="use one of them")
    seeds = _select(discover(directory), specific)
    with AdvisoryLock(conn, wait_s=lock_wait):
        ensure(conn)
        done = _recorded(conn) if changed_only else {}
        todo = [s for s in seeds if done.get(s.name) != s.checksum()]
        skipped = tuple(s.name for s in seeds if s not in todo)
        with conn.transaction():
            tables = _resolve(conn, todo)
            truncated: tuple[str, ...] = ()
            if reset and tables:
                dbname = conn.info.dbname
                if is_production(dbname, production) and not force:
                    raise Refused(
                        f"database {dbname} is marked as production; --reset would "
                        f"empty {len(tables)} table(s)",
                        hint="seed a development database, or add --force if this one "
                        "really is disposable")
                truncated = _truncate(conn, tables)
            ran = []
            for seed in todo:
                ran.append((seed.name, load(conn, seed)))
                conn.execute(
                    "INSERT INTO pgkeel.seed_runs (file, checksum) VALUES (%s, %s) "
                    "ON CONFLICT (file) DO UPDATE SET checksum = EXCLUDED.checksum, "
                    "ran_at = clock_timestamp(), ran_by = current_user",
                    (seed.name, seed.checksum()))
            # Tables a .py file filled without declaring them are not known; the
            # declared and file-named ones are (resolved again: SQL may create them).
            sequences = fix_sequences(conn, _resolve(conn, todo))
    return SeedRunReport(tuple(ran), skipped, truncated, sequences)


def _select(seeds: list[SeedFile], specific: str | None) -> list[SeedFile]:
    if specific is None:
        return seeds
    chosen = [s for s in seeds if specific in (s.name, s.path.stem, s.target)]
    if not chosen:
        known = ", ".join(s.name for s in seeds) or "none"
        raise UsageError(f"no seed file {specific!r}", hint=f"seed files: {known}")
    return chosen[:1]


def _recorded(conn: psycopg.Connection[Any]) -> dict[str, str]:
    rows = conn.execute("SELECT file, checksum FROM pgkeel.seed_runs").fetchall()
    return {str(f): str(c) for f, c in rows}


def _resolve(conn: psycopg.Connection[Any], seeds: list[SeedFile]) -> list[str]:
    """The existing tables ``seeds`` fill, as ``schema.table``, without repeats."""
    found: list[str] = []
    for seed in seeds:
        for name in tables_named(seed):
            row = conn.execute(
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = pg_catalog.to_regclass(%s)",
                (_quoted(name),),
            ).fetchone()
            if row is None:
                continue
            if row[0] == _HISTORY_SCHEMA:
                raise Refused(f"seed file {seed.name} writes {name}, pgkeel's own history",
                              path=seed.path, hint="seed your application's tables only")
            qualified = f"{row[0]}.{row[1]}"
            if qualified not in found:
                found.append(qualified)
    return found


def _children_first(conn: psycopg.Connection[Any], tables: list[str]) -> list[str]:
    """``tables`` ordered so a table referencing another comes before it."""
    edges = conn.execute(
        "SELECT DISTINCT cn.nspname || '.' || c.relname, pn.nspname || '.' || p.relname "
        "FROM pg_catalog.pg_constraint k "
        "JOIN pg_catalog.pg_class c ON c.oid = k.conrelid "
        "JOIN pg_catalog.pg_namespace cn ON cn.oid = c.relnamespace "
        "JOIN pg_catalog.pg_class p ON p.oid = k.confrelid "
        "JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace "
        "WHERE k.contype = 'f' AND k.conrelid <> k.confrelid").fetchall()
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in edges:
        if child in parents and parent in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    seen: set[str] = set()

    def visit(table: str, path: frozenset[str]) -> None:
        # Referencing tables of `table` go first; a cycle is cut where it closes.
        if table in seen or table in path:
            return
        for child in sorted(t for t in tables if table in parents[t]):
            visit(child, path | {table})
        seen.add(table)
        ordered.append(table)

    for table in tables:
        visit(table, frozenset())
    return ordered


def _truncate(conn: psycopg.Connection[Any], tables: list[str]) -> tuple[str, ...]:
    ordered = _children_first(conn, tables)
    query = sql.SQL("TRUNCATE {} RESTART IDENTITY").format(sql.SQL(", ").join(
        sql.Identifier(*t.split(".", 1)) for t in ordered))
    try:
        conn.execute(query)
    except psycopg.errors.FeatureNotSupported as exc:
        # The detail names the referencing table outside the set.
        raise DatabaseError(
            f"TRUNCATE refused: {exc.diag.message_detail or exc.diag.message_primary}",
            sqlstate=exc.sqlstate,
            hint="add a seed file for that table too (so it is reset with the others), "
            "or empty it yourself first; pgkeel never truncates with CASCADE") from None
    return tuple(ordered)


def fix_sequences(conn: psycopg.Connection[Any], tables: list[str]) -> tuple[tuple[str, int], ...]:
    """``setval`` every serial/identity sequence of ``tables`` below its column's max."""
    moved = []
    for table in tables:
        owned = conn.execute(
            "SELECT a.attname, pg_catalog.pg_get_serial_sequence(%s, a.attname) "
            "FROM pg_catalog.pg_attribute a WHERE a.attrelid = pg_catalog.to_regclass(%s) "
            "AND a.attnum > 0 AND NOT a.attisdropped "
            "AND pg_catalog.pg_get_serial_sequence(%s, a.attname) IS NOT NULL",
            (_quoted(table), _quoted(table), _quoted(table))).fetchall()
        for column, sequence in owned:
            top = conn.execute(sql.SQL("SELECT max({})::bigint FROM {}").format(
                sql.Identifier(column), sql.Identifier(*table.split(".", 1)))).fetchone()
            state = conn.execute("SELECT pg_catalog.pg_sequence_last_value(%s::regclass)",
                                 (sequence,)).fetchone()
            if top is None or top[0] is None or state is None:
                continue
            # NULL: never called, so the next value is the start, which the rows may hold.
            if state[0] is None or top[0] > state[0]:
                conn.execute("SELECT pg_catalog.setval(%s, %s)", (sequence, top[0]))
                moved.append((str(sequence), int(top[0])))
    return tuple(moved)


def _quoted(table: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in table.split(".", 1))
