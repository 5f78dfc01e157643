"""The rule registry: every rule class, by id, registered once when it is defined.

Rule classes call :func:`register` from ``Rule.__init_subclass__``, so defining a rule
is all it takes to make it known; :func:`all_rules` imports the rule families first so
callers never see a half-filled registry. This module imports no rule and no engine,
so rules can import it without cycles (STYLE.md, "What this means for pgkeel" 2).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgkeel.lint.rules.base import Rule, SchemaRule

__all__ = ["DuplicateRule", "UnknownRule", "all_rules", "get", "register", "schema_rules"]

_RULES: dict[str, type[Rule]] = {}


class DuplicateRule(TypeError):
    """Two rule classes declare the same id."""


class UnknownRule(KeyError):
    """No rule has the id asked for."""


def register(rule: type[Rule]) -> None:
    """Add ``rule`` under its id.

    Raises ``DuplicateRule`` when another class already holds that id (re-running the
    same class definition, as a module reload does, replaces it).
    """
    known = _RULES.get(rule.id)
    if known is not None and known.__qualname__ != rule.__qualname__:
        raise DuplicateRule(
            f"rule id {rule.id!r} is declared by both {known.__module__}.{known.__qualname__}"
            f" and {rule.__module__}.{rule.__qualname__}"
        )
    _RULES[rule.id] = rule


def _load() -> None:
    # Importing the packages imports every family module, whose classes register.
    importlib.import_module("pgkeel.lint.rules")
    importlib.import_module("pgkeel.advisor.plan_rules")


def all_rules() -> tuple[type[Rule], ...]:
    """Every registered rule, sorted by id."""
    _load()
    return tuple(_RULES[k] for k in sorted(_RULES))


def schema_rules() -> tuple[type[SchemaRule], ...]:
    """The rules that audit a catalog snapshot, sorted by id."""
    from pgkeel.lint.rules.base import SchemaRule

    return tuple(r for r in all_rules() if issubclass(r, SchemaRule))


def get(rule_id: str) -> type[Rule]:
    """Return the rule ``rule_id``; raises ``UnknownRule`` when there is none."""
    _load()
    try:
        return _RULES[rule_id]
    except KeyError:
        raise UnknownRule(rule_id) from None
