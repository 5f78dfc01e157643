"""Connections and the handshake ("Reach", the skill's first phase).

:func:`connect` opens a psycopg connection with ``application_name=pgkeel`` and turns
every failure into a one-line ``ConnectError`` that says what to fix, matched on the
SQLSTATE the server sent (PostgreSQL docs, Appendix A "Error Codes"), never on the
message text. :func:`reach` runs the handshake: a minimal query plus the server facts
a team needs before anything else.
"""

from __future__ import annotations

import getpass
import os
import re
import time
from dataclasses import dataclass

import psycopg
from psycopg import errors as pgerrors
from psycopg import sql

from pgkeel.dsn import parse_dsn, redact
from pgkeel.errors import ConfigError, ConnectError

__all__ = ["Extension", "Handshake", "connect", "reach"]

APPLICATION_NAME = "pgkeel"
# libpq's client-side checks of parameter values ("invalid sslmode value: ...",
# "invalid integer value ... for connection option ..."): no SQLSTATE, so by text.
_BAD_OPTION = re.compile(r"^invalid .*(value|number)")


def _where(params: dict[str, str]) -> str:
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}" if not host.startswith("/") else f"socket {host} port {port}"


def connect(
    dsn: str,
    *,
    autocommit: bool = True,
    connect_timeout: int = 10,
    application_name: str = APPLICATION_NAME,
) -> psycopg.Connection[tuple[object, ...]]:
    """Open a connection to ``dsn`` (libpq URI or key=value string).

    ``connect_timeout`` is in seconds. Returns an open psycopg connection (autocommit
    by default, since most callers manage their own transactions).

    Raises ``ConfigError`` when the DSN does not parse, and ``ConnectError`` (exit 3)
    for a wrong password (SQLSTATE 28P01), an unknown role or a pg_hba.conf rejection
    (28000), a missing database (3D000), a password the server asked for and nobody
    gave (libpq's ``PQconnectionNeedsPassword``), or an unreachable server; the message
    names the host, user or database, never the password.
    """
    params = parse_dsn(dsn)
    user = params.get("user") or "(default user)"
    dbname = params.get("dbname") or user
    try:
        return psycopg.connect(
            dsn,
            autocommit=autocommit,
            connect_timeout=connect_timeout,
            application_name=application_name,
        )
    except pgerrors.InvalidPassword:
        raise ConnectError(
            f"password authentication failed for user {user!r} at {_where(params)}",
            sqlstate="28P01", hint=_wrong_password_fix(params),
        ) from None
    except pgerrors.InvalidCatalogName:
        raise ConnectError(
            f"database {dbname!r} does not exist on {_where(params)}",
            sqlstate="3D000",
            hint=f"create it (createdb {dbname}) or fix the database name in the URL",
        ) from None
    except pgerrors.InvalidAuthorizationSpecification as exc:
        raise ConnectError(
            f"the server at {_where(params)} refused user {user!r}: "
            f"{_first_line(exc)}",
            sqlstate="28000",
            hint="check the user name, and pg_hba.conf on the server",
        ) from None
    except psycopg.OperationalError as exc:
        sqlstate = getattr(exc, "sqlstate", None)
        detail = _first_line(exc)
        if _needs_password(exc):
            raise ConnectError(
                f"the server at {_where(params)} asked for a password for user {user!r} "
                "and none was given",
                sqlstate=sqlstate,
                hint="pgkeel looks for it, as libpq does, in the database URL "
                "(postgresql://USER:PASSWORD@HOST/DB, given by --database-url, "
                "DATABASE_URL or DATABASE_URL in .env), then PGPASSWORD, then ~/.pgpass "
                "(or the file PGPASSFILE names): put it in one of them",
            ) from None
        if _BAD_OPTION.match(detail):
            # libpq rejected a parameter's value before connecting (sslmode=bogus...).
            raise ConfigError(f"the database URL has {detail}",
                              hint="fix that parameter in the URL") from None
        if "password" in detail and "authentication failed" in detail:
            raise ConnectError(
                f"password authentication failed for user {user!r} at {_where(params)}",
                sqlstate="28P01", hint=_wrong_password_fix(params),
            ) from None
        if "does not exist" in detail and "database" in detail:
            raise ConnectError(
                f"database {dbname!r} does not exist on {_where(params)}",
                sqlstate="3D000",
                hint=f"create it (createdb {dbname}) or fix the database name in the URL",
            ) from None
        refused = _refused(detail, params)
        if refused is not None:
            raise refused from None
        raise ConnectError(
            f"cannot reach PostgreSQL at {_where(params)}: {detail}",
            sqlstate=sqlstate,
            hint="check that the server runs and that host and port in the URL are right",
        ) from None


def _wrong_password_fix(params: dict[str, str]) -> str:
    """Where the refused password came from, so the fix edits the right place.

    libpq takes the first of: the URL's password, ``PGPASSWORD``, then the password
    file (``passfile`` in the URL, else ``PGPASSFILE``, else ``~/.pgpass``; PostgreSQL
    docs §34.1.2 "Parameter Key Words" and §34.16 "The Password File").
    """
    if params.get("password"):
        return "fix the password in the database URL (--database-url, DATABASE_URL, .env)"
    if os.environ.get("PGPASSWORD"):
        return ("fix PGPASSWORD, which gave the password (the database URL has none); "
                "or put the right one in the URL")
    passfile = params.get("passfile") or os.environ.get("PGPASSFILE") or "~/.pgpass"
    return (f"fix the line for this host and user in the password file {passfile}, which "
            "gave the password (the database URL has none, PGPASSWORD is unset)")


def _refused(detail: str, params: dict[str, str]) -> ConnectError | None:
    """A login the server refused for want of a privilege or a role, else None.

    Matched on the server's message text because nothing else carries it: the FATAL
    error of a failed connection start reaches libpq without a result object, so
    psycopg 3 gives no SQLSTATE for it (``exc.sqlstate`` is None). The texts are
    PostgreSQL's own, from ``src/backend/utils/init/postinit.c`` ("permission denied
    for database", SQLSTATE 42501) and ``miscinit.c`` ("role ... does not exist",
    28000).
    """
    login = params.get("user") or getpass.getuser()  # libpq's default: the OS user
    dbname = params.get("dbname") or login
    who = sql.Identifier(login).as_string(None)
    if detail.startswith("permission denied for database"):
        return ConnectError(
            f"user {login!r} may not connect to database {dbname!r} on {_where(params)}: "
            "it lacks the CONNECT privilege",
            sqlstate="42501",
            hint="as the database owner or a superuser run: GRANT CONNECT ON DATABASE "
            f"{sql.Identifier(dbname).as_string(None)} TO {who}",
        )
    if detail.startswith("role ") and detail.endswith("does not exist"):
        return ConnectError(
            f"the server at {_where(params)} has no role {login!r}",
            sqlstate="28000",
            hint=f"fix the user name in the database URL, or create it: CREATE ROLE {who} "
            "LOGIN PASSWORD '...'",
        )
    return None


def _needs_password(exc: psycopg.OperationalError) -> bool:
    """True when the server asked for a password and the client had none to send.

    libpq's ``PQconnectionNeedsPassword`` (psycopg's ``PGconn.needs_password``) says so
    without reading the message ("fe_sendauth: no password supplied"), which carries
    no SQLSTATE since libpq itself gives up before sending anything.
    """
    pgconn = getattr(exc, "pgconn", None)
    return bool(pgconn is not None and pgconn.needs_password)


def _first_line(exc: BaseException) -> str:
    """The reason in a libpq connection error, without the addresses it tried.

    libpq writes 'connection to server at "h", port p failed: REASON', possibly with
    'FATAL:  ' before REASON and a second, indented line of advice.
    """
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    line = lines[0] if lines else type(exc).__name__
    line = line.rsplit("failed: ", 1)[-1].removeprefix("connection is bad: ")
    for prefix in ("FATAL:  ", "ERROR:  "):
        line = line.split(prefix, 1)[-1]
    return line.strip()


# Extensions whose library must be in shared_preload_libraries before they work
# (pg_stat_statements: PostgreSQL docs, F.32 "pg_stat_statements", "The module must be
# loaded by adding pg_stat_statements to shared_preload_libraries"), each with a setting
# the library defines once loaded: the evidence that it is, readable by any user (the
# list itself needs pg_read_all_settings).
_PRELOADED = {"pg_stat_statements": "pg_stat_statements.max"}


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension the server offers: ``installed`` is None when not installed;
    ``ident`` is its name as the server's ``quote_ident`` writes it (``"uuid-ossp"``)."""

    name: str
    default_version: str | None
    installed: str | None
    ident: str = ""


@dataclass(frozen=True, slots=True)
class Handshake:
    """The result of :func:`reach`.

    ``latency_ms`` is the round trip of ``SELECT 1`` in milliseconds (median of 5);
    ``server_version_num`` is e.g. 150018; ``extensions`` lists every available one;
    ``rls_tables`` the schema-qualified tables with row-level security enabled.
    """

    dsn: str
    server_version: str
    server_version_num: int
    database: str
    user: str
    latency_ms: float
    extensions: tuple[Extension, ...]
    rls_tables: tuple[str, ...]
    preload_libraries: tuple[str, ...] | None = None
    loaded_modules: tuple[str, ...] = ()

    @property
    def installed_extensions(self) -> tuple[Extension, ...]:
        """The extensions created in this database."""
        return tuple(e for e in self.extensions if e.installed is not None)

    def extension(self, name: str) -> Extension | None:
        """Return extension ``name`` if the server offers it."""
        return next((e for e in self.extensions if e.name == name), None)

    def setup_steps(self, name: str) -> tuple[str, ...]:
        """The steps that make extension ``name`` usable, in order; () when it is.

        Each step is a SQL statement, or ``"restart PostgreSQL"`` after a change to
        ``shared_preload_libraries`` (a setting read only at server start). The
        library of an extension that needs preloading is appended to the libraries
        already loaded, never put in their place, each as its own literal (``= 'a',
        'b'``; one literal ``'a, b'`` would name one library "a, b"); when this user
        may not read that list, the step says to append it. Names are quoted as
        ``quote_ident`` does. Empty when the server does not offer ``name``.
        """
        ext = self.extension(name)
        if ext is None:
            return ()
        steps: list[str] = []
        if name in _PRELOADED and name not in self.loaded_modules:
            if self.preload_libraries is None:
                steps.append(f"as a superuser, add {name} to the list that SHOW "
                             "shared_preload_libraries prints, with ALTER SYSTEM SET "
                             "shared_preload_libraries = 'each', 'library', "
                             f"'{name}' (one quoted name each)")
            else:
                # One literal per library: the setting is a GUC_LIST_QUOTE list, so ALTER
                # SYSTEM writes a single literal 'a, b' as ONE library named "a, b", and
                # the server no longer starts (PostgreSQL docs, ALTER SYSTEM and §20.1.2).
                wanted = ", ".join(sql.Literal(lib).as_string(None)
                                   for lib in (*self.preload_libraries, name))
                steps.append(f"ALTER SYSTEM SET shared_preload_libraries = {wanted}")
            steps.append("restart PostgreSQL")
        if ext.installed is None:
            steps.append(f"CREATE EXTENSION {ext.ident or sql.Identifier(name).as_string(None)}")
        return tuple(steps)


def reach(dsn: str) -> Handshake:
    """Connect to ``dsn``, run the minimal query, and collect the server facts.

    Raises ``ConnectError`` as :func:`connect` does. ``dsn`` is kept redacted in the
    result.
    """
    with connect(dsn) as conn:
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            timings.append((time.perf_counter() - start) * 1000)
        # The server's facts and the preload libraries in one round trip.
        row = conn.execute(
            "SELECT current_setting('server_version'),"
            " current_setting('server_version_num')::int,"
            " current_database(), current_user,"
            " (SELECT setting FROM pg_catalog.pg_settings"
            "  WHERE name = 'shared_preload_libraries'),"
            " ARRAY(SELECT m FROM unnest(%s::text[], %s::text[]) AS u(m, setting)"
            "       WHERE EXISTS (SELECT FROM pg_catalog.pg_settings s"
            "                     WHERE s.name = u.setting))",
            (list(_PRELOADED), list(_PRELOADED.values())),
        ).fetchone()
        assert row is not None
        preload = row[4:]
        extensions = conn.execute(
            "SELECT name, default_version, installed_version, pg_catalog.quote_ident(name)"
            " FROM pg_catalog.pg_available_extensions ORDER BY name"
        ).fetchall()
        rls = conn.execute(
            "SELECT format('%I.%I', n.nspname, c.relname)"
            " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relrowsecurity AND c.relkind IN ('r', 'p')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
        ).fetchall()
    return Handshake(
        dsn=redact(dsn),
        server_version=str(row[0]),
        server_version_num=int(str(row[1])),
        database=str(row[2]),
        user=str(row[3]),
        latency_ms=sorted(timings)[len(timings) // 2],
        extensions=tuple(
            Extension(str(n), str(d) if d else None, str(i) if i else None, str(q))
            for n, d, i, q in extensions
        ),
        rls_tables=tuple(str(r[0]) for r in rls),
        preload_libraries=None if preload[0] is None else _libraries(str(preload[0])),
        loaded_modules=tuple(str(m) for m in preload[1]),  # type: ignore[attr-defined]
    )


def _libraries(setting: str) -> tuple[str, ...]:
    """The names in a ``shared_preload_libraries`` value (a comma-separated list whose
    entries may be double-quoted, PostgreSQL docs §20.1.2)."""
    return tuple(name for part in setting.split(",") if (name := part.strip().strip('"')))
