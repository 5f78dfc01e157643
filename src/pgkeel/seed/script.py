r"""``seed generate --sql FILE``: the generated rows as a SQL script of COPY blocks.

The rows are generated exactly as :func:`pgkeel.seed.fill` loads them (the server
still judges every CHECK on the candidates), inside a transaction that is then rolled
back, so the database is left as it was (sequences too). Before the rollback the rows
this run wrote are read back with ``COPY ... TO STDOUT`` (text format, what
``pg_dump`` writes and psql reads back: PostgreSQL docs, ``COPY``, "Text Format"), in a
fixed order, so the same seed on the same schema and sequences gives a byte-identical
file.

The rows of this run are those whose ``xmin`` is this transaction or one of its
subtransactions: ``age(xmin) <= 0`` (``age`` counts from the current transaction id;
rows of earlier transactions are older, PostgreSQL docs "System Columns" and
"Routine Vacuuming"). The script ends with ``setval`` for every serial/identity column
and ``ANALYZE``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.errors import UsageError
from pgkeel.seed.generate import FillReport, fill

__all__ = ["write_script"]


class _Rollback(Exception):
    """Leaves the generating transaction without keeping its rows."""


def write_script(conn: psycopg.Connection[Any], path: Path, *, rows: int = 3, seed: int = 0,
                 tables: Sequence[str] | None = None,
                 counts: Mapping[str, int] | None = None,
                 providers: Mapping[str, str] | None = None,
                 progress: Callable[[str, int], None] | None = None) -> FillReport:
    """Write the rows :func:`fill` would load into ``path``; load nothing.

    Arguments as for :func:`fill`. Returns its :class:`FillReport`. Raises
    ``UsageError`` when the run had to break a cycle through a key that is not
    ``DEFERRABLE`` (a script of COPY blocks loads each table whole, so such a cycle
    cannot be replayed; load with ``seed generate`` instead), plus what :func:`fill`
    raises.
    """
    chunks: list[bytes] = [b"-- pgkeel seed generate --sql: generated rows, seed "
                           + str(seed).encode() + b"\nBEGIN;\nSET CONSTRAINTS ALL DEFERRED;\n"]
    report: FillReport | None = None
    # Sequences are not rolled back (PostgreSQL docs, "Sequence Manipulation
    # Functions"): put them back, so the database is as it was and the next run of the
    # same seed draws the same identity values.
    positions = conn.execute(
        "SELECT format('%I.%I', schemaname, sequencename), last_value, start_value "
        "FROM pg_catalog.pg_sequences").fetchall()
    try:
        with conn.transaction():
            report = fill(conn, rows=rows, seed=seed, tables=tables, counts=counts,
                          providers=providers, progress=progress)
            _refuse_immediate_cycles(conn, report)
            for filled in report.tables:
                chunks.append(_copy_block(conn, filled.table))
            chunks.append(_sequences(conn, [t.table for t in report.tables]))
            raise _Rollback
    except _Rollback:
        pass
    finally:
        for name, last, start in positions:
            conn.execute("SELECT pg_catalog.setval(%s, %s, %s)",
                         (name, start if last is None else last, last is not None))
    assert report is not None
    chunks.append(b"COMMIT;\n")
    chunks += [sql.SQL("ANALYZE {};\n").format(sql.Identifier(*t.table.split(".", 1)))
               .as_string(conn).encode() for t in report.tables]
    path.write_bytes(b"".join(chunks))
    return report


def _refuse_immediate_cycles(conn: psycopg.Connection[Any], report: FillReport) -> None:
    for entry in report.deferred:
        name, _, table = entry.partition(" on ")
        row = conn.execute(
            "SELECT condeferrable FROM pg_catalog.pg_constraint "
            "WHERE conname = %s AND conrelid = pg_catalog.to_regclass(%s)",
            (name, _quoted(table))).fetchone()
        if row is not None and not row[0]:
            raise UsageError(
                f"foreign key {name} on {table} closes a cycle and is not DEFERRABLE: a "
                "script of COPY blocks cannot load both tables",
                hint="load with `pgkeel seed generate` (no --sql), or make the key "
                "DEFERRABLE")


def _quoted(table: str) -> str:
    return ".".join('"' + p.replace('"', '""') + '"' for p in table.split(".", 1))


def _copy_block(conn: psycopg.Connection[Any], table: str) -> bytes:
    ident = sql.Identifier(*table.split(".", 1))
    columns = [r[0] for r in conn.execute(
        "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
        "pg_catalog.to_regclass(%s) AND attnum > 0 AND NOT attisdropped "
        "AND attgenerated = '' ORDER BY attnum", (_quoted(table),))]
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    # Sorted by the row's text in the C collation: the same rows give the same bytes.
    query = sql.SQL("COPY (SELECT {c} FROM {t} AS r WHERE pg_catalog.age(r.xmin) <= 0 "
                    "ORDER BY r::text COLLATE \"C\") TO STDOUT").format(c=cols, t=ident)
    body = bytearray()
    with conn.cursor().copy(query) as copy:
        for data in copy:
            body += data
    head = sql.SQL("COPY {} ({}) FROM stdin;\n").format(ident, cols).as_string(conn).encode()
    return head + bytes(body) + b"\\.\n\n"


def _sequences(conn: psycopg.Connection[Any], tables: list[str]) -> bytes:
    lines = []
    for table in tables:
        for (column,) in conn.execute(
                "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = "
                "pg_catalog.to_regclass(%s) AND attnum > 0 AND NOT attisdropped AND "
                "pg_catalog.pg_get_serial_sequence(%s, attname) IS NOT NULL ORDER BY attnum",
                (_quoted(table), _quoted(table))):
            lines.append(sql.SQL(
                "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence({q}, {c}), "
                "max({col})) FROM {t} HAVING max({col}) IS NOT NULL;\n").format(
                q=sql.Literal(_quoted(table)), c=sql.Literal(column),
                col=sql.Identifier(column), t=sql.Identifier(*table.split(".", 1))
            ).as_string(conn))
    return "".join(lines).encode()
