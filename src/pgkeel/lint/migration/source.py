"""Read a migration file into sections of parsed statements, tolerating bad SQL.

A pgkeel (dbmate) migration has an up and a down section under ``-- migrate:up`` /
``-- migrate:down`` markers; a plain ``.sql`` file is one section. Unlike
:mod:`pgkeel.migrations.files`, which refuses a file the runner cannot run, the linter
reads what it can: transaction control and non-transactional statements are findings
for rules to report, and SQL PostgreSQL's parser rejects becomes a :class:`SyntaxProblem`
at its line and column while the statements around it are still parsed.

Statements come from PostgreSQL's parser (pglast, through
:func:`pgkeel.migrations._split.split_sql`); only when the parser rejects the text does
pglast's scanner-based splitter (``pglast.parser.split(..., with_parser=False)``, the
lexer psql also cuts with) find the statement boundaries, so each can be parsed alone.
The trees come from :func:`._tree.parse`, pglast's tree built from the parser's JSON
(several times faster than ``parse_sql``'s validating constructors).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pglast import ast, parse_sql
from pglast.parser import ParseError, scan, split

from pgkeel.lint.migration._tree import parse
from pgkeel.migrations._markers import MarkerError, find_markers
from pgkeel.migrations._split import SplitError, split_sql

__all__ = ["LintSection", "LintSource", "Statement", "SyntaxProblem", "read_source",
           "read_text"]

_MARKER = re.compile(r"^--\s*migrate:(up|down)\b", re.MULTILINE)
Direction = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Statement:
    """One parsed statement of a section.

    ``node`` is the statement's pglast tree (``RawStmt.stmt``, e.g. ``ast.IndexStmt``);
    ``sql`` its text from first to last token (no ``;``); ``start`` the ``str`` index of
    its first character in the file; ``line`` and ``column`` that position, 1-based;
    ``index`` its 0-based place in the section.
    """

    node: ast.Node
    sql: str
    start: int
    line: int
    column: int
    index: int


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    """SQL PostgreSQL's parser rejects: its message and 1-based ``line``/``column``."""

    message: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class LintSection:
    """The up or down half of a migration, or the whole of a plain SQL file.

    ``wrapped`` is True when the runner runs the section in one transaction (a
    pgkeel/dbmate section without ``transaction:false``), False when its statements run
    one by one (``transaction:false``, or a plain file run by psql in autocommit, unless
    the linter is told to assume a transaction). ``plain`` marks a file without markers.
    ``line`` is the marker's line (1 for a plain file).
    """

    direction: Direction
    wrapped: bool
    statements: tuple[Statement, ...]
    problems: tuple[SyntaxProblem, ...]
    line: int
    plain: bool = False


@dataclass(frozen=True, slots=True)
class LintSource:
    """A file read for linting: its ``path``, ``text`` and sections (up first)."""

    path: Path
    text: str
    sections: tuple[LintSection, ...]

    def line_text(self, line: int) -> str:
        """The text of 1-based ``line`` (without its newline), '' past the end."""
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


class _Lines:
    def __init__(self, text: str) -> None:
        self._starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def position(self, index: int) -> tuple[int, int]:
        line = bisect_right(self._starts, index)
        return line, index - self._starts[line - 1] + 1


def read_source(path: Path, *, assume_in_transaction: bool = False) -> LintSource:
    """Read and split ``path``; see :func:`read_text`.

    Raises ``OSError`` when the file cannot be read and ``UnicodeDecodeError`` when it
    is not UTF-8 (the caller reports both with the path).
    """
    data = path.read_bytes()
    return read_text(path, data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n"),
                     assume_in_transaction=assume_in_transaction)


def read_text(path: Path, text: str, *, assume_in_transaction: bool = False) -> LintSource:
    """Split ``text`` (the contents of ``path``) into sections of parsed statements.

    A text with dbmate markers gives an up and a down section, ``wrapped`` unless the
    marker says ``transaction:false``; one without is a plain section, ``wrapped`` only
    when ``assume_in_transaction`` (squawk's ``--assume-in-transaction``). Broken
    markers are a :class:`SyntaxProblem` of a single plain section holding nothing.
    Never raises for bad SQL.
    """
    lines = _Lines(text)
    if not _MARKER.search(text):
        statements, problems = _parse(text, 0, len(text), lines)
        return LintSource(path, text, (LintSection("up", assume_in_transaction, statements,
                                                   problems, 1, plain=True),))
    try:
        # An up section alone is linted as it stands (dbmate runs such a file up).
        up, down = find_markers(text if "migrate:down" in text else text + "\n-- migrate:down\n")
    except MarkerError as exc:
        problem = SyntaxProblem(f"{exc.message} (fix: {exc.hint})", exc.line or 1, 1)
        return LintSource(path, text, (LintSection("up", True, (), (problem,), 1,
                                                   plain=True),))
    sections = []
    for marker, stop in ((up, min(down.start, len(text))), (down, len(text))):
        statements, problems = _parse(text, marker.end, stop, lines)
        sections.append(LintSection(marker.direction, marker.transaction, statements,
                                    problems, marker.line))
    return LintSource(path, text, tuple(sections))


def _parse(text: str, begin: int, stop: int,
           lines: _Lines) -> tuple[tuple[Statement, ...], tuple[SyntaxProblem, ...]]:
    chunk = text[begin:stop]
    try:  # one parse gives every tree with its place (pglast 8: first token, chars)
        found = parse(chunk)
    except ParseError:
        try:  # inline COPY rows, which only split_sql knows how to step over
            found = [(r.start, r.end - r.start, parse_sql(chunk[r.start:r.end])[0].stmt)
                     for r in split_sql(chunk)]
        except SplitError:
            return _tolerant(text, begin, stop, lines)
    return tuple(_statement(chunk, begin, lines, location, length, node, index)
                 for index, (location, length, node) in enumerate(found)), ()


def _statement(chunk: str, begin: int, lines: _Lines, location: int, length: int,
               node: ast.Node, index: int) -> Statement:
    # stmt_len 0 means "to the end of the text"; the ';' is never part of it.
    sql = (chunk[location:location + length] if length else chunk[location:]).rstrip()
    line, column = lines.position(begin + location)
    return Statement(node, sql.rstrip(";").rstrip(), begin + location, line, column, index)


def _tolerant(text: str, begin: int, stop: int,
              lines: _Lines) -> tuple[tuple[Statement, ...], tuple[SyntaxProblem, ...]]:
    """Parse each statement the scanner finds on its own, so one bad statement does
    not hide the others; a statement that does not parse becomes a problem."""
    chunk = text[begin:stop]
    statements: list[Statement] = []
    problems: list[SyntaxProblem] = []
    try:
        pieces = split(chunk, with_parser=False, only_slices=True)
    except ParseError as exc:  # the scanner itself failed (an unterminated quote ...)
        at = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
        return (), (SyntaxProblem(str(exc.args[0]), *lines.position(begin + at)),)
    # The scanner splitter silently drops a piece that starts with a plain identifier
    # ("selec 1;", "garbage;"): whatever lies between the pieces is checked too.
    ends = [0, *(piece.stop for piece in pieces)]
    for gap_start, gap_stop in zip(ends, [*(piece.start for piece in pieces), len(chunk)],
                                   strict=True):
        problem = _stray(chunk, gap_start, gap_stop)
        if problem is not None:
            problems.append(SyntaxProblem(problem[0], *lines.position(begin + problem[1])))
    for piece in pieces:
        sql = chunk[piece]
        try:
            parsed = parse_sql(sql)
        except ParseError as exc:
            # No location means "at end of input": point at the statement's last character.
            at = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else \
                max(len(sql.rstrip()) - 1, 0)
            problems.append(SyntaxProblem(str(exc.args[0]),
                                          *lines.position(begin + piece.start + at)))
            continue
        statements += [_statement(chunk, begin, lines, piece.start + raw.stmt_location,
                                  raw.stmt_len or len(sql) - raw.stmt_location, raw.stmt,
                                  len(statements))
                       for raw in parsed]
    problems.sort(key=lambda problem: (problem.line, problem.column))
    return tuple(statements), tuple(problems)


def _stray(chunk: str, start: int, stop: int) -> tuple[str, int] | None:
    """PostgreSQL's message and the ``chunk`` index of the first token between ``start``
    and ``stop`` that is neither a comment nor a ``;``, or None when there is none."""
    for token in scan(chunk[start:stop]):
        if token.name in ("SQL_COMMENT", "C_COMMENT", "ASCII_59"):
            continue
        at = start + token.start
        try:
            parse_sql(chunk[at:stop])
        except ParseError as exc:
            where = exc.args[1] if len(exc.args) > 1 and exc.args[1] is not None else 0
            return str(exc.args[0]), at + where
        return None  # the parser accepts it: nothing the splitter lost
    return None
