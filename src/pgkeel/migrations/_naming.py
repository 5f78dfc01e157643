"""Migration file names: what dbmate reads, in dbmate's order, and pgkeel's convention.

pgkeel reads exactly the files dbmate reads (``amacneil/dbmate``, ``pkg/dbmate/db.go``:
``migrationFileRegexp = ^(\\d+).*\\.sql$`` and ``FindMigrations``, checked against the
``dbmate`` 2.37 binary): a name that starts with one or more ASCII digits and ends in
``.sql`` (lower case). The version is all the leading digits, kept as a digit string:
``0001`` and ``1`` are two versions, ``10000000000000`` is as good as a date. Anything
may follow the digits (``20211115181400_update-auth-permissions.sql``, ``9.sql``,
``123abc.sql``). Files apply in the order of their names compared byte by byte, as
dbmate sorts them (Go string comparison; Python's code-point comparison of ``str`` gives
the same order). As ``'-' < '0' < '_'``, ``5-a.sql`` sorts before ``50_b.sql`` but
``5_a.sql`` after it, and ``20240119000000_y.sql`` before ``20240119_x.sql``.

pgkeel's own convention, what ``migrate new`` writes, is narrower:
``YYYYMMDD_feature_name.sql`` or ``YYYYMMDDHHMMSS_feature_name.sql`` with a real date
and a lower-case snake_case name. :func:`follows_convention` says whether a name keeps
it; breaking it is no refusal (the migration linter reports it).

``snake_case`` turns free text into such a name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

from pgkeel.errors import MigrationFileError

__all__ = ["CONVENTION", "EXPECTED_FORM", "follows_convention", "is_version",
           "leading_version", "name_problem", "order_key", "parse_filename", "snake_case"]

EXPECTED_FORM = ("VERSION_name.sql, the version being the leading digits (pgkeel writes "
                 "YYYYMMDDHHMMSS_feature_name.sql)")
CONVENTION = ("YYYYMMDD_feature_name.sql or YYYYMMDDHHMMSS_feature_name.sql "
              "(a real date/time, then a lower-case snake_case name)")
# dbmate's migrationFileRegexp, with Go's ASCII-only \d and its '.' that stops at a newline.
_DBMATE_FILE = re.compile(r"([0-9]+)(.*)\.sql")
_CONVENTION = re.compile(r"(\d{8}|\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql", re.ASCII)
_VERSION_FORMATS = {8: "%Y%m%d", 14: "%Y%m%d%H%M%S"}
# Names dbmate would read but that are another tool's files, which hold no markers.
_GOLANG_MIGRATE = re.compile(r"[0-9]+(?:_.*)?\.(?:up|down)\.sql")
# What other tools call their files, to say which import applies.
_FLYWAY = re.compile(r"[VUBR]\d*(?:[._]\d+)*__.+\.sql", re.IGNORECASE)


def name_problem(filename: str) -> str | None:
    """Why ``filename`` (a ``.sql`` file in a migrations directory) is no migration, or None.

    The reason names the fix. A name dbmate reads is fine, except a golang-migrate
    ``NNNN_name.up.sql`` / ``.down.sql`` file: dbmate would read it too but fail on it
    (it holds no ``-- migrate:up`` marker, and its up and down share a version), so the
    reason points at ``pgkeel migrate import``.
    """
    if _GOLANG_MIGRATE.fullmatch(filename):
        return ("a golang-migrate file name; convert the directory with "
                "'pgkeel migrate import DIR --from golang-migrate'")
    if _DBMATE_FILE.fullmatch(filename):
        return None
    if _FLYWAY.fullmatch(filename):
        return f"a Flyway file name, which dbmate would skip too; rename it to {EXPECTED_FORM}"
    if filename[:1].isascii() and filename[:1].isdigit() and filename.lower().endswith(".sql"):
        return ("dbmate reads only names ending in lower-case '.sql' and would skip it; "
                "rename it to end in .sql")
    return (f"no leading version digits, so dbmate would skip it; rename it to "
            f"{EXPECTED_FORM}, or move it out of the migrations directory")


def parse_filename(path: Path) -> tuple[str, str]:
    """Return ``(version, name)`` of a migration file's name, as dbmate reads it.

    ``version`` is the leading digits; ``name`` the rest without ``.sql`` and without
    one separator (``_``, ``-`` or ``.``) right after the version (``""`` for ``9.sql``).
    Raises ``MigrationFileError`` naming the file and the fix for a name dbmate would
    skip or fail on (see :func:`name_problem`).
    """
    problem = name_problem(path.name)
    match = _DBMATE_FILE.fullmatch(path.name)
    if problem is not None or match is None:
        message, _sep, fix = (problem or "").partition("; ")
        raise MigrationFileError(f"{path.name!r} is not a migration file name: {message}",
                                 path=path, hint=fix or None)
    rest = match[2]
    return match[1], rest[1:] if rest[:1] in ("_", "-", ".") else rest


def leading_version(filename: str) -> str:
    """The leading ASCII digits of ``filename``, dbmate's version of it ("" if none)."""
    return filename[:len(filename) - len(filename.lstrip("0123456789"))]


def order_key(filename: str) -> str:
    """The sort key of a migration file: its name, compared as dbmate compares it.

    dbmate sorts ``FileName`` with Go's byte-wise string comparison; comparing Python
    ``str`` code point by code point orders UTF-8 names the same way.
    """
    return filename


def is_version(version: str) -> bool:
    """True when ``version`` is a migration version: one or more ASCII digits."""
    return bool(version) and version.isascii() and version.isdigit()


def follows_convention(filename: str) -> bool:
    """True when ``filename`` keeps pgkeel's convention (:data:`CONVENTION`).

    The hook for the migration linter: a name dbmate reads but that breaks the
    convention still runs; the linter reports it.
    """
    match = _CONVENTION.fullmatch(filename)
    if match is None:
        return False
    version = match[1]
    fmt = _VERSION_FORMATS[len(version)]
    try:
        # The round trip rejects what strptime's loose fields might let through.
        return datetime.strptime(version, fmt).strftime(fmt) == version
    except ValueError:
        return False


def snake_case(text: str) -> str:
    """Turn free text into snake_case: "Add Users Table", "addUsersTable" and
    "add-users-table" all become "add_users_table"; accents are dropped ("café" → "cafe")
    and letters without an ASCII decomposition are case-folded first ("Straße" →
    "strasse").

    Returns "" when nothing usable is left.
    """
    ascii_text = "".join(_ascii(char) for char in unicodedata.normalize("NFKD", text))
    # Word boundaries inside camelCase ("addUsers"), after an acronym ("HTTPServer") or
    # a digit ("add2Users"); "2FA" stays one word.
    ascii_text = re.sub(r"([a-z])([A-Z])", r"\1_\2", ascii_text)
    ascii_text = re.sub(r"([A-Z0-9])([A-Z][a-z])", r"\1_\2", ascii_text)
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def _ascii(char: str) -> str:
    """One character as ASCII: itself, its case fold's decomposition ("ß" → "ss"), or ""."""
    if char.isascii():
        return char  # keeps the case, for the camelCase boundaries
    folded = unicodedata.normalize("NFKD", char.casefold())
    return folded.encode("ascii", "ignore").decode()
