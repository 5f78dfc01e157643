"""What a statement given to ``explain`` is: one explainable statement, read with pglast.

:func:`read_statement` parses the text with PostgreSQL's own parser (pglast), requires
exactly one statement, refuses utility and transaction-control statements (only
``SELECT``, ``INSERT``, ``UPDATE``, ``DELETE`` and ``MERGE`` are plannable, PostgreSQL
docs, EXPLAIN), and says whether running it would write: a data-modifying statement,
a data-modifying ``WITH``, ``SELECT ... FOR UPDATE``/``SHARE`` (row locks), or
``SELECT ... INTO`` (which creates a table, and is refused). It also finds the
``$n`` parameters and, for each, the column it is compared with, so that values can be
sampled from that column's statistics.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pglast import ast
from pglast.parser import ParseError, parse_sql

from pgkeel.errors import UsageError

__all__ = ["ParamColumn", "SqlStatement", "param_number", "read_statement", "walk"]

_PLANNABLE = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)
_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.MergeStmt)


def param_number(node: ast.ParamRef) -> int:
    """The n of ``$n`` (0 when the parser left it unset, which it never does)."""
    return node.number or 0


def walk(node: Any) -> Iterator[ast.Node]:
    """Every pglast node in ``node``'s tree, parents before children."""
    if isinstance(node, ast.Node):
        yield node
        for name in getattr(node, "__slots__", ()):
            yield from walk(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)


@dataclass(frozen=True, slots=True)
class ParamColumn:
    """The column a ``$n`` parameter is compared with: ``schema`` (None when the query
    leaves it to ``search_path``), ``table`` and ``column`` names as the parser read
    them (unquoted names folded to lower case)."""

    number: int
    schema: str | None
    table: str
    column: str

    @property
    def where(self) -> str:
        """``schema.table.column`` or ``table.column``, for messages."""
        return ".".join(p for p in (self.schema, self.table, self.column) if p)


@dataclass(frozen=True, slots=True)
class SqlStatement:
    """One explainable statement.

    ``text`` is the statement without its trailing semicolon or surrounding comments;
    ``kind`` ``select``, ``insert``, ``update``, ``delete`` or ``merge``; ``writes``
    whether executing it changes data or takes row locks; ``params`` the number of
    ``$n`` parameters (the highest n); ``param_columns`` the columns parameters are
    compared with, where the query says so; ``tree`` the pglast statement node.
    """

    text: str
    kind: str
    writes: bool
    params: int
    param_columns: tuple[ParamColumn, ...]
    tree: ast.Node


def _tables(stmt: ast.Node) -> dict[str, tuple[str | None, str]]:
    """Alias or name -> (schema, name) as written, for every table in the statement."""
    names: dict[str, tuple[str | None, str]] = {}
    for node in walk(stmt):
        if isinstance(node, ast.RangeVar) and node.relname:
            full = (node.schemaname or None, str(node.relname))
            names.setdefault(node.relname, full)
            if node.alias is not None and node.alias.aliasname:
                names[node.alias.aliasname] = full
    return names


def _param_columns(stmt: ast.Node) -> tuple[ParamColumn, ...]:
    tables = _tables(stmt)
    only = next(iter(set(tables.values()))) if len(set(tables.values())) == 1 else None
    found: dict[int, ParamColumn] = {}
    for node in walk(stmt):
        if not isinstance(node, ast.A_Expr):
            continue
        sides = [node.lexpr, node.rexpr]
        if isinstance(node.rexpr, list | tuple):  # x IN ($1, $2) or BETWEEN $1 AND $2
            sides = [node.lexpr, *node.rexpr]
        params = [s for s in sides if isinstance(s, ast.ParamRef)]
        column = next((s for s in sides if isinstance(s, ast.ColumnRef)), None)
        if column is None or not params:
            continue
        fields = [str(f.sval) for f in column.fields or () if isinstance(f, ast.String)]
        if not fields:
            continue
        table = tables.get(fields[-2]) if len(fields) >= 2 else only
        if table is None:
            continue
        for param in params:
            number = param_number(param)
            found.setdefault(number, ParamColumn(number, table[0], table[1], fields[-1]))
    return tuple(found[n] for n in sorted(found))


def read_statement(text: str) -> SqlStatement:
    """Parse ``text`` and return the one explainable statement in it.

    Raises ``UsageError`` (exit 2) when it does not parse (naming the position), holds
    no statement or more than one, is not ``SELECT``/``INSERT``/``UPDATE``/``DELETE``/
    ``MERGE`` (a utility or transaction-control statement), or is ``SELECT ... INTO``.
    """
    try:
        raw = parse_sql(text)
    except ParseError as exc:
        raise UsageError(f"the statement does not parse: {exc}",
                         hint="give one SQL statement PostgreSQL accepts") from None
    if len(raw) != 1:
        raise UsageError(f"expected exactly one statement, found {len(raw)}",
                         hint="explain one statement at a time")
    stmt = raw[0].stmt
    if not isinstance(stmt, _PLANNABLE):
        raise UsageError(f"{type(stmt).__name__} cannot be explained: only SELECT, INSERT, "
                         "UPDATE, DELETE and MERGE have a plan",
                         hint="give the query itself, without BEGIN/COMMIT or DDL")
    if isinstance(stmt, ast.SelectStmt) and stmt.intoClause is not None:
        raise UsageError("SELECT ... INTO creates a table", hint="explain the SELECT alone")
    # pglast gives the statement's place in characters of ``text`` (it converts
    # libpg_query's byte offsets); a length of 0 means "to the end".
    start = raw[0].stmt_location or 0
    length = raw[0].stmt_len or len(text) - start
    body = text[start:start + length].strip()
    writes = any(isinstance(n, _WRITES) for n in walk(stmt)) or any(
        isinstance(n, ast.SelectStmt) and n.lockingClause for n in walk(stmt))
    numbers = [param_number(n) for n in walk(stmt) if isinstance(n, ast.ParamRef)]
    kind = type(stmt).__name__.removesuffix("Stmt").lower()
    return SqlStatement(text=body, kind=kind, writes=writes, params=max(numbers, default=0),
                        param_columns=_param_columns(stmt), tree=stmt)
