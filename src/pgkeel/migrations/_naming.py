"""Migration file names: ``YYYYMMDD_feature_name.sql`` or ``YYYYMMDDHHMMSS_feature_name.sql``.

The version is the leading digits and must be a real date (and time); the name is
lower-case snake_case. ``snake_case`` turns free text into such a name.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from pathlib import Path

from pgkeel.errors import MigrationFileError

__all__ = ["EXPECTED_FORM", "is_version", "parse_filename", "snake_case", "version_key"]

EXPECTED_FORM = ("YYYYMMDD_feature_name.sql or YYYYMMDDHHMMSS_feature_name.sql "
                 "(a real date/time, then a lower-case snake_case name)")
_FILENAME = re.compile(r"(\d{8}|\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql")
_VERSION_FORMATS = {8: "%Y%m%d", 14: "%Y%m%d%H%M%S"}
# What other tools call their files, to say which import applies.
_FOREIGN = (
    (re.compile(r"[VUBR]\d*(?:[._]\d+)*__.+\.sql", re.IGNORECASE),
     "a Flyway file name; rename it to the pgkeel form"),
    (re.compile(r"\d+_.+\.(?:up|down)\.sql"),
     "a golang-migrate file name; convert the directory with "
     "'pgkeel migrate import DIR --from golang-migrate'"),
)


def parse_filename(path: Path) -> tuple[str, str]:
    """Return ``(version, name)`` of a migration file's name.

    Raises ``MigrationFileError`` (naming the file and the expected form) for any other
    name, or a version that is not a real date/time such as ``20241399``.
    """
    filename = path.name
    match = _FILENAME.fullmatch(filename)
    if match is None:
        hint = f"rename it to {EXPECTED_FORM}"
        for pattern, what in _FOREIGN:
            if pattern.fullmatch(filename):
                hint = f"this is {what}; pgkeel expects {EXPECTED_FORM}"
        raise MigrationFileError(
            f"{filename!r} is not a migration file name: expected "
            "YYYYMMDD_feature_name.sql or YYYYMMDDHHMMSS_feature_name.sql",
            path=path, hint=hint)
    version, name = match[1], match[2]
    if not is_version(version):
        raise MigrationFileError(
            f"{filename!r}: version {version} is not a real date"
            + (" and time" if len(version) == 14 else ""),
            path=path,
            hint=f"use the date (and UTC time) the migration was written: {EXPECTED_FORM}",
        )
    return version, name


def is_version(version: str) -> bool:
    """True when ``version`` is a pgkeel version: YYYYMMDD or YYYYMMDDHHMMSS, a real date."""
    fmt = _VERSION_FORMATS.get(len(version))
    if fmt is None or not version.isascii() or not version.isdigit():
        return False
    try:
        # The round trip rejects what strptime's loose fields might let through.
        return datetime.strptime(version, fmt).strftime(fmt) == version
    except ValueError:
        return False


def version_key(version: str) -> tuple[str, int, str]:
    """Order versions: by date, then an 8-digit version before the 14-digit ones of its day.

    Raises ``ValueError`` for anything but 8 or 14 digits.
    """
    if not version.isascii() or not version.isdigit() or len(version) not in (8, 14):
        raise ValueError(f"{version!r} is not a migration version (8 or 14 digits)")
    return (version[:8], len(version), version[8:])


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
