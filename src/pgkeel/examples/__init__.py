"""Bundled example schemas, and loading one into a database to audit.

``ecommerce.sql`` is the skill's own e-commerce example (users, categories, products,
orders, order_items), verbatim. ``pgkeel check --example`` loads it with
:func:`load_example` so a first run on a fresh machine audits something real.
"""

from __future__ import annotations

from importlib import resources

from pgkeel.errors import DatabaseError, Refused

__all__ = ["EXAMPLE_DATABASE", "EXAMPLE_MARK", "example_sql", "load_example"]

#: The database ``load_example`` creates, and drops again only when it made it.
EXAMPLE_DATABASE = "pgkeel_example"

#: The comment ``load_example`` puts on the database it creates; only a database
#: carrying exactly this comment is ever dropped.
EXAMPLE_MARK = "created by pgkeel check --example; safe to drop"

_MARK_OF = """
SELECT pg_catalog.shobj_description(d.oid, 'pg_database')
FROM pg_catalog.pg_database d WHERE d.datname = %s
"""


def example_sql(name: str = "ecommerce") -> str:
    """Return the text of the bundled example ``name`` (``ecommerce``).

    Raises ``FileNotFoundError`` for an unknown name.
    """
    return resources.files(__name__).joinpath(f"{name}.sql").read_text(encoding="utf-8")


def load_example(url: str, *, dbname: str = EXAMPLE_DATABASE, name: str = "ecommerce") -> str:
    """Create database ``dbname`` on ``url``'s server and load example ``name`` into it.

    ``url`` is any database on the server (the maintenance connection); when it is
    ``dbname`` itself, ``postgres`` is used for that. The new database is marked with
    :data:`EXAMPLE_MARK` (``COMMENT ON DATABASE``). When ``dbname`` already exists
    it is dropped and recreated only if it carries that mark, so a database pgkeel
    did not create is never touched. The script runs in one transaction. Returns the
    DSN of ``dbname`` (a key=value string).

    Raises ``Refused`` when ``dbname`` exists without the mark; ``ConnectError`` as
    :func:`pgkeel.connect.connect` does; ``DatabaseError`` (with the SQLSTATE) when
    the server refuses to drop or create the database (e.g. the role lacks CREATEDB)
    or the script fails.
    """
    # Imported here: `pgkeel --help` reads EXAMPLE_DATABASE and should not load psycopg.
    import psycopg
    from psycopg import sql

    from pgkeel.connect import connect
    from pgkeel.dsn import parse_dsn, redact, with_database

    admin = with_database(url, "postgres") if parse_dsn(url).get("dbname") == dbname else url
    name_sql = sql.Identifier(dbname)
    script = example_sql(name)
    target = with_database(url, dbname)
    try:
        with connect(admin) as conn:
            row = conn.execute(_MARK_OF, (dbname,)).fetchone()
            if row is not None and row[0] != EXAMPLE_MARK:
                raise Refused(
                    f"database {dbname!r} already exists on {redact(url)} and pgkeel did "
                    "not create it (it lacks pgkeel's mark), so pgkeel will not drop it",
                    hint=f"if {dbname!r} is disposable, drop it yourself (DROP DATABASE "
                    f"{sql.Identifier(dbname).as_string()}) and run again; otherwise "
                    "point --example at another server")
            if row is not None:
                # DROP DATABASE cannot run in a transaction, so the mark is read just
                # before: only a database pgkeel created (and marked) is dropped.
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name_sql))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name_sql))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                name_sql, sql.Literal(EXAMPLE_MARK)))
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
