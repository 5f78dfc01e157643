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

__all__ = ["FORMAT", "denied", "ensure", "exists", "found_format"]

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
    # 3: seed files run (pgkeel.seed.runner), for `seed run --changed-only`.
    """
    CREATE TABLE IF NOT EXISTS pgkeel.seed_runs (
        file     text PRIMARY KEY,
        checksum text NOT NULL,
        ran_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
        ran_by   text NOT NULL DEFAULT current_user
    );
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


def found_format(conn: psycopg.Connection[tuple[object, ...]], *, write: bool = False) -> int:
    """Return the layout format of the history tables, 0 when there are none.

    Read-only commands do not upgrade the layout, so their readers use this to read an
    older one. Raises ``Refused`` when the tables were written by a newer pgkeel, and
    ``DatabaseError`` (exit 3, SQLSTATE 42501) naming the grant when this user may not
    read them (``write``: the grant a command that records history needs).
    """
    try:
        found = _format(conn)
    except pgerrors.InsufficientPrivilege as exc:
        raise denied(conn, exc, write=write) from exc
    _check_not_newer(found)
    return found or 0


def exists(conn: psycopg.Connection[tuple[object, ...]], *, write: bool = False) -> bool:
    """Return True when the history tables exist (False on a never-migrated database).

    Raises ``Refused`` when they were written by a newer pgkeel, ``DatabaseError`` as
    :func:`found_format` does.
    """
    return found_format(conn, write=write) > 0


def ensure(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Create the ``pgkeel`` schema and tables, or upgrade their format, if needed.

    Call with pgkeel's advisory lock held, so two runners never race on ``CREATE``.
    Each format step commits together with the new ``history_format`` value. Raises
    ``Refused`` when the tables were written by a newer pgkeel, and ``DatabaseError``
    (exit 3, SQLSTATE 42501) naming the privilege to grant when the user may not create
    the schema or its tables, or may not write the tables that exist.
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
        raise denied(conn, exc, write=True) from exc
    _check_writable(conn)


# What a runner does to each history table (pgkeel.events is append-only).
_WRITES = (("pgkeel.meta", "SELECT"), ("pgkeel.migrations", "SELECT"),
           ("pgkeel.migrations", "INSERT"), ("pgkeel.migrations", "UPDATE"),
           ("pgkeel.migrations", "DELETE"), ("pgkeel.events", "SELECT"),
           ("pgkeel.events", "INSERT"))


def _check_writable(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Refuse before anything runs when this user may read the history but not write
    it (say, granted only SELECT): found later, the error would come from a history
    write after a migration's statements ran. One round trip; ``has_table_privilege``
    reads the ACLs, including those a role inherits."""
    rows = conn.execute(
        "SELECT privilege || ' on ' || tab FROM unnest(%s::text[], %s::text[])"
        " AS w(tab, privilege) WHERE NOT pg_catalog.has_table_privilege(tab, privilege)",
        ([t for t, _ in _WRITES], [p for _, p in _WRITES])).fetchall()
    if rows:
        raise denied(conn, "it lacks " + ", ".join(str(r[0]) for r in rows), write=True)


def _schema_owner(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The owner of schema ``pgkeel``, None when there is none (read from the catalog,
    which needs no privilege on the schema)."""
    row = conn.execute("SELECT pg_catalog.pg_get_userbyid(nspowner) FROM"
                       " pg_catalog.pg_namespace WHERE nspname = 'pgkeel'").fetchone()
    return str(row[0]) if row else None


def _tables_owner(conn: psycopg.Connection[tuple[object, ...]]) -> str | None:
    """The owner of ``pgkeel.migrations``, None when the history tables do not exist
    (read from ``pg_class``, which needs no privilege on the schema)."""
    row = conn.execute("SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM"
                       " pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                       " ON n.oid = c.relnamespace"
                       " WHERE n.nspname = 'pgkeel' AND c.relname = 'migrations'").fetchone()
    return str(row[0]) if row else None


def denied(conn: psycopg.Connection[tuple[object, ...]],
           error: pgerrors.InsufficientPrivilege | str, *, write: bool) -> DatabaseError:
    """Turn a 42501 met on pgkeel's history into the privilege it needs, as a fix.

    ``error`` is the server's error, or what was found missing. ``write`` is True
    for commands that create or record history (``up``, ``rollback``
    ...), False for those that only read it (``status``, ``validate``). CREATE SCHEMA
    needs ``CREATE`` on the database; CREATE TABLE in an existing schema needs
    ``USAGE`` and ``CREATE`` on it; tables that exist but belong to another role need
    ``USAGE`` on the schema and privileges on the tables, which ``CREATE`` on the
    schema does not give (PostgreSQL docs §5.8 "Privileges", and the CREATE SCHEMA /
    CREATE TABLE / GRANT reference pages). The fix names the ways out, with
    identifiers quoted as PostgreSQL's quote_ident would. The connection must not be
    in a failed transaction (callers use autocommit, or ``conn.transaction()`` has
    rolled back).
    """
    said = error if isinstance(error, str) else (error.diag.message_primary
                                                 or str(error).strip())
    row = conn.execute("SELECT current_user, current_database()").fetchone()
    assert row is not None
    user, database = str(row[0]), str(row[1])
    who = sql.Identifier(user).as_string(conn)
    owner = _schema_owner(conn)
    tables_owner = _tables_owner(conn)
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
    if tables_owner is not None and tables_owner != user:
        rights = "SELECT, INSERT, UPDATE, DELETE" if write else "SELECT"
        who_grants = (f"as {owner!r} or a superuser" if owner == tables_owner
                      else "as a superuser")
        return DatabaseError(
            f"user {user!r} may not {'use' if write else 'read'} pgkeel's history in "
            f"schema pgkeel (its tables are owned by {tables_owner!r}): {said} "
            "[SQLSTATE 42501]",
            sqlstate="42501",
            hint=f"{who_grants} run: GRANT USAGE ON SCHEMA pgkeel TO {who}; GRANT "
            f"{rights} ON ALL TABLES IN SCHEMA pgkeel TO {who}; or run pgkeel as "
            f"{tables_owner!r}",
        )
    return DatabaseError(
        f"user {user!r} may not create or read pgkeel's history tables in schema pgkeel "
        f"(owned by {owner!r}): {said} [SQLSTATE 42501]",
        sqlstate="42501",
        hint=f"as {owner!r} or a superuser run: GRANT USAGE, CREATE ON SCHEMA pgkeel TO "
        f"{who}; or ALTER SCHEMA pgkeel OWNER TO {who}",
    )
