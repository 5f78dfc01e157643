"""Every per-rule option a rule reads is declared in its ``options``, so `[check]`
accepts it and `pgkeel rules ID` documents it (read from the rules' source)."""

from __future__ import annotations

import ast
from pathlib import Path

from pgkeel.lint import registry

RULES_DIR = Path(registry.__file__).resolve().parent / "rules"


def _read_options() -> dict[str, set[str]]:
    """``{rule id: option keys its class body reads with .option(_, "key", _)}``."""
    found: dict[str, set[str]] = {}
    for path in RULES_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ClassDef):
                continue
            rule_id = next((a.value.value for a in node.body if isinstance(a, ast.Assign)
                            and any(isinstance(t, ast.Name) and t.id == "id" for t in a.targets)
                            and isinstance(a.value, ast.Constant)), None)
            if not isinstance(rule_id, str):
                continue
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr == "option" and len(call.args) >= 2
                        and isinstance(call.args[1], ast.Constant)):
                    found.setdefault(rule_id, set()).add(str(call.args[1].value))
    return found


def test_options_read_are_declared() -> None:
    for rule_id, keys in _read_options().items():
        declared = set(registry.get(rule_id).options)
        assert keys <= declared, f"{rule_id} reads undeclared options {sorted(keys - declared)}"


def test_declared_defaults_fit_their_types() -> None:
    for rule in registry.all_rules():
        for key, option in rule.options.items():
            assert option.validate(option.default) == option.default, (rule.id, key)
