"""Split SQL into statements with PostgreSQL's own parser, keeping their exact text.

pglast wraps libpg_query, the server's parser, so dollar quotes (nested tags too),
``BEGIN ATOMIC`` bodies, semicolons in strings and comments, and ``%`` signs are cut
exactly where PostgreSQL would cut them. Nothing here splits on ``;``.

``pglast.parse_sql`` returns one ``RawStmt`` per statement whose ``stmt_location`` and
``stmt_len`` pglast has already turned from UTF-8 byte offsets into ``str`` indices, so
one parse gives both the tree and the slice of the original text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from pglast import ast, parse_sql
from pglast.parser import ParseError, scan

__all__ = ["RawStatement", "SplitError", "split_sql"]

_COMMENT_TOKENS = {"SQL_COMMENT", "C_COMMENT"}


@dataclass(frozen=True, slots=True)
class RawStatement:
    """One statement: ``text[start:end]`` runs from its first token to its last.

    Leading and trailing comments and the closing ``;`` are outside the slice.
    """

    start: int
    end: int
    node: ast.Node


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
        raw = parse_sql(text)
    except ParseError as exc:
        raise _syntax_error(text, exc) from None
    statements = []
    for item in raw:
        start, node = _located(item)
        # stmt_len 0 means "to the end of the input" (a last statement without ';').
        stop = start + item.stmt_len if item.stmt_len else len(text)
        tokens = [t for t in scan(text[start:stop]) if t.name not in _COMMENT_TOKENS]
        end = start + tokens[-1].end + 1  # Token.end is inclusive
        refusal = _client_copy(node, start)
        if refusal is not None:
            raise refusal
        statements.append(RawStatement(start, end, node))
    return statements


def _client_copy(node: ast.Node, start: int) -> SplitError | None:
    """Return the refusal for a COPY that streams to or from the client, else None."""
    # Refused rather than supported: the rows after COPY ... FROM STDIN are psql input,
    # not SQL, so no parser can split them safely, and the same file would then mean
    # different things to psql and to PostgreSQL itself.
    if not isinstance(node, ast.CopyStmt) or node.filename is not None or node.is_program:
        return None
    if node.is_from:
        return SplitError(
            "COPY ... FROM STDIN is not supported in a migration: its rows are psql "
            "input, not SQL",
            start,
            hint="load the rows with INSERT statements, with COPY ... FROM "
            "'/path/on/the/server', or with psql's \\copy outside the migration",
        )
    return SplitError(
        "COPY ... TO STDOUT sends rows to the client, which a migration cannot receive",
        start,
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
    return SplitError(f"PostgreSQL's parser says: {message}", index, hint=hint)


def _copy_before(text: str, index: int) -> SplitError | None:
    """Return the COPY refusal when the text before ``index`` ends with a client COPY."""
    try:
        before = parse_sql(text[:index])
    except ParseError:
        return None
    if not before:
        return None
    start, node = _located(before[-1])
    return _client_copy(node, start)


def _located(item: ast.RawStmt) -> tuple[int, ast.Node]:
    # pglast's stubs type every field Optional; a parsed RawStmt always has both.
    return item.stmt_location or 0, cast(ast.Node, item.stmt)
