"""Bundled example schemas, and loading one into a database to audit.

``ecommerce.sql`` is the skill's own e-commerce example (users, categories, products,
orders, order_items), verbatim. ``pgkeel check --example`` loads it with
:func:`load_example` so a first run on a fresh machine audits something real.
"""

from __future__ import annotations

from importlib import resources

import psycopg
from psycopg import sql

from pgkeel.connect import connect
from pgkeel.dsn import parse_dsn, with_database
from pgkeel.errors import DatabaseError

__all__ = ["EXAMPLE_DATABASE", "example_sql", "load_example"]

#: The database ``load_example`` drops and recreates; nothing else is touched.
EXAMPLE_DATABASE = "pgkeel_example"


def example_sql(name: str = "ecommerce") -> str:
    """Return the text of the bundled example ``name`` (``ecommerce``).

    Raises ``FileNotFoundError`` for an unknown name.
    """
    return resources.files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def load_example(url: str, *, dbname: str = EXAMPLE_DATABASE, name: str = "ecommerce") -> str:
    """Drop and recreate database ``dbname`` on ``url``'s server, load example ``name``.

    ``url`` is any database on the server (the maintenance connection); when it is
    ``dbname`` itself, ``postgres`` is used for that. The script runs in one
    transaction. Returns the DSN of ``dbname`` (a key=value string).

    Raises ``ConnectError`` as :func:`pgkeel.connect.connect` does, and
    ``DatabaseError`` (with the SQLSTATE) when the server refuses to drop or create
    the database (e.g. the role lacks CREATEDB) or the script fails.
    """
    admin = with_database(url, "postgres") if parse_dsn(url).get("dbname") == dbname else url
    name_sql = sql.Identifier(dbname)
    script = example_sql(name)
    target = with_database(url, dbname)
    try:
        with connect(admin) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name_sql))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name_sql))
        with connect(target) as conn, conn.transaction():
            # No parameters: psycopg sends the script as one simple query, and the
            # server parses it; pgkeel never splits SQL itself.
            conn.execute(script)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseError(f"loading the example into {dbname!r} failed: {first}",
                            sqlstate=exc.sqlstate,
                            hint="the role needs CREATEDB (or use a superuser)") from exc
    return target
