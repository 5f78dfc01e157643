"""Lint a snippet with one migration rule, the way the rule tests need it."""

from __future__ import annotations

from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from pgkeel.lint.migration.engine import lint_text
from pgkeel.report.findings import Finding


def lint_one(rule_id: str, sql: str, *, catalog: CatalogFacts | None = None,
             settings: LintSettings | None = None, wrap: bool = True) -> list[Finding]:
    """Findings of rule ``rule_id`` on ``sql`` (wrapped as the up section of a
    migration unless ``wrap`` is False or it has its own markers)."""
    text = f"-- migrate:up\n{sql}\n-- migrate:down\n" if wrap and "-- migrate:" not in sql \
        else sql
    rule = registry.get(rule_id)
    return [f for f in lint_text(text, rules=[rule()], settings=settings, catalog=catalog)
            if f.rule == rule_id]
