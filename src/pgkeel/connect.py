"""Connections and the handshake ("Reach", the skill's first phase).

:func:`connect` opens a psycopg connection with ``application_name=pgkeel`` and turns
every failure into a one-line ``ConnectError`` that says what to fix, matched on the
SQLSTATE the server sent (PostgreSQL docs, Appendix A "Error Codes"), never on the
message text. :func:`reach` runs the handshake: a minimal query plus the server facts
a team needs before anything else.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import psycopg
from psycopg import errors as pgerrors

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
    (28000), a missing database (3D000), or an unreachable server; the message names
    the host, user or database, never the password.
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
            sqlstate="28P01",
            hint="fix the password in the database URL (--database-url, DATABASE_URL, .env)",
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
        if _BAD_OPTION.match(detail):
            # libpq rejected a parameter's value before connecting (sslmode=bogus...).
            raise ConfigError(f"the database URL has {detail}",
                              hint="fix that parameter in the URL") from None
        if "password" in detail and "authentication failed" in detail:
            raise ConnectError(
                f"password authentication failed for user {user!r} at {_where(params)}",
                sqlstate="28P01",
                hint="fix the password in the database URL (--database-url, DATABASE_URL, .env)",
            ) from None
        if "does not exist" in detail and "database" in detail:
            raise ConnectError(
                f"database {dbname!r} does not exist on {_where(params)}",
                sqlstate="3D000",
                hint=f"create it (createdb {dbname}) or fix the database name in the URL",
            ) from None
        raise ConnectError(
            f"cannot reach PostgreSQL at {_where(params)}: {detail}",
            sqlstate=sqlstate,
            hint="check that the server runs and that host and port in the URL are right",
        ) from None


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


@dataclass(frozen=True, slots=True)
class Extension:
    """An extension the server offers: ``installed`` is None when not installed."""

    name: str
    default_version: str | None
    installed: str | None


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

    @property
    def installed_extensions(self) -> tuple[Extension, ...]:
        """The extensions created in this database."""
        return tuple(e for e in self.extensions if e.installed is not None)

    def extension(self, name: str) -> Extension | None:
        """Return extension ``name`` if the server offers it."""
        return next((e for e in self.extensions if e.name == name), None)


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
        row = conn.execute(
            "SELECT current_setting('server_version'),"
            " current_setting('server_version_num')::int,"
            " current_database(), current_user"
        ).fetchone()
        assert row is not None
        extensions = conn.execute(
            "SELECT name, default_version, installed_version"
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
            Extension(str(n), str(d) if d else None, str(i) if i else None)
            for n, d, i in extensions
        ),
        rls_tables=tuple(str(r[0]) for r in rls),
    )
