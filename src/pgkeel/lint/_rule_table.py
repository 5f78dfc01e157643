"""The rule-selection keys shared by ``[check]`` and ``[lint]``: ``enable``, ``disable``
and ``options``, checked against the rules a command runs.

Both tables name rule ids and rule options the same way, so one reader checks them:
every id exists, no rule is both enabled and disabled, each option is one the rule
declares (``Rule.options``) with a value of its type. Each mistake is a
``ConfigError`` naming the file, the line and the closest known names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgkeel.errors import ConfigError

if TYPE_CHECKING:
    from pgkeel.lint.rules.base import Rule

__all__ = ["RuleTable", "close_matches"]


def close_matches(word: str, known: list[str]) -> str:
    """``did you mean a, b?`` for the known names closest to ``word`` ("" when none)."""
    near = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    return f"did you mean {', '.join(near)}? " if near else ""


class RuleTable:
    """Reads the table ``name`` (``check`` or ``lint``) of the file ``path`` against
    ``rules`` (``{id: rule class}``); ``noun`` is what an unknown id is called in
    messages ("rule", "migration rule")."""

    def __init__(self, name: str, rules: Mapping[str, type[Rule]], path: Path | None,
                 noun: str = "rule") -> None:
        self.name, self.rules, self.path, self.noun = name, rules, path, noun
        self._known = sorted(rules)

    def fail(self, message: str, loc: tuple[str, ...], hint: str) -> ConfigError:
        """A ``ConfigError`` at the line of ``[name].loc`` in the file."""
        from pgkeel.config import line_of

        line = line_of(self.path, (self.name, *loc)) if self.path is not None else None
        return ConfigError(message, path=self.path, line=line, hint=hint)

    def known_id(self, rule_id: str, loc: tuple[str, ...]) -> str:
        """``rule_id``, or a ``ConfigError`` when no rule has it."""
        if rule_id not in self.rules:
            raise self.fail(f"unknown {self.noun} id {rule_id!r} in {self.name}.{loc[0]}",
                            loc, f"{close_matches(rule_id, self._known)}"
                            "`pgkeel rules` lists every rule")
        return rule_id

    def selection(self, enable: Iterable[str],
                  disable: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
        """The ``enable`` and ``disable`` ids, checked; none may be in both."""
        enabled = frozenset(self.known_id(r, ("enable",)) for r in enable)
        disabled = frozenset(self.known_id(r, ("disable",)) for r in disable)
        both = sorted(enabled & disabled)
        if both:
            raise self.fail(f"rule {both[0]!r} is both enabled and disabled in "
                            f"[{self.name}]", ("disable",),
                            f"keep it in one of {self.name}.enable and {self.name}.disable")
        return enabled, disabled

    def options(self, given: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        """``{rule id: {option: value}}`` with every value validated by its option."""
        options: dict[str, dict[str, Any]] = {}
        for rule_id, values in given.items():
            declared = self.rules[self.known_id(rule_id, ("options", rule_id))].options
            checked: dict[str, Any] = {}
            for key, value in values.items():
                loc = ("options", rule_id, key)
                if key not in declared:
                    names = ", ".join(sorted(declared)) or "none"
                    raise self.fail(f"rule {rule_id!r} has no option {key!r}", loc,
                                    f"{close_matches(key, sorted(declared))}"
                                    f"its options: {names}")
                try:
                    checked[key] = declared[key].validate(value)
                except ValueError as exc:
                    raise self.fail(f"{self.name}.options.{rule_id}.{key}: {exc}", loc,
                                    f"{key} is {declared[key].help} "
                                    f"({declared[key].describe_type()})") from None
            options[rule_id] = checked
        return options
