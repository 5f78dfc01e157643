"""docs/rules.md and docs/rules/ are generated from the rules' docstrings and must not
drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_rule_docs.py"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_rule_docs", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_rules_page_matches_the_docstrings() -> None:
    tool = _tool()
    assert tool.PAGE.read_text() == tool.render(), (
        "docs/rules.md is stale: run python tools/gen_rule_docs.py")


def test_one_page_per_rule_matches_the_docstrings() -> None:
    tool = _tool()
    wanted = tool.pages()
    found = {p.name: p.read_text() for p in tool.RULE_PAGES.glob("*.md")}
    assert sorted(found) == sorted(wanted), (
        "docs/rules/ has missing or stale pages: run python tools/gen_rule_docs.py")
    stale = [name for name, text in wanted.items() if found[name] != text]
    assert not stale, f"stale pages {stale[:5]}: run python tools/gen_rule_docs.py"
