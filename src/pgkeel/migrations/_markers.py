"""Find the ``-- migrate:up`` and ``-- migrate:down`` marker lines of a migration file.

The markers are dbmate's, read the way dbmate reads them (``pkg/dbmate/migration.go``:
``^--\\s*migrate:up``), so dbmate files work unchanged: a marker starts in column 1, and
``--migrate:up`` is as good as ``-- migrate:up``. Options follow on the same line as
``key:value`` words: ``transaction`` (``true`` or ``false``) on either marker, and
``noop`` (``true`` or ``false``) on the down marker only.

``noop:true`` keeps files dbmate-compatible: dbmate keeps every ``key:value`` word of a
marker line in a map and reads only ``transaction`` from it (``parseMigrationOptions``),
then runs the empty down as a no-op (checked against dbmate 2.37 in the tests). ``noop``
stands alone on its marker: a down that runs nothing has no transaction mode, and some
dbmate releases match the down marker with ``^--\\s*migrate:down(\\s*$|\\s+\\S+)$``,
one word at most, so ``-- migrate:down noop:true`` is the form every release reads.

Stricter than dbmate, on purpose: a line that looks like a marker but is not one
(indented, ``-- migrate: up``, ``-- migrations:up``, ``-- Migrate:Up``,
``-- migrate:upp``, ``-- migrate:dwon``, ``-- migrate-down``, ``-- migrate_down``: any
comment starting with the word ``migrate`` and punctuation after it) is an error
rather than a comment, as is an unknown option, a duplicated marker (dbmate's several
up/down pairs per file, ``amacneil/dbmate#620``, are not supported), a down before the
up, or SQL before the up marker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Marker", "MarkerError", "find_markers"]

_MARKER = re.compile(r"--[ \t]*migrate:(up|down)(?:[ \t]+(.*?))?[ \t]*")
# Lines a reader would take for a marker: the word "migrate" right after the dashes,
# followed by punctuation ("-- migrate:dwon", "-- migrate-down", "-- migrate_down",
# "-- migrate.down", "-- migrate:u p") or the end of the line, or by a space and a
# misspelt up/down (a word of the letters of "up" and "down": "-- migrate dwon"); or
# "migrat..." then "up"/"down" after a colon or alone on the line ("-- migrations:up").
# Comments such as "-- Migration: create users", "-- migrated from v1" or
# "-- migrate the data later" are not markers.
_LOOKALIKE = re.compile(
    r"[ \t]*-{2,}[ \t]*(?:migrate(?:[^a-z \t]|$|[ \t]+[updown]{1,5}(?![a-z]))"
    r"|migrat\w*(?:[ \t]*:[ \t]*(?:up|down)|[ \t]+(?:up|down)[ \t]*$))",
    re.IGNORECASE,
)
_BOOLEAN = {"true": True, "false": False}
_OPTION_VALUES = {"transaction": _BOOLEAN, "noop": _BOOLEAN}
_OPTIONS_HINT = ("the options are transaction:false (either marker) and noop:true (the down "
                 "marker only: the migration has nothing to undo)")
EXPECTED = ("write it exactly as '-- migrate:up' or '-- migrate:down' starting in column 1, "
            "options after it, e.g. '-- migrate:up transaction:false'; if it is a comment, "
            "reword it so it does not start with 'migrate'")


@dataclass(frozen=True, slots=True)
class Marker:
    """A marker line: its 1-based ``line``, where it starts and ends in the text."""

    direction: Literal["up", "down"]
    line: int
    start: int  # index of the first character of the marker line
    end: int  # index just past the line's newline (or the end of the text)
    transaction: bool
    noop: bool = False  # down only: "nothing to undo", declared rather than left empty


class MarkerError(Exception):
    """A marker problem at ``line`` (None when no line is to blame), with a ``hint``."""

    def __init__(self, message: str, line: int | None, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


def find_markers(text: str) -> tuple[Marker, Marker]:
    """Return the up and down markers of ``text`` (LF line endings).

    Raises ``MarkerError`` for a look-alike, a duplicate, an unknown option, a down
    before the up, or a missing marker. dbmate requires the down marker even when the
    down section is empty (its ``ErrParseMissingDown``), and so does pgkeel: an empty
    down section is how a file says it is irreversible, ``noop:true`` on the marker how
    it says there is nothing to undo. Also raises for ``noop`` on the up marker or
    beside another option.
    """
    found: dict[str, Marker] = {}
    offset = 0
    for number, line in enumerate(text.split("\n"), start=1):
        start, offset = offset, offset + len(line) + 1
        if "--" not in line:  # both patterns start with dashes: most lines are SQL
            continue
        marker = _read_line(line, number, start, min(offset, len(text)))
        if marker is None:
            continue
        if marker.direction in found:
            raise MarkerError(
                f"second '-- migrate:{marker.direction}' marker (the first is on line "
                f"{found[marker.direction].line})",
                number,
                "keep one up and one down section per file; put further changes in a new "
                "migration (pgkeel migrate new NAME)",
            )
        if marker.direction == "up" and "down" in found:
            raise MarkerError(
                "'-- migrate:up' comes after '-- migrate:down'", number,
                "put the up section first, then the down section",
            )
        found[marker.direction] = marker
    if "up" not in found:
        raise MarkerError("no '-- migrate:up' marker", None,
                          "start the file's SQL with a line '-- migrate:up'")
    if "down" not in found:
        raise MarkerError(
            "no '-- migrate:down' marker", None,
            "add a line '-- migrate:down' after the up section, followed by the SQL that "
            "undoes it (leave it empty only if the migration cannot be undone; write "
            "'-- migrate:down noop:true' if it has nothing to undo)",
        )
    return found["up"], found["down"]


def _read_line(line: str, number: int, start: int, end: int) -> Marker | None:
    match = _MARKER.fullmatch(line)
    if match is None:
        if _LOOKALIKE.match(line):
            indented = line[:1] in (" ", "\t")
            raise MarkerError(
                f"{line.strip()!r} looks like a migration marker but is not one"
                + (" (it is indented)" if indented else ""),
                number,
                EXPECTED,
            )
        return None
    direction: Literal["up", "down"] = "up" if match[1] == "up" else "down"
    options = _read_options(match[2] or "", number)
    if direction == "up" and "noop" in options:
        raise MarkerError(
            "noop is an option of the down marker only", number,
            "remove it from '-- migrate:up': an up section without statements already "
            "does nothing; to say the migration has nothing to undo, write "
            "'-- migrate:down noop:true'",
        )
    if "noop" in options and len(options) > 1:
        raise MarkerError(
            "noop takes no other option on its marker", number,
            "write '-- migrate:down noop:true' alone: a down that runs nothing has no "
            "transaction mode (or drop noop and keep the other option)",
        )
    return Marker(direction, number, start, end, options.get("transaction", True),
                  options.get("noop", False))


def _read_options(words: str, number: int) -> dict[str, bool]:
    options: dict[str, bool] = {}
    for word in words.split():
        key, colon, value = word.partition(":")
        allowed = _OPTION_VALUES.get(key)
        if not colon or allowed is None or value not in allowed:
            raise MarkerError(f"unknown marker option {word!r}", number, _OPTIONS_HINT)
        if key in options:
            raise MarkerError(f"option {key!r} given twice", number, "give it once")
        options[key] = allowed[value]
    return options
