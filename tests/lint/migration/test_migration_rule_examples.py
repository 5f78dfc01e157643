"""Each migration rule's docstring examples: Bad is found and Good is not, offline and
against the examples' schema (``conftest.FIXTURE_SQL``) on a real server.

An example is linted as the up section of a migration (so the runner wraps it in a
transaction) unless it carries its own ``-- migrate:up`` marker. A first line
``-- example: plain`` lints it as a plain .sql file (not wrapped), and
``-- example: target-version=140002`` sets the target server version. What only a
live database knows is given as words too: ``path=NAME`` lints the example as the file
``NAME``; ``applied=VERSION`` and ``modified=VERSION`` make the history hold that
version, applied from this text or from another; ``blocking=schema.table:ModeLock``
makes a session hold that lock now.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkeel.catalog.model import Snapshot
from pgkeel.lint import registry
from pgkeel.lint.migration.context import Blocker, CatalogFacts, LintSettings
from pgkeel.lint.migration.engine import lint_text
from pgkeel.lint.migration.locks import mode_named
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.migrations.files import checksum

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
    path = next((Path(w.split("=", 1)[1]) for w in words if w.startswith("path=")),
                Path("migration.sql"))
    catalog = _live(words, text, catalog)
    settings = LintSettings(target_version=target)
    found = lint_text(text, path=path, rules=[rule()], settings=settings, catalog=catalog)
    return [f.rule for f in found]


def _live(words: list[str], text: str, catalog: CatalogFacts | None) -> CatalogFacts | None:
    """``catalog`` with the history and sessions an example's words describe."""
    applied = {w.split("=", 1)[1]: checksum(text.encode()) for w in words
               if w.startswith("applied=")}
    applied |= {w.split("=", 1)[1]: "0" * 64 for w in words if w.startswith("modified=")}
    blocking: dict[str, tuple[Blocker, ...]] = {}
    for word in words:
        if word.startswith("blocking="):
            table, _, mode = word.split("=", 1)[1].partition(":")
            blocking[table] = (Blocker(0, mode_named(mode), True,
                                       f"pid 0 (the example's session) holds {mode}"),)
    if not applied and not blocking:
        return catalog
    snap = catalog.snapshot if catalog is not None else Snapshot(
        database="example", server_version="18.0", server_version_num=180000, schemas=(),
        tables=(), views=(), sequences=(), functions=(), extensions=())
    return CatalogFacts(snap, blocking=blocking, applied=applied)


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
