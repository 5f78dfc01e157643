"""Each migration rule's docstring examples: Bad is found and Good is not, offline and
against the examples' schema (``conftest.FIXTURE_SQL``) on a real server.

An example is linted as the up section of a migration (so the runner wraps it in a
transaction) unless it carries its own ``-- migrate:up`` marker. A first line
``-- example: plain`` lints it as a plain .sql file (not wrapped), and
``-- example: target-version=140002`` sets the target server version.
"""

from __future__ import annotations

import pytest

from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from pgkeel.lint.migration.engine import lint_text
from pgkeel.lint.rules.base import MigrationRule

_RULES = registry.migration_rules()


def _lint(rule: type[MigrationRule], example: str,
          catalog: CatalogFacts | None) -> list[str]:
    first = example.splitlines()[0] if example.strip() else ""
    words = first.removeprefix("-- example:").split() if first.startswith("-- example:") else []
    plain = "plain" in words
    target = next((int(w.split("=", 1)[1]) for w in words
                   if w.startswith("target-version=")), None)
    text = example if plain or "-- migrate:up" in example else \
        f"-- migrate:up\n{example}\n-- migrate:down\n"
    if target is not None:
        catalog = None  # the example is about that version, not the test server's
    settings = LintSettings(target_version=target)
    found = lint_text(text, rules=[rule()], settings=settings, catalog=catalog)
    return [f.rule for f in found]


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.id)
def test_examples_offline(rule: type[MigrationRule]) -> None:
    for bad in rule.examples("Bad"):
        assert rule.id in _lint(rule, bad, None), f"{rule.id}: Bad not found:\n{bad}"
    for good in rule.examples("Good"):
        assert rule.id not in _lint(rule, good, None), f"{rule.id}: Good found:\n{good}"


@pytest.mark.parametrize("rule", _RULES, ids=lambda r: r.id)
def test_examples_against_the_database(rule: type[MigrationRule],
                                       lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    for bad in rule.examples("Bad"):
        assert rule.id in _lint(rule, bad, catalog), f"{rule.id}: Bad not found:\n{bad}"
    for good in rule.examples("Good"):
        assert rule.id not in _lint(rule, good, catalog), f"{rule.id}: Good found:\n{good}"
