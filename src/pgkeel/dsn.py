"""Parse and redact PostgreSQL connection strings (URIs and key=value strings).

Passwords never leave this module in clear: :func:`redact` is what every message,
log line and report uses to show a DSN.
"""

from __future__ import annotations

import re

from pgkeel.errors import ConfigError

__all__ = ["parse_dsn", "redact", "with_database"]

_MASK = "****"
_QUERY_PASSWORD = re.compile(r"([?&])password=[^&]*")
# key=value form: the value is a single-quoted string (with backslash escapes) or a word
_KV_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_EXAMPLE = "postgresql://user:password@localhost:5432/dbname"


def parse_dsn(dsn: str) -> dict[str, str]:
    """Return the libpq parameters of ``dsn`` as a dict of strings.

    Raises ``ConfigError`` when libpq cannot parse it; the message never repeats the
    DSN's text, which may hold a password.
    """
    # psycopg loads on first use: settings import this module, and commands that never
    # parse a URL (`pgkeel lint` offline) would pay ~80 ms for nothing.
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ConfigError(
            "the database URL does not parse as a libpq URI or key=value string",
            hint=f"use the form {_EXAMPLE}",
        ) from None
    values = {k: str(v) for k, v in params.items() if v is not None}
    for port in values.get("port", "").split(","):
        # libpq checks ports only when connecting, and then its message reads like an
        # unreachable server; a typo in the URL is a configuration error.
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ConfigError(
                f"the database URL's port {port!r} is not a number from 1 to 65535",
                hint=f"use the form {_EXAMPLE}",
            )
    return values


def redact(dsn: str) -> str:
    """Return ``dsn`` with any password replaced by ``****``, keeping its form.

    An unparseable DSN is returned as ``<unparseable DSN>``, never echoed.
    """
    if "://" in dsn:
        scheme, _, rest = dsn.partition("://")
        netloc, slash, tail = rest.partition("/")
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            user, sep, _password = userinfo.partition(":")
            netloc = f"{user}:{_MASK}@{hosts}" if sep else f"{user}@{hosts}"
        tail = _QUERY_PASSWORD.sub(rf"\1password={_MASK}", tail)
        return f"{scheme}://{netloc}{slash}{tail}"
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    return _KV_PASSWORD.sub(rf"\1{_MASK}", dsn)


def with_database(dsn: str, dbname: str) -> str:
    """Return ``dsn`` pointing at database ``dbname`` (a key=value string)."""
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, dbname=dbname)
