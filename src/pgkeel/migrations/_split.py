r"""Split SQL into statements with PostgreSQL's own parser, keeping their exact text.

pglast wraps libpg_query, the server's parser, so dollar quotes (nested tags too),
``BEGIN ATOMIC`` bodies, semicolons in strings and comments, and ``%`` signs are cut
exactly where PostgreSQL would cut them. Nothing here splits on ``;``.

One parse, kept cheap: ``pglast.parser.parse_sql_json`` builds the tree in C and hands
it over as JSON (libpg_query's ``pg_query_parse``), which gives every statement's node
type, its fields and its place in the text (``stmt_location`` / ``stmt_len``, UTF-8 byte
offsets). The Python tree (``pglast.ast``), which costs about six times as much (61 ms
against 11 ms for the 627 sections of the Harness history), is made only where a rule
reads it (``_txrules.needs_tree``, and every ``COPY``), by parsing that one statement
again.

``COPY ... FROM STDIN`` followed by its rows and a line ``\.`` (what ``pg_dump``
writes and ``psql`` runs) is read the way psql reads it (``psql/copy.c``,
``handleCopyIn``): the statement ends at its ``;``, the rows start on the next line
and end at a line holding only ``\.``. The rows are not SQL, so PostgreSQL's parser
stops at them; the statements before are those of the longest prefix it accepts, and
parsing resumes after the ``\.`` line. Each statement still comes from the parser.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError, parse_sql_json, scan

from pgkeel.migrations._txrules import needs_tree

__all__ = ["RawStatement", "SplitError", "split_sql"]

_COMMENT_TOKENS = {"SQL_COMMENT", "C_COMMENT"}
_COMMENT_STARTS = ("--", "/*")
_SPACE = " \t\n\r\f\v"  # the scanner's {space} (scan.l): what may follow a last token
_END_OF_ROWS = re.compile(r"^\\\.$", re.MULTILINE)  # a line "\." (COPY docs, "File Formats")
_SHRINKS = 50  # parses tried to find where the SQL before COPY rows ends


@dataclass(frozen=True, slots=True)
class RawStatement:
    r"""One statement: ``text[start:end]`` runs from its first token to its last.

    Leading and trailing comments and the closing ``;`` are outside the slice.
    ``kind`` is the parse node type (``"CreateStmt"``, ``"IndexStmt"`` ...); ``node``
    is its ``pglast.ast`` tree (locations in it count from ``start``) for a ``COPY`` and
    where ``_txrules.needs_tree`` says the transaction rules need it, else None, which
    those rules read as "nothing to refuse". Build one with
    ``pglast.parse_sql(text[start:end])`` if ever needed elsewhere. ``data`` is the
    ``(start, end)`` of the rows after a ``COPY ... FROM STDIN`` (``text[start:end]``,
    each row ending in a newline, the ``\.`` line excluded), else None.
    """

    start: int
    end: int
    kind: str
    node: ast.Node | None
    data: tuple[int, int] | None = None


class SplitError(Exception):
    """The SQL cannot be split or sent: ``index`` is the ``str`` index of the problem."""

    def __init__(self, message: str, index: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.hint = hint


def split_sql(text: str) -> list[RawStatement]:
    r"""Return the statements of ``text`` in order (none for comments or blanks only).

    A ``COPY ... FROM STDIN`` statement carries its inline rows in ``data``. Raises
    ``SplitError`` for SQL PostgreSQL's parser rejects (with its message and the index
    it points at), for ``COPY ... FROM STDIN`` rows that do not end with a line ``\.``,
    and for ``COPY ... TO STDOUT``, whose rows a migration cannot receive.
    """
    try:
        statements = _parse(text)
    except ParseError as exc:
        statements = _with_rows(text, exc)
    for statement in statements:
        refusal = _client_copy(statement)
        if refusal is not None:
            raise refusal
    return statements


def _with_rows(text: str, error: ParseError) -> list[RawStatement]:
    """Split ``text`` whose parse failed with ``error``, reading COPY rows where found."""
    statements: list[RawStatement] = []
    position = 0
    while True:
        found = _before_rows(text, position, error)
        if found is None:
            raise _syntax_error(text, error, position)
        before, position = found
        statements += before
        try:
            rest = _parse(text[position:])
        except ParseError as again:
            error = again
            continue
        return statements + [_shift(r, position) for r in rest]


def _before_rows(text: str, position: int,
                 error: ParseError) -> tuple[list[RawStatement], int] | None:
    r"""Return the statements of ``text[position:]`` up to the first COPY with inline
    rows (the rows in its ``data``) and the index after its ``\.`` line; None when no
    COPY ... FROM STDIN comes before the parse ``error``."""
    chunk = text[position:]
    end = len(chunk) if error.args[1] is None else error.args[1]
    for _ in range(_SHRINKS):
        try:
            found = _parse(chunk[:end])
            break
        except ParseError as again:
            if again.args[1] is None or again.args[1] >= end:
                return None
            end = again.args[1]
    else:
        return None
    at = next((i for i, s in enumerate(found) if _reads_stdin(s)), None)
    if at is None:
        return None
    copy = found[at]
    stop = found[at + 1].start if at + 1 < len(found) else end
    semicolon = _semicolon(chunk[copy.end:stop])
    where = position + copy.start
    if semicolon is None:
        raise SplitError("COPY ... FROM STDIN must end with ';' before its rows", where,
                         hint="end the COPY statement with ';' and start its rows on the "
                         "next line, as pg_dump writes them")
    line_end = chunk.find("\n", copy.end + semicolon)
    after = chunk[copy.end + semicolon + 1:line_end if line_end >= 0 else len(chunk)].strip()
    if after and not after.startswith("--"):
        raise SplitError("text after 'COPY ... FROM STDIN;' on its line: its rows start "
                         "on the next line", where,
                         hint="move what follows the ';' to a line after the rows' '\\.'")
    rows_start = len(chunk) if line_end < 0 else line_end + 1
    last = _END_OF_ROWS.search(chunk, rows_start)
    if last is None:
        raise SplitError("the rows of COPY ... FROM STDIN do not end with a line holding "
                         "only '\\.'", where,
                         hint="add a line '\\.' after the last row, as pg_dump writes it")
    statements = [_shift(s, position) for s in found[:at]]
    statements.append(replace(_shift(copy, position),
                              data=(position + rows_start, position + last.start())))
    return statements, position + min(last.end() + 1, len(chunk))


def _semicolon(gap: str) -> int | None:
    """Return the ``str`` index of the ``;`` token in ``gap`` (comments, blanks, ``;``)."""
    for token in scan(gap):
        if token.name == "ASCII_59":
            return len(gap.encode()[:token.start].decode()) if not gap.isascii() \
                else token.start
    return None


def _shift(statement: RawStatement, offset: int) -> RawStatement:
    return replace(statement, start=statement.start + offset, end=statement.end + offset)


def _reads_stdin(statement: RawStatement) -> bool:
    node = statement.node
    return (isinstance(node, ast.CopyStmt) and bool(node.is_from) and node.filename is None
            and not node.is_program)


def _parse(text: str) -> list[RawStatement]:
    """Locate and classify every statement of ``text``; raises ``ParseError``."""
    found: list[dict[str, Any]] = json.loads(parse_sql_json(text))["stmts"]
    index = _CharIndex(text)
    statements = []
    for item in found:
        ((kind, fields),) = item["stmt"].items()  # {"IndexStmt": {...its fields}}
        location: int = item.get("stmt_location", 0)
        length: int = item.get("stmt_len", 0)
        start = index(location)
        # A stmt_len of 0 means "to the end of the input" (a last statement without ';').
        stop = index(location + length) if length else len(text)
        first, last = _token_span(text[start:stop])
        start, end = start + first, start + last
        node = None
        if kind == "CopyStmt" or needs_tree(kind, fields):
            node = parse_sql(text[start:end])[0].stmt
        statements.append(RawStatement(start, end, kind, node))
    return statements


def _token_span(chunk: str) -> tuple[int, int]:
    """Return where the first token of a statement's slice starts and its last ends.

    The slice may hold whitespace and comments before the first token and after the
    last. Without ``--`` or ``/*`` it holds no comment, so trimming whitespace is enough;
    otherwise the scanner says which characters are comments (a ``--`` in a string
    literal is not).
    """
    if not any(start in chunk for start in _COMMENT_STARTS):
        return len(chunk) - len(chunk.lstrip(_SPACE)), len(chunk.rstrip(_SPACE))
    tokens = [t for t in scan(chunk) if t.name not in _COMMENT_TOKENS]
    return tokens[0].start, tokens[-1].end + 1  # Token.end is inclusive


class _CharIndex:
    """Turn libpg_query's UTF-8 byte offsets into ``str`` indices of ``text``.

    Offsets are asked for in increasing order, so each call decodes only the bytes
    since the previous one; ASCII text (the usual case) needs no decoding at all.
    """

    def __init__(self, text: str) -> None:
        self._utf8 = None if text.isascii() else text.encode()
        self._byte = 0
        self._char = 0

    def __call__(self, offset: int) -> int:
        if self._utf8 is None:
            return offset
        assert offset >= self._byte, "offsets come in increasing order"
        self._char += len(self._utf8[self._byte:offset].decode())
        self._byte = offset
        return self._char


def _client_copy(statement: RawStatement) -> SplitError | None:
    """Return the refusal for a COPY that streams to or from the client without rows
    in the file, else None."""
    node = statement.node
    if not isinstance(node, ast.CopyStmt) or node.filename is not None or node.is_program:
        return None
    if node.is_from:
        if statement.data is not None:
            return None
        return SplitError(
            "COPY ... FROM STDIN without its rows: they follow the statement, ended by a "
            "line holding only '\\.'",
            statement.start,
            hint="put the rows on the lines after the statement and end them with a line "
            "'\\.' (as pg_dump writes them), or load them with INSERT statements",
        )
    return SplitError(
        "COPY ... TO STDOUT sends rows to the client, which a migration cannot receive",
        statement.start,
        hint="remove it, or write to a server file with COPY ... TO '/path/on/the/server'",
    )


def _syntax_error(text: str, exc: ParseError, position: int = 0) -> SplitError:
    """The error for ``exc``, raised parsing ``text[position:]``."""
    message, index = exc.args[0], exc.args[1]
    if index is None:  # "syntax error at end of input"
        index = max(len(text.rstrip()) - 1 - position, 0)
    index += position
    hint = None
    if text.startswith("\\", index):
        hint = ("psql meta-commands (\\c, \\set, \\i ...) are not SQL: pgkeel sends "
                "statements to PostgreSQL directly; remove them")
    return SplitError(f"PostgreSQL's parser says: {_one_line(message)}", index, hint=hint)


_NEAR = 'at or near "'
_NEAR_MAX = 40  # characters of the "at or near" excerpt kept


def _one_line(message: str) -> str:
    """Keep a parser message on one line, without echoing the rest of the SQL.

    An unterminated quote or comment makes PostgreSQL quote everything from the
    opening quote to the end of the input after "at or near"; keep the start of it.
    """
    head, near, excerpt = message.partition(_NEAR)
    if near:
        excerpt = excerpt.removesuffix('"')
        first = excerpt.split("\n", 1)[0]
        cut = first[:_NEAR_MAX]
        message = head + near + cut + ("..." if cut != excerpt else "") + '"'
    return " ".join(message.split())
