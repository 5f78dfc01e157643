"""docs/rules.md is generated from the rules' docstrings and must not drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_rule_docs.py"


def test_rules_page_matches_the_docstrings() -> None:
    spec = importlib.util.spec_from_file_location("gen_rule_docs", TOOL)
    assert spec is not None and spec.loader is not None
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.PAGE.read_text() == tool.render(), (
        "docs/rules.md is stale: run python tools/gen_rule_docs.py")
