"""``-- pgkeel:disable RULE[, RULE] -- reason`` comments: findings a team chose to accept.

A suppression comment names one or more rule ids and, after a second ``--``, why the
finding is accepted::

    -- pgkeel:disable require-concurrent-index -- the table is empty until release 4.2
    CREATE INDEX t_b_idx ON t (b);

- On the line right before a statement, it silences those rules' findings on that
  statement (the statement must start on the next line, so a comment cannot drift
  away from what it excuses).
- Before the file's first statement and *not* on the line right before it (a blank
  line or the ``-- migrate:up`` marker in between), it silences them for the whole
  file.

A comment without a reason, or naming a rule that does not exist, is itself reported
(rule ``bad-suppression``): an unexplained exception is how a real risk slips through
review. Comments are found with PostgreSQL's own scanner (``pglast.parser.scan``,
``SQL_COMMENT`` tokens), so the same words inside a string literal or a function body
do not count; when the scanner rejects the file (an unterminated quote, already a
``syntax-error``), whole lines starting with ``--`` are read instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pglast.parser import ParseError, scan

from pgkeel.lint.migration.source import LintSource
from pgkeel.report.findings import Finding

__all__ = ["MARK", "Suppression", "apply", "find"]

MARK = "pgkeel:disable"
_COMMENT = re.compile(r"^[ \t]*(--[^\n]*)$", re.MULTILINE)
_IDS = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class Suppression:
    """One ``pgkeel:disable`` comment.

    ``rules`` are the ids it names; ``reason`` the text after the second ``--`` ("" when
    missing); ``line``/``column`` where the comment starts (1-based); ``whole_file``
    True when it covers the file, else ``statement_line`` is the line of the statement
    it covers (None when no statement follows it on the next line: it covers nothing).
    """

    rules: frozenset[str]
    reason: str
    line: int
    column: int
    whole_file: bool
    statement_line: int | None = None


def _comments(text: str) -> Iterable[tuple[str, int, int]]:
    """``(comment, line, column)`` of every ``--`` comment holding :data:`MARK`."""
    try:
        tokens = scan(text)
    except ParseError:
        for match in _COMMENT.finditer(text):
            if MARK in match.group(1):
                start = match.start(1)
                line = text.count("\n", 0, start) + 1
                yield match.group(1), line, start - (text.rfind("\n", 0, start) + 1) + 1
        return
    for token in tokens:  # positions are characters, end inclusive
        if token.name != "SQL_COMMENT":
            continue
        comment = text[token.start:token.end + 1]
        if MARK in comment:
            column = token.start - text.rfind("\n", 0, token.start)
            yield comment, text.count("\n", 0, token.start) + 1, column


def find(source: LintSource) -> tuple[Suppression, ...]:
    """Every suppression comment of ``source``, in file order ("" reason when none)."""
    if MARK not in source.text:  # the common case costs one substring search
        return ()
    starts = sorted({s.line for section in source.sections for s in section.statements})
    first = starts[0] if starts else None
    found = []
    for comment, line, column in _comments(source.text):
        body = comment[2:].strip()
        if not body.startswith(MARK):
            continue
        ids, _, reason = body[len(MARK):].partition("--")
        rules = frozenset(i for i in _IDS.split(ids.strip()) if i)
        whole = first is None or (line < first and first != line + 1)
        following = line + 1 if (line + 1) in starts else None
        found.append(Suppression(rules, reason.strip(), line, column, whole,
                                 None if whole else following))
    return tuple(found)


def apply(findings: Sequence[Finding], suppressions: Sequence[Suppression]) -> list[Finding]:
    """``findings`` without those a suppression covers (same rule; whole file, or the
    covered statement's line). Findings of ``bad-suppression`` are never silenced."""
    if not suppressions:
        return list(findings)
    everywhere = frozenset().union(*(s.rules for s in suppressions if s.whole_file))
    by_line: dict[int, frozenset[str]] = {}
    for s in suppressions:
        if s.statement_line is not None:
            by_line[s.statement_line] = by_line.get(s.statement_line, frozenset()) | s.rules
    return [f for f in findings
            if f.rule == "bad-suppression"
            or (f.rule not in everywhere and f.rule not in by_line.get(f.line or 0, ()))]
