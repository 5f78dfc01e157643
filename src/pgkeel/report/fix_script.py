"""The suggested fixes of findings as a script ``psql -v ON_ERROR_STOP=1 -f`` runs as is.

Each fix is split into statements with PostgreSQL's parser (pglast, through
:mod:`pgkeel.migrations._split`; never on ``;``), and each statement is classified the
way migration files are (:mod:`pgkeel.migrations._txrules`): PostgreSQL refuses
``CREATE INDEX CONCURRENTLY``, ``REINDEX ... CONCURRENTLY``, ``VACUUM``... inside a
transaction block (SQLSTATE 25001). So the script is:

1. every fix's transactional statements, in the findings' order (worst first), in one
   ``BEGIN`` ... ``COMMIT``: all of them apply, or none;
2. then, one at a time (psql runs each in its own implicit transaction), every
   statement that cannot run in a transaction block, and the statements of the same
   fix that follow it (they may need it: ``ALTER INDEX ... ATTACH PARTITION`` after
   the partition's concurrent build).

A shared helper identical to one already in the script (a ``CREATE OR REPLACE
FUNCTION`` several fixes share, ``CREATE EXTENSION IF NOT EXISTS``) is written once; in
undo order (:attr:`FixPlan.down`) the last copy of a function's ``DROP`` is kept
instead, so a helper is dropped only after everything using it. Any other repeated
statement is kept: two type changes on columns one view reads each drop and re-create
that view, and skipping the second ``DROP VIEW`` would leave the view in the way of
the second ``ALTER TABLE``.
Every fix follows a ``-- <object> (<rule>)`` comment saying which finding it answers.

:class:`FixPlan` is the same split for ``check --write-migration`` (one transactional
migration, one ``transaction:false`` migration).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pgkeel.report.findings import Finding, sort_findings

__all__ = ["FixPlan", "FixStatement", "finding_comment", "fix_sql", "plan_fixes",
           "statements"]


@dataclass(frozen=True, slots=True)
class FixStatement:
    """One statement of a fix: ``sql`` ends with ``;`` and keeps its comments.

    ``key`` is the statement's text with whitespace collapsed (what makes two
    statements identical); ``non_transactional`` is PostgreSQL's reason it cannot run
    inside a transaction block, or None.
    """

    sql: str
    key: str
    non_transactional: str | None


@dataclass(frozen=True, slots=True)
class FixPlan:
    """Fixes of findings, split by where they can run.

    ``inside`` and ``outside`` hold ``(finding, statements)`` in run order: ``inside``
    in one transaction, ``outside`` after it, one statement at a time. ``down_inside``
    and ``down_outside`` are the undo (``Finding.fix_down``), in reverse order:
    rolling back runs ``down_outside`` first, then ``down_inside``; a fix whose
    statements are split keeps its whole undo in ``down_outside``. ``irreversible``
    lists findings with a fix but no ``fix_down``.
    """

    inside: tuple[tuple[Finding, tuple[FixStatement, ...]], ...]
    outside: tuple[tuple[Finding, tuple[FixStatement, ...]], ...]
    down_inside: tuple[tuple[Finding, tuple[FixStatement, ...]], ...]
    down_outside: tuple[tuple[Finding, tuple[FixStatement, ...]], ...]
    irreversible: tuple[Finding, ...]


def statements(text: str) -> tuple[FixStatement, ...]:
    """Split SQL ``text`` into :class:`FixStatement`s, comments kept with their statement.

    Comments before a statement stay before it; a comment on the line a statement ends
    stays after it. Raises ``ValueError`` for SQL PostgreSQL's parser rejects and for
    transaction control (BEGIN, COMMIT...), which a fix must not hold: the script owns
    the transaction.
    """
    # Imported here: the migrations package costs ~150 ms that reports without fixes
    # (JSON, SARIF) would pay for nothing.
    from pgkeel.migrations._split import SplitError, split_sql
    from pgkeel.migrations._txrules import is_transaction_control, non_transactional_reason

    try:
        raw = split_sql(text)
    except SplitError as exc:  # a fix pgkeel wrote that does not parse: a rule's bug
        raise ValueError(f"a fix does not parse: {exc.message}") from None
    found: list[FixStatement] = []
    begin = 0
    for i, item in enumerate(raw):
        if is_transaction_control(item.node):
            raise ValueError(f"a fix controls the transaction: {text[item.start:item.end]}")
        semi = text.find(";", item.end)
        following = raw[i + 1].start if i + 1 < len(raw) else len(text)
        if semi < 0 or semi >= following:
            tail, cut = ";", item.end
        else:
            line_end = text.find("\n", semi)
            cut = min(len(text) if line_end < 0 else line_end, following)
            tail = text[item.end:cut]
        if i + 1 == len(raw):
            tail += text[cut:] if text[cut:].strip() else ""
        body = text[begin:item.start].lstrip("\n") + text[item.start:item.end] + tail
        found.append(FixStatement(body.rstrip(), " ".join(text[item.start:item.end].split()),
                                  non_transactional_reason(item.node)))
        begin = cut
    return tuple(found)


def plan_fixes(findings: Iterable[Finding]) -> FixPlan:
    """Split the fixes of ``findings`` (worst first) into a :class:`FixPlan`.

    Findings without a fix are left out. Raises ``ValueError`` for a fix that does
    not parse or controls the transaction.
    """
    fixed = [f for f in sort_findings(findings) if f.fix]
    inside: list[tuple[Finding, tuple[FixStatement, ...]]] = []
    outside: list[tuple[Finding, tuple[FixStatement, ...]]] = []
    split: set[int] = set()
    for number, finding in enumerate(fixed):
        steps = statements(finding.fix or "")
        first = next((i for i, s in enumerate(steps) if s.non_transactional), len(steps))
        if first:
            inside.append((finding, steps[:first]))
        if first < len(steps):
            outside.append((finding, steps[first:]))
            split.add(number)
    down_inside: list[tuple[Finding, tuple[FixStatement, ...]]] = []
    down_outside: list[tuple[Finding, tuple[FixStatement, ...]]] = []
    for number, finding in reversed(list(enumerate(fixed))):
        if finding.fix_down:
            (down_outside if number in split else down_inside).append(
                (finding, statements(finding.fix_down)))
    return FixPlan(
        inside=_once(inside), outside=_once(outside, seen=_keys(inside)),
        down_inside=_once(down_inside, last=True),
        down_outside=_once(down_outside, last=True, later=_keys(down_inside)),
        irreversible=tuple(f for f in fixed if not f.fix_down))


@functools.cache  # a pure function of the text; plan_fixes asks for each key often
def _shared_helper(key: str) -> bool:
    """True for a statement that fixes share and that is written once (module docstring).

    Only these: a ``CREATE OR REPLACE FUNCTION``/``PROCEDURE``, a ``DROP`` of a
    function, procedure or routine, ``CREATE EXTENSION IF NOT EXISTS``. Skipping a
    repeat of them changes nothing; skipping a repeat of a ``DROP VIEW`` that a
    ``CREATE VIEW`` undid in between would.
    """
    from pglast import parse_sql
    from pglast.enums import ObjectType

    stmt = parse_sql(key)[0].stmt
    kind = type(stmt).__name__
    if kind == "CreateFunctionStmt":
        return bool(stmt.replace)
    if kind == "DropStmt":
        return stmt.removeType in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE,
                                   ObjectType.OBJECT_ROUTINE)
    return kind == "CreateExtensionStmt" and bool(stmt.if_not_exists)


def _keys(groups: Sequence[tuple[Finding, tuple[FixStatement, ...]]]) -> set[str]:
    return {s.key for _f, steps in groups for s in steps if s.key and _shared_helper(s.key)}


def _once(groups: Sequence[tuple[Finding, tuple[FixStatement, ...]]], *, last: bool = False,
          seen: set[str] | None = None, later: set[str] | None = None
          ) -> tuple[tuple[Finding, tuple[FixStatement, ...]], ...]:
    """Drop shared helpers identical to one kept elsewhere: the first copy (or the last).

    Only :func:`_shared_helper` statements are dropped; other repeats are kept.
    """
    seen = set(seen or ())
    ordered = list(reversed(groups)) if last else list(groups)
    if last:
        seen |= later or set()
    kept: list[tuple[Finding, tuple[FixStatement, ...]]] = []
    for finding, steps in ordered:
        mine = []
        for step in (reversed(steps) if last else steps):
            if step.key in seen:
                once = f"-- (run once for all fixes: {_first_line(step.key)})"
                mine.append(FixStatement(once, "", None))
                continue
            if step.key and _shared_helper(step.key):
                seen.add(step.key)
            mine.append(step)
        kept.append((finding, tuple(reversed(mine)) if last else tuple(mine)))
    return tuple(reversed(kept)) if last else tuple(kept)


def _first_line(key: str) -> str:
    return key if len(key) <= 70 else key[:67] + "..."


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def finding_comment(finding: Finding) -> str:
    """``-- <object> (<rule>)``: which finding a fix answers, on one line.

    Line breaks in the object's name are shown as ``\\n`` so no name can end the
    comment and turn into SQL.
    """
    where = finding.object or finding.file or "-"
    return f"-- {_one_line(where)} ({finding.rule})"


def _render(groups: Sequence[tuple[Finding, tuple[FixStatement, ...]]],
            note: bool = False) -> list[str]:
    lines = []
    for finding, steps in groups:
        reason = next((s.non_transactional for s in steps if s.non_transactional), None)
        comment = finding_comment(finding)
        if note and reason:
            comment += f": {reason}"
        lines.append(comment)
        lines.extend(s.sql for s in steps)
    return lines


#: How long a fix statement waits for a lock before the script stops (never forever
#: behind a long transaction, with every later query queued behind the wait).
LOCK_TIMEOUT = "5s"


def fix_sql(findings: Iterable[Finding]) -> str:
    """The fixes of ``findings`` as one psql script ("" when none has a fix).

    Transactional statements first, in one ``BEGIN``/``COMMIT``; then each statement
    PostgreSQL refuses in a transaction block (module docstring). Run it with
    ``psql -v ON_ERROR_STOP=1 -f``. Raises ``ValueError`` for a fix that does not
    parse or controls the transaction.
    """
    plan = plan_fixes(findings)
    if not plan.inside and not plan.outside:
        return ""
    lines = ["-- Fixes suggested by pgkeel check. Review before running, then:",
             "--   psql -v ON_ERROR_STOP=1 -f THIS_FILE",
             "-- Locks taken inside BEGIN ... COMMIT are held until COMMIT: on a busy",
             "-- database prefer `pgkeel check --write-migration` and `pgkeel migrate up`.",
             "-- A statement that waits longer than lock_timeout for a lock fails, and",
             "-- ON_ERROR_STOP then ends the script with nothing of the transaction kept",
             "-- (PostgreSQL docs, 20.11 Client Connection Defaults: lock_timeout).",
             f"SET lock_timeout = '{LOCK_TIMEOUT}';"]
    if plan.inside:
        lines += ["BEGIN;", *_render(plan.inside), "COMMIT;"]
    if plan.outside:
        lines += ["-- PostgreSQL refuses these inside a transaction block: psql runs each "
                  "on its own.", *_render(plan.outside, note=True)]
    return "\n".join(lines) + "\n"
