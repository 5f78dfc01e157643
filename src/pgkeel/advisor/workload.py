"""A workload: the queries to advise on, each with a weight (how often it runs).

Two sources: a SQL file (:func:`read_workload_file`), one statement per query, split
by PostgreSQL's own parser (pglast), with an optional ``-- weight: N`` comment in the
text before a statement (default weight 1); and pg_stat_statements
(:func:`from_statements`), where the weight is the number of calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pglast
from pglast import ast

from pgkeel.errors import UsageError

if TYPE_CHECKING:
    from pgkeel.advisor.statements import Statement

__all__ = ["WorkloadQuery", "from_statements", "parse_workload", "read_workload_file"]

_WEIGHT = re.compile(r"--\s*weight\s*:\s*([0-9]+(?:\.[0-9]+)?)\s*$", re.IGNORECASE | re.MULTILINE)
_KINDS = (ast.SelectStmt, ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt)


@dataclass(frozen=True, slots=True)
class WorkloadQuery:
    """One query of the workload.

    ``sql`` is the statement's text (no trailing semicolon), ``weight`` how many times
    it runs in the period considered (calls; any positive number), ``label`` a short
    name shown in output (``q3`` or ``file.sql:12``), ``line`` its first line in the
    file (0 when not from a file).
    """

    sql: str
    weight: float = 1.0
    label: str = ""
    line: int = 0


def parse_workload(text: str, *, source: str = "workload") -> tuple[WorkloadQuery, ...]:
    """Split ``text`` into queries with pglast; read each ``-- weight: N`` comment.

    Only SELECT, INSERT, UPDATE and DELETE statements are workload; anything else
    (DDL, SET, transaction control) raises ``UsageError`` naming ``source`` and the line,
    as does text that does not parse or a weight of 0.
    """
    data = text.encode()
    try:
        raws = pglast.parse_sql(text)
    except pglast.parser.ParseError as exc:
        # args: (message, 0-based byte offset of the error)
        at = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], int) else None
        line = data[:at].count(b"\n") + 1 if at is not None else None
        raise UsageError(str(exc.args[0]), path=source, line=line,
                         hint="fix the SQL; statements are separated by semicolons") from exc
    queries = []
    previous_end = 0
    for raw in raws:
        start = raw.stmt_location or 0
        end = start + raw.stmt_len if raw.stmt_len else len(data)
        before = data[previous_end:start].decode()
        chunk = data[start:end].decode()
        # The statement's own text starts after any comments pglast counted in it.
        lead = len(chunk) - len(chunk.lstrip())
        line = data[: start + lead].count(b"\n") + 1
        weights = _WEIGHT.findall(before + "\n" + _leading_comments(chunk))
        weight = float(weights[-1]) if weights else 1.0
        if not isinstance(raw.stmt, _KINDS):
            raise UsageError(f"{source}:{line}: {type(raw.stmt).__name__} is not a query",
                             hint="a workload holds SELECT, INSERT, UPDATE or DELETE "
                                  "statements only")
        if weight <= 0:
            raise UsageError(f"{source}:{line}: weight must be positive",
                             hint="write e.g. -- weight: 100")
        queries.append(WorkloadQuery(_strip_comments(chunk), weight, f"{source}:{line}", line))
        previous_end = end + 1  # past the semicolon
    if not queries:
        raise UsageError(f"{source}: no queries", hint="write one SELECT per query")
    return tuple(queries)


def _leading_comments(chunk: str) -> str:
    lines = []
    for line in chunk.strip().splitlines():
        if not line.strip().startswith("--"):
            break
        lines.append(line.strip())
    return "\n".join(lines)


def _strip_comments(chunk: str) -> str:
    """The statement without its leading comment lines (kept inside the statement)."""
    lines = chunk.strip().splitlines()
    while lines and lines[0].strip().startswith("--"):
        lines.pop(0)
    return "\n".join(lines).strip()


def read_workload_file(path: Path) -> tuple[WorkloadQuery, ...]:
    """Read a workload file (UTF-8 SQL); see :func:`parse_workload`.

    Raises ``UsageError`` as :func:`parse_workload` does, naming ``path``, and
    ``OSError`` when the file cannot be read.
    """
    return parse_workload(path.read_text(encoding="utf-8"), source=str(path))


def from_statements(statements: Iterable[Statement]) -> tuple[WorkloadQuery, ...]:
    """The workload of pg_stat_statements entries: text as recorded, weight = calls.

    Entries that are not a single SELECT/INSERT/UPDATE/DELETE (utility statements,
    EXPLAIN, text pglast cannot parse, such as a truncated query) are left out.
    """
    queries = []
    for st in statements:
        text, calls = st.query, float(st.calls)
        try:
            raws = pglast.parse_sql(text)
        except pglast.parser.ParseError:
            continue
        if len(raws) != 1 or not isinstance(raws[0].stmt, _KINDS) or calls <= 0:
            continue
        queries.append(WorkloadQuery(text.strip().rstrip(";"), calls,
                                     f"queryid {st.queryid}"))
    return tuple(queries)
