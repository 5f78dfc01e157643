"""Scratch databases: created from a template, migrated, thrown away.

``migrate verify`` rehearses migrations on one, ``migrate drift`` builds the schema the
migrations describe on one. Nothing here touches any other database: a scratch
database gets a fresh name (``pgkeel_scratch_<pid>_<random>``), and :func:`scratch`
drops it on the way out whatever happened inside.

``CREATE DATABASE ... TEMPLATE`` copies the template's files, which is much faster than
replaying its history (PostgreSQL docs, "Template Databases", 23.3); the template must
have no other connection meanwhile. ``DROP DATABASE ... WITH (FORCE)`` (PostgreSQL 13+)
ends sessions a failed run left behind.

Example::

    from pgkeel.migrations.scratch import migrated

    with migrated(url, Path("migrations"), to="20240101") as db:
        print(db.url)  # holds every migration up to 20240101; dropped afterwards
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from pgkeel.connect import connect
from pgkeel.errors import DatabaseError

__all__ = ["PREFIX", "ScratchDatabase", "apply_up_to", "create", "drop", "migrated",
           "scratch", "scratch_url"]

#: Every scratch database's name starts with this.
PREFIX = "pgkeel_scratch_"
_INSUFFICIENT_PRIVILEGE = "42501"


@dataclass(frozen=True, slots=True)
class ScratchDatabase:
    """A scratch database: its ``name`` and the libpq ``url`` that reaches it."""

    name: str
    url: str


def scratch_url(server_url: str, dbname: str) -> str:
    """``server_url`` (URI or key=value DSN) with its database replaced by ``dbname``."""
    return make_conninfo(server_url, dbname=dbname)


def create(server_url: str, *, template: str = "template1") -> ScratchDatabase:
    """Create a scratch database on the server of ``server_url``, copied from ``template``.

    ``server_url`` may name any database of that server (it is only connected to, to
    run ``CREATE DATABASE``). Returns the new :class:`ScratchDatabase`.

    Raises ``ConnectError`` as :func:`pgkeel.connect.connect` does, and
    ``DatabaseError`` when the server refuses: the role lacks ``CREATEDB``, or the
    template is in use or missing (the message says which, with a fix).
    """
    name = f"{PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    with connect(server_url) as conn:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template)))
        except psycopg.Error as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            hint = ("give the role CREATEDB (ALTER ROLE ... CREATEDB), or run without a "
                    "database URL to use the local cluster"
                    if exc.sqlstate == _INSUFFICIENT_PRIVILEGE
                    else f"check that template {template!r} exists and nobody is "
                    "connected to it")
            raise DatabaseError(f"cannot create a scratch database: {first}",
                                sqlstate=exc.sqlstate, hint=hint) from exc
    return ScratchDatabase(name, scratch_url(server_url, name))


def drop(server_url: str, name: str) -> None:
    """Drop the scratch database ``name``, ending any session still in it.

    Refuses (``ValueError``) a name that is not a scratch database's, so that no
    mistake can drop anything else. Raises ``DatabaseError`` when the server refuses.
    """
    if not name.startswith(PREFIX):
        raise ValueError(f"{name!r} is not a scratch database")
    with connect(server_url) as conn:
        try:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
        except psycopg.Error as exc:
            raise DatabaseError(f"cannot drop scratch database {name}: {exc}",
                                sqlstate=exc.sqlstate,
                                hint=f"drop it by hand: DROP DATABASE {name}") from exc


@contextmanager
def scratch(server_url: str, *, template: str = "template1") -> Iterator[ScratchDatabase]:
    """A scratch database for the ``with`` block (:func:`create`), dropped after it.

    The drop connects to the database ``server_url`` names, never to the scratch one.
    """
    if conninfo_to_dict(server_url).get("dbname", "").startswith(PREFIX):
        raise ValueError("server_url must not name a scratch database")
    db = create(server_url, template=template)
    try:
        yield db
    finally:
        drop(server_url, db.name)


def apply_up_to(url: str, directory: Path, to: str | None) -> int:
    """Apply the migrations of ``directory`` to ``url`` with the runner, up to ``to``.

    ``to`` is a version (inclusive) or None for all of them. Returns how many were
    applied. Raises what :func:`pgkeel.migrations.runner.up` raises.
    """
    from pgkeel.migrations.runner import up

    return len(up(url, directory, to=to).done)


@contextmanager
def migrated(server_url: str, directory: Path, *, to: str | None = None,
             template: str = "template1") -> Iterator[ScratchDatabase]:
    """A :func:`scratch` database holding the migrations of ``directory`` up to ``to``.

    The migrations run through the runner (:func:`apply_up_to`), so the scratch
    database has pgkeel's history schema like any migrated database.
    """
    with scratch(server_url, template=template) as db:
        apply_up_to(db.url, directory, to)
        yield db
