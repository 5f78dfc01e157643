"""A scratch copy of a database: ``CREATE DATABASE ... TEMPLATE`` (docs 23.3,
"Template Databases"), dropped afterwards whatever happens.

PostgreSQL copies a template only while nobody else is connected to it: the caller
closes its own connections first, and :func:`scratch_copy` raises ``DatabaseError``
with the fix when other sessions use the source (SQLSTATE 55006).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgkeel.connect import connect
from pgkeel.errors import DatabaseError

__all__ = ["scratch_copy"]


@contextmanager
def scratch_copy(url: str) -> Iterator[str]:
    """Copy the database of ``url``; yield the copy's URL; drop the copy on exit.

    The copy is named ``pgkeel_scratch_<pid>_<random>``; the role needs CREATEDB.
    Raises ``DatabaseError`` when the copy cannot be made (other sessions on the
    source, no privilege), naming the fix.
    """
    source = conninfo_to_dict(url).get("dbname") or conninfo_to_dict(url).get("user")
    name = f"pgkeel_scratch_{os.getpid()}_{secrets.token_hex(4)}"
    admin = make_conninfo(url, dbname="postgres")
    with connect(admin) as conn:
        # FILE_COPY (15+) copies files after a checkpoint instead of WAL-logging every
        # block: much faster for a large source.
        strategy = sql.SQL(" STRATEGY = FILE_COPY") if conn.info.server_version >= 150000 \
            else sql.SQL("")
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}{}").format(
                sql.Identifier(name), sql.Identifier(str(source)), strategy))
        except errors.ObjectInUse as exc:
            raise DatabaseError(
                f"cannot copy database {source!r} to a scratch database: other sessions "
                "are connected to it", hint="run the advisor on a staging copy nobody else "
                "uses, or install HypoPG (postgresql-NN-hypopg, CREATE EXTENSION hypopg) "
                "for btree candidates") from exc
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot create a scratch copy of {source!r}: "
                                f"{str(exc).strip().splitlines()[0]}",
                                hint="the role needs CREATEDB (ALTER ROLE ... CREATEDB)"
                                ) from exc
    try:
        yield make_conninfo(url, dbname=name)
    finally:
        with connect(admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
