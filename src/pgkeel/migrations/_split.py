"""Split SQL into statements with PostgreSQL's own parser, keeping their exact text.

pglast wraps libpg_query, the server's parser, so dollar quotes (nested tags too),
``BEGIN ATOMIC`` bodies, semicolons in strings and comments, and ``%`` signs are cut
exactly where PostgreSQL would cut them. Nothing here splits on ``;``.

One parse, kept cheap: ``pglast.parser.parse_sql_json`` builds the tree in C and hands
it over as JSON (libpg_query's ``pg_query_parse``), which gives every statement's node
type, its fields and its place in the text (``stmt_location`` / ``stmt_len``, UTF-8 byte
offsets). The Python tree (``pglast.ast``), which costs about six times as much (61 ms
against 11 ms for the 627 sections of the Harness history), is made only where a rule
reads it (``_txrules.needs_tree``, and every ``COPY`` for the client COPY refusal here),
by parsing that one statement again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql
from pglast.parser import ParseError, parse_sql_json, scan

from pgkeel.migrations._txrules import needs_tree

__all__ = ["RawStatement", "SplitError", "split_sql"]

_COMMENT_TOKENS = {"SQL_COMMENT", "C_COMMENT"}
_COMMENT_STARTS = ("--", "/*")
_SPACE = " \t\n\r\f\v"  # the scanner's {space} (scan.l): what may follow a last token


@dataclass(frozen=True, slots=True)
class RawStatement:
    """One statement: ``text[start:end]`` runs from its first token to its last.

    Leading and trailing comments and the closing ``;`` are outside the slice.
    ``kind`` is the parse node type (``"CreateStmt"``, ``"IndexStmt"`` ...); ``node``
    is its ``pglast.ast`` tree (locations in it count from ``start``) for a ``COPY`` and
    where ``_txrules.needs_tree`` says the transaction rules need it, else None, which
    those rules read as "nothing to refuse". Build one with
    ``pglast.parse_sql(text[start:end])`` if ever needed elsewhere.
    """

    start: int
    end: int
    kind: str
    node: ast.Node | None


class SplitError(Exception):
    """The SQL cannot be split or sent: ``index`` is the ``str`` index of the problem."""

    def __init__(self, message: str, index: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.index = index
        self.hint = hint


def split_sql(text: str) -> list[RawStatement]:
    """Return the statements of ``text`` in order (none for comments or blanks only).

    Raises ``SplitError`` for SQL PostgreSQL's parser rejects (with its message and the
    index it points at) and for ``COPY ... FROM STDIN`` / ``TO STDOUT``, which need a
    client-side data stream that a migration does not have.
    """
    try:
        statements = _parse(text)
    except ParseError as exc:
        raise _syntax_error(text, exc) from None
    for statement in statements:
        refusal = _client_copy(statement)
        if refusal is not None:
            raise refusal
    return statements


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
    """Return the refusal for a COPY that streams to or from the client, else None."""
    # Refused rather than supported: the rows after COPY ... FROM STDIN are psql input,
    # not SQL, so no parser can split them safely, and the same file would then mean
    # different things to psql and to PostgreSQL itself.
    node = statement.node
    if not isinstance(node, ast.CopyStmt) or node.filename is not None or node.is_program:
        return None
    if node.is_from:
        return SplitError(
            "COPY ... FROM STDIN is not supported in a migration: its rows are psql "
            "input, not SQL",
            statement.start,
            hint="load the rows with INSERT statements, with COPY ... FROM "
            "'/path/on/the/server', or with psql's \\copy outside the migration",
        )
    return SplitError(
        "COPY ... TO STDOUT sends rows to the client, which a migration cannot receive",
        statement.start,
        hint="remove it, or write to a server file with COPY ... TO '/path/on/the/server'",
    )


def _syntax_error(text: str, exc: ParseError) -> SplitError:
    message, index = exc.args[0], exc.args[1]
    if index is None:  # "syntax error at end of input"
        index = max(len(text.rstrip()) - 1, 0)
    refusal = _copy_before(text, index)
    if refusal is not None:
        return refusal  # the error is in inline rows after COPY ... FROM STDIN
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


def _copy_before(text: str, index: int) -> SplitError | None:
    """Return the COPY refusal when the text before ``index`` ends with a client COPY."""
    try:
        before = _parse(text[:index])
    except ParseError:
        return None
    return _client_copy(before[-1]) if before else None
