"""Run the migration rules over files: the library side of ``pgkeel lint``.

Each section (up, then down) is read with :mod:`.source` and walked statement by
statement; every selected :class:`~pgkeel.lint.rules.base.MigrationRule` whose
``nodes`` match sees the statement with the :class:`.context.MigrationContext` of the
state before it, then the context records the statement's effects. SQL the parser
rejects becomes a ``syntax-error`` finding at its line and column; the statements
around it are still linted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts, LintSettings, MigrationContext
from pgkeel.lint.migration.source import LintSource, read_text
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity, sort_findings

__all__ = ["lint_source", "lint_text", "selected_rules"]


def selected_rules(ids: Iterable[str] | None = None) -> tuple[MigrationRule, ...]:
    """Instances of the migration rules: those in ``ids``, else every rule that is not
    opt-in. Raises ``registry.UnknownRule`` for an id no rule has."""
    if ids is None:
        return tuple(rule() for rule in registry.migration_rules() if not rule.opt_in)
    chosen = [registry.get(i) for i in ids]
    return tuple(rule() for rule in chosen if issubclass(rule, MigrationRule))


def lint_source(source: LintSource, rules: Sequence[MigrationRule], *,
                settings: LintSettings | None = None,
                catalog: CatalogFacts | None = None) -> tuple[Finding, ...]:
    """Lint every section of ``source`` with ``rules``; findings worst first.

    ``settings`` default to :class:`LintSettings` (), ``catalog`` None lints offline.
    """
    settings = settings or LintSettings()
    findings: list[Finding] = []
    syntax = any(r.id == "syntax-error" for r in rules)
    for section in source.sections:
        ctx = MigrationContext(source, section, settings, catalog)
        if syntax:
            findings += [Finding(rule="syntax-error", severity=Severity.ERROR,
                                 message=f"PostgreSQL cannot parse this: {p.message}",
                                 file=str(source.path), line=p.line, column=p.column,
                                 fix="correct the SQL at this position")
                         for p in section.problems]
        for statement in section.statements:
            for rule in rules:
                if not rule.nodes or isinstance(statement.node, rule.nodes):
                    findings += rule.check(statement, ctx)
            ctx.after(statement)
        for rule in rules:
            findings += rule.finish(ctx)
    return sort_findings(findings)


def lint_text(text: str, *, path: Path = Path("migration.sql"),
              rules: Sequence[MigrationRule] | None = None,
              settings: LintSettings | None = None,
              catalog: CatalogFacts | None = None) -> list[Finding]:
    """Lint SQL text as the file ``path`` (which need not exist); see :func:`lint_source`.

    ``rules`` default to :func:`selected_rules` ().
    """
    settings = settings or LintSettings()
    source = read_text(path, text, assume_in_transaction=settings.assume_in_transaction)
    return lint_source(source, rules if rules is not None else selected_rules(),
                       settings=settings, catalog=catalog)
