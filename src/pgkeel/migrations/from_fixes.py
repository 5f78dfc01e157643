"""Write the suggested fixes of findings as migrations (``check --write-migration``).

DESIGN.md principle 6: every change pgkeel proposes is a migration, reviewed, linted
and applied like one a person wrote. The fixes are split exactly as ``check --fix-sql``
splits them (:func:`pgkeel.report.fix_script.plan_fixes`):

- one migration holding every transactional statement (it runs in one transaction),
  whose down section is each finding's ``fix_down`` in reverse order;
- one ``transaction:false`` migration, one version later, holding the statements
  PostgreSQL refuses inside a transaction block (``CREATE INDEX CONCURRENTLY``...) and
  the statements of the same fix after them, with their undo as its down.

A migration whose fixes include one with no undo (``fix_down`` None) gets an empty
down section saying which finding and why, so ``migrate rollback`` refuses it instead
of undoing half. Files are written through :mod:`pgkeel.migrations._write`, the one
writer of new migration files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from pgkeel.migrations._write import MigrationDraft, write_migrations
from pgkeel.report.findings import Finding
from pgkeel.report.fix_script import FixStatement, finding_comment, plan_fixes

__all__ = ["DEFAULT_NAME", "fix_drafts", "write_fix_migrations"]

#: The migration name when the caller gives none.
DEFAULT_NAME = "check fixes"

Groups = Sequence[tuple[Finding, tuple[FixStatement, ...]]]


def _section(groups: Groups) -> str:
    lines = []
    for finding, steps in groups:
        lines.append(finding_comment(finding))
        lines.extend(s.sql for s in steps)
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _down(groups: Groups, findings: Sequence[Finding], irreversible: Iterable[Finding]
          ) -> tuple[str, bool, bool]:
    """The down section's text, whether it runs in a transaction, and whether it is a noop.

    A section whose findings are all undone elsewhere (a fix split across the two
    migrations keeps its whole undo in the second one) is ``noop:true``.
    """
    no_undo = set(irreversible)
    lost = [f for f in findings if f in no_undo]
    if lost:
        return "\n".join(
            ["-- Irreversible: no SQL undoes these fixes, so this section stays empty and",
             "-- `pgkeel migrate rollback` refuses rather than undo half of the migration."]
            + [f"{finding_comment(f)}: {_one_line(f.message)}" for f in lost]), True, False
    if not any(s.key for _f, steps in groups for s in steps):
        return ("-- Nothing to undo here: the next migration's down undoes these fixes.",
                True, True)
    tx = not any(s.non_transactional for _f, steps in groups for s in steps)
    return _section(groups), tx, False


def fix_drafts(findings: Iterable[Finding], name: str = DEFAULT_NAME
               ) -> tuple[MigrationDraft, ...]:
    """The migrations that apply the fixes of ``findings`` (none when no fix exists).

    Returns the transactional draft (named ``name``) first, then the
    ``transaction:false`` one (``name`` + " concurrently"), each present only when it
    has statements. Raises ``ValueError`` for a fix that does not parse.
    """
    plan = plan_fixes(findings)
    count = len({f for f, _ in (*plan.inside, *plan.outside)})
    header = (f"-- Written by `pgkeel check --write-migration`: fixes for {count} finding(s).\n"
              "-- Review it, then apply with `pgkeel migrate up`.")
    outside = [f for f, _ in plan.outside]
    drafts = []
    if plan.inside:
        mine = [f for f, _ in plan.inside if f not in outside]
        down, down_tx, noop = _down(plan.down_inside, mine, plan.irreversible)
        drafts.append(MigrationDraft(name, up=_section(plan.inside), down=down,
                                     header=header, down_transaction=down_tx,
                                     down_noop=noop))
    if plan.outside:
        down, down_tx, _noop = _down(plan.down_outside, outside, plan.irreversible)
        drafts.append(MigrationDraft(
            f"{name} concurrently", up=_section(plan.outside), down=down,
            header=header + "\n-- PostgreSQL refuses these inside a transaction block: "
            "each statement runs on its own.",
            up_transaction=False, down_transaction=down_tx))
    return tuple(drafts)


def write_fix_migrations(findings: Iterable[Finding], directory: Path,
                         name: str = DEFAULT_NAME, *, now: datetime | None = None
                         ) -> tuple[Path, ...]:
    """Write the fixes of ``findings`` as migrations in ``directory``; return the paths.

    See :func:`fix_drafts` for the files and :func:`~pgkeel.migrations._write.
    write_migrations` for versions (``now``, one second apart) and errors. Returns
    ``()`` and writes nothing when no finding has a fix.
    """
    drafts = fix_drafts(findings, name)
    return write_migrations(directory, drafts, now=now) if drafts else ()
