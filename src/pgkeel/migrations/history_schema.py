"""The history tables' layout, and how it is created and upgraded.

Part of :mod:`pgkeel.migrations.history` (which re-exports :func:`ensure`,
:func:`exists` and :data:`FORMAT`): only these two modules send SQL to the ``pgkeel``
schema.

``pgkeel.meta`` holds ``history_format``, the layout version. Each entry of
``_STEPS`` brings the layout from format *i* to *i + 1*; :func:`ensure` runs the
missing ones under pgkeel's lock, each in one transaction with the new format number.
A pgkeel older than the layout refuses to touch it rather than misread it (Flyway's
checksum changes broke validation across upgrades: ``flyway/flyway#1377``,
``#2027``). Statements use ``IF NOT EXISTS`` so a half-created schema (say, someone
created ``pgkeel`` by hand) is completed, not an error.
"""

from __future__ import annotations

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql

from pgkeel import __version__
from pgkeel.errors import DatabaseError, HistoryFormatTooNew

__all__ = ["FORMAT", "ensure", "exists", "found_format"]

# Each entry brings the layout from format i to i + 1; FORMAT is how many there are.
# A later layout change appends a step (ALTER TABLE ...), never edits an old one.
_STEPS: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS pgkeel.meta (
        key   text PRIMARY KEY,
        value text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS pgkeel.migrations (
        version             text PRIMARY KEY,
        name                text NOT NULL,
        path                text NOT NULL,
        checksum            text NOT NULL,
        checksum_algorithm  text NOT NULL,
        statement_checksums text[] NOT NULL,
        transactional       boolean NOT NULL,
        down_statements     text[] NOT NULL,
        down_lines          integer[] NOT NULL,
        down_transactional  boolean NOT NULL,
        applied_order       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        applied_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
        execution_ms        integer NOT NULL DEFAULT 0,
        applied_by          text NOT NULL DEFAULT current_user,
        client              text,
        pgkeel_version      text NOT NULL,
        method              text NOT NULL CHECK (method IN ('run', 'baseline', 'repair')),
        status              text NOT NULL CHECK (status IN ('applied', 'failed')),
        statements_done     integer NOT NULL DEFAULT 0,
        failed_direction    text CHECK (failed_direction IN ('up', 'down')),
        failed_statement    integer,
        failed_line         integer,
        failed_sqlstate     text,
        failed_message      text,
        CHECK ((status = 'failed') = (failed_direction IS NOT NULL))
    );
    CREATE TABLE IF NOT EXISTS pgkeel.events (
        id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at              timestamptz NOT NULL DEFAULT clock_timestamp(),
        kind            text NOT NULL CHECK (kind IN
                          ('apply', 'rollback', 'fail', 'repair', 'baseline', 'resume',
                           'backup')),
        version         text,
        name            text,
        checksum        text,
        execution_ms    integer,
        statement_index integer,
        sqlstate        text,
        message         text,
        detail          jsonb NOT NULL DEFAULT '{}',
        db_user         text NOT NULL DEFAULT current_user,
        client          text,
        backend_pid     integer NOT NULL DEFAULT pg_backend_pid(),
        pgkeel_version  text NOT NULL
    );
    CREATE OR REPLACE FUNCTION pgkeel.refuse_event_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'pgkeel.events is append-only' USING ERRCODE = '55000';
    END
    $$;
    DROP TRIGGER IF EXISTS append_only ON pgkeel.events;
    CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON pgkeel.events
        FOR EACH ROW EXECUTE FUNCTION pgkeel.refuse_event_change();
    DROP TRIGGER IF EXISTS append_only_truncate ON pgkeel.events;
    CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON pgkeel.events
        FOR EACH STATEMENT EXECUTE FUNCTION pgkeel.refuse_event_change();
    """,
    # 2: the down's noop:true. Rows applied before it had no way to say so: false.
    # (history.read reads a format-1 table the same way, until a writer upgrades it.)
    """
    ALTER TABLE pgkeel.migrations
        ADD COLUMN IF NOT EXISTS down_noop boolean NOT NULL DEFAULT false;
    """,
)
FORMAT = len(_STEPS)


def _format(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    row = conn.execute("SELECT pg_catalog.to_regclass('pgkeel.meta') IS NOT NULL").fetchone()
    if not (row and row[0]):
        return None
    found = conn.execute(
        "SELECT value FROM pgkeel.meta WHERE key = 'history_format'"
    ).fetchone()
    return int(str(found[0])) if found else 0


def _check_not_newer(found: int | None) -> None:
    if found is not None and found > FORMAT:
        raise HistoryFormatTooNew(
            f"the history in schema pgkeel has format {found}, newer than this pgkeel "
            f"{__version__} understands ({FORMAT})",
            hint="upgrade pgkeel (pip install -U pgkeel) before migrating this database",
        )


def found_format(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """Return the layout format of the history tables, 0 when there are none.

    Read-only commands do not upgrade the layout, so their readers use this to read an
    older one. Raises ``Refused`` when the tables were written by a newer pgkeel.
    """
    found = _format(conn)
    _check_not_newer(found)
    return found or 0


def exists(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Return True when the history tables exist (False on a never-migrated database).

    Raises ``Refused`` when they were written by a newer pgkeel.
    """
    return found_format(conn) > 0


def ensure(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Create the ``pgkeel`` schema and tables, or upgrade their format, if needed.

    Call with pgkeel's advisory lock held, so two runners never race on ``CREATE``.
    Each format step commits together with the new ``history_format`` value. Raises
    ``Refused`` when the tables were written by a newer pgkeel, and ``DatabaseError``
    (exit 3, SQLSTATE 42501) naming the privilege to grant when the user may not create
    the schema or its tables.
    """
    try:
        found = _format(conn) or 0
        _check_not_newer(found)
        for number in range(found, FORMAT):
            with conn.transaction():
                # Only when missing: CREATE SCHEMA IF NOT EXISTS needs CREATE on the
                # database even when the schema exists, and a user may have been given
                # a schema of its own instead of that privilege.
                if number == 0 and not _schema_owner(conn):
                    conn.execute("CREATE SCHEMA pgkeel")
                conn.execute(_STEPS[number])
                conn.execute(
                    "INSERT INTO pgkeel.meta (key, value) VALUES ('history_format', %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (str(number + 1),),
                )
    except pgerrors.InsufficientPrivilege as exc:
        raise _denied(conn, exc) from exc


def _schema_owner(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The owner of schema ``pgkeel``, None when there is none (read from the catalog,
    which needs no privilege on the schema)."""
    row = conn.execute("SELECT pg_catalog.pg_get_userbyid(nspowner) FROM"
                       " pg_catalog.pg_namespace WHERE nspname = 'pgkeel'").fetchone()
    return str(row[0]) if row else None


def _denied(conn: psycopg.Connection[tuple[object, ...]],
            error: pgerrors.InsufficientPrivilege) -> DatabaseError:
    """Turn a 42501 met while creating the history into the privilege it needs.

    CREATE SCHEMA needs ``CREATE`` on the database; CREATE TABLE in an existing schema
    needs ``USAGE`` and ``CREATE`` on it (PostgreSQL docs §5.8 "Privileges", and the
    CREATE SCHEMA / CREATE TABLE reference pages). The fix names both ways out, with
    identifiers quoted as PostgreSQL's quote_ident would.
    """
    said = error.diag.message_primary or str(error).strip()
    row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row is not None
    user, database = str(row[0]), str(row[1])
    who = sql.Identifier(user).as_string(conn)
    owner = _schema_owner(conn)
    if owner is None:
        return DatabaseError(
            f"user {user!r} may not create schema pgkeel (where pgkeel keeps its history) "
            f"in database {database!r}: {said} [SQLSTATE 42501]",
            sqlstate="42501",
            hint="as the database owner or a superuser, either grant CREATE on the "
            f"database: GRANT CREATE ON DATABASE {sql.Identifier(database).as_string(conn)}"
            f" TO {who}; or create the schema for this user: CREATE SCHEMA pgkeel "
            f"AUTHORIZATION {who}",
        )
    return DatabaseError(
        f"user {user!r} may not create or read pgkeel's history tables in schema pgkeel "
        f"(owned by {owner!r}): {said} [SQLSTATE 42501]",
        sqlstate="42501",
        hint=f"as {owner!r} or a superuser run: GRANT USAGE, CREATE ON SCHEMA pgkeel TO "
        f"{who}; or ALTER SCHEMA pgkeel OWNER TO {who}",
    )
