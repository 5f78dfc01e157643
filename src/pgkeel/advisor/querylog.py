"""N+1 runs and large OFFSETs in a PostgreSQL server log (``log_min_duration_statement = 0``).

The log keeps what pg_stat_statements loses: the order of statements within a
session and their constants. :func:`read_log` reads the statements of a stderr-format
log (PostgreSQL docs §20.8 "Error Reporting and Logging"): simple-protocol
``duration: ... statement: ...`` lines and extended-protocol ``execute <name>: ...``
lines with their ``DETAIL: parameters: $1 = '...'`` (``Parameters:`` from PostgreSQL
18); continuation lines begin with a tab. The session is the ``%c`` session id when
``log_line_prefix`` has one, else the process id in brackets (``[%p]``, in the
default prefix).

:func:`n_plus_one_runs` applies Sentry's N+1 detector to each session
(getsentry/sentry ``n_plus_one_db_span_detector.py``): at least
:data:`MIN_RUN` consecutive statements of one shape (pglast fingerprint: the same
statement but for its constants) with differing constants, after a "source"
statement of another shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pglast import ast
from pglast.parser import ParseError, fingerprint, parse_sql

from pgkeel.advisor.keyset import keyset_rewrite
from pgkeel.advisor.nplus1 import any_rewrite
from pgkeel.advisor.statement import param_number
from pgkeel.errors import UsageError
from pgkeel.report.findings import Finding, Severity

__all__ = ["LoggedShape", "LoggedStatement", "n_plus_one_runs", "offset_pages", "read_log",
           "shapes"]

#: Sentry's ``n_plus_one_db_count`` default: repeated statements that make a run.
MIN_RUN = 5
#: An OFFSET from this many rows is reported (proposed; the plan rule's floor).
MIN_OFFSET = 1_000

_LINE = re.compile(r"^(?P<prefix>.*?)\b(?P<level>LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|"
                   r"CONTEXT|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?):  (?P<message>.*)$")
_STATEMENT = re.compile(r"^(?:duration: (?P<ms>[\d.]+) ms  )?"
                        r"(?:statement|execute [^:]+): (?P<sql>.*)$", re.DOTALL)
_SESSION = re.compile(r"\b([0-9a-f]{6,}\.[0-9a-f]+)\b")
_PID = re.compile(r"\[(\d+)\]")
_PARAM = re.compile(r"\$(\d+) = ('(?:[^']|'')*'|NULL)")


@dataclass(frozen=True, slots=True)
class LoggedStatement:
    """One statement of the log: ``session`` its session key, ``line`` its 1-based
    line in the file, ``sql`` its text, ``duration_ms`` when logged with one,
    ``params`` the values of ``$1``.. (text, None for NULL)."""

    session: str
    line: int
    sql: str
    duration_ms: float | None
    params: tuple[str | None, ...] = ()


def _entries(lines: Iterable[str]) -> Iterator[tuple[int, str, str, str]]:
    """(line number, prefix, level, message) with continuation lines joined."""
    current: tuple[int, str, str, str] | None = None
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\n")
        if line.startswith("\t") and current is not None:
            current = (*current[:3], f"{current[3]}\n{line[1:]}")
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        if current is not None:
            yield current
        current = (number, match["prefix"], match["level"], match["message"])
    if current is not None:
        yield current


def _session(prefix: str) -> str:
    found = _SESSION.search(prefix) or _PID.search(prefix)
    return found.group(1) if found else ""


def read_log(path: Path) -> tuple[LoggedStatement, ...]:
    """Return the statements logged in ``path``, in file order.

    Raises ``OSError`` when the file cannot be read and ``UsageError`` when it holds
    no logged statement (then ``log_min_duration_statement`` was not 0, or the file
    is not a stderr-format server log).
    """
    found: list[LoggedStatement] = []
    # Per session, the statement a following "DETAIL: parameters" line belongs to: only
    # one logged right before it (a bind's parameters follow the bind line instead).
    waiting: dict[str, int] = {}
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, prefix, level, message in _entries(handle):
            session = _session(prefix)
            # "parameters:" before PostgreSQL 18, "Parameters:" since.
            if level == "DETAIL" and message[:12].lower() == "parameters: " and \
                    session in waiting:
                index = waiting.pop(session)
                last = found[index]
                values = tuple(None if v == "NULL" else v[1:-1].replace("''", "'")
                               for _, v in _PARAM.findall(message))
                found[index] = LoggedStatement(last.session, last.line, last.sql,
                                               last.duration_ms, values)
                continue
            if level != "LOG":
                continue
            waiting.pop(session, None)
            statement = _STATEMENT.match(message)
            if statement is None:
                continue
            ms = statement["ms"]
            waiting[session] = len(found)
            found.append(LoggedStatement(session, number, statement["sql"].strip(),
                                         float(ms) if ms else None))
    if not found:
        raise UsageError(f"{path}: no logged statements found",
                         hint="log them with log_min_duration_statement = 0 (stderr format)")
    return tuple(found)


def _shape(sql: str) -> str | None:
    try:
        return str(fingerprint(sql))
    except ParseError:
        return None


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 100 else text[:97] + "..."


def n_plus_one_runs(statements: Sequence[LoggedStatement], path: Path | None = None, *,
                    min_run: int = MIN_RUN) -> tuple[Finding, ...]:
    """``n-plus-one`` findings: runs of at least ``min_run`` consecutive statements of
    one shape within a session, differing in their constants.

    Each finding points at the run's first line in ``path``, names the source
    statement before it, and, when the repeated statement is a ``column = $n`` lookup,
    gives its ``= ANY($n)`` form as the fix.
    """
    by_session: dict[str, list[LoggedStatement]] = {}
    for statement in statements:
        by_session.setdefault(statement.session, []).append(statement)
    found = []
    for session in by_session.values():
        shapes = [_shape(s.sql) for s in session]
        start = 0
        while start < len(session):
            end = start
            while end + 1 < len(session) and shapes[end + 1] == shapes[start]:
                end += 1
            run = session[start:end + 1]
            distinct = {(s.sql, s.params) for s in run}
            if shapes[start] is not None and len(run) >= min_run and len(distinct) > 1:
                found.append(_run_finding(run, session[start - 1] if start else None, path))
            start = end + 1
    return tuple(found)


def _run_finding(run: Sequence[LoggedStatement], source: LoggedStatement | None,
                 path: Path | None) -> Finding:
    first = run[0]
    total = sum(s.duration_ms or 0.0 for s in run)
    message = (f"{_short(first.sql)} ran {len(run)} times in a row in one session with "
               f"different values ({total:,.2f} ms in all): an N+1 pattern")
    if source is not None:
        message += f", after {_short(source.sql)} (line {source.line})"
    message += "; fetch them in one statement (= ANY($1) with an array, or a join)"
    return Finding(rule="n-plus-one", severity=Severity.WARNING, message=message,
                   file=str(path) if path else None, line=first.line,
                   fix=any_rewrite(first.sql),
                   docs="https://www.postgresql.org/docs/current/functions-comparisons.html")


def _offset(statement: LoggedStatement) -> tuple[int, ast.SelectStmt] | None:
    try:
        raw = parse_sql(statement.sql)
    except ParseError:
        return None
    stmt = raw[0].stmt if len(raw) == 1 else None
    if not isinstance(stmt, ast.SelectStmt) or stmt.limitOffset is None:
        return None
    node = stmt.limitOffset
    text: object = None
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        text = node.val.ival
    elif isinstance(node, ast.ParamRef) and 0 < param_number(node) <= len(statement.params):
        text = statement.params[param_number(node) - 1]
    try:
        return int(str(text)), stmt
    except ValueError:
        return None


def offset_pages(statements: Sequence[LoggedStatement], path: Path | None = None, *,
                 min_offset: int = MIN_OFFSET) -> tuple[Finding, ...]:
    """``offset-pagination`` findings: one per statement shape whose OFFSET (a constant
    or a logged parameter value) reached ``min_offset`` rows, at its largest offset's
    line, with the keyset form as the fix when the ORDER BY allows one."""
    worst: dict[str, tuple[int, LoggedStatement]] = {}
    for statement in statements:
        found = _offset(statement)
        shape = _shape(statement.sql)
        if found is None or shape is None or found[0] < min_offset:
            continue
        if shape not in worst or found[0] > worst[shape][0]:
            worst[shape] = (found[0], statement)
    findings = []
    for offset, statement in worst.values():
        params = len(statement.params)
        rewrite = keyset_rewrite(statement.sql, params)
        findings.append(Finding(
            rule="offset-pagination", severity=Severity.WARNING,
            message=(f"{_short(statement.sql)} skips {offset:,} rows with OFFSET: every page "
                     "recomputes the rows before it; use keyset pagination"
                     + (f", passing the last row's {', '.join(rewrite.keys)}" if rewrite
                        else "")),
            file=str(path) if path else None, line=statement.line,
            fix=rewrite.sql if rewrite else None,
            docs="https://www.postgresql.org/docs/current/queries-limit.html"))
    return tuple(findings)


@dataclass(frozen=True, slots=True)
class LoggedShape:
    """Statements of one shape in a log: ``sql`` the first one seen, ``calls``, and
    ``total_ms`` their summed durations (ms)."""

    sql: str
    calls: int
    total_ms: float

    @property
    def mean_ms(self) -> float:
        """Mean duration per call in ms."""
        return self.total_ms / self.calls if self.calls else 0.0


def shapes(statements: Sequence[LoggedStatement]) -> tuple[LoggedShape, ...]:
    """The logged statements grouped by shape, largest total time first (what ``slow``
    shows when there is no pg_stat_statements, only a log)."""
    groups: dict[str, list[LoggedStatement]] = {}
    for statement in statements:
        groups.setdefault(_shape(statement.sql) or statement.sql, []).append(statement)
    found = [LoggedShape(group[0].sql, len(group), sum(s.duration_ms or 0.0 for s in group))
             for group in groups.values()]
    return tuple(sorted(found, key=lambda s: (-s.total_ms, s.sql)))
