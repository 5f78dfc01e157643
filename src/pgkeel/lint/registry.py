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
    from pgkeel.lint.rules.base import MigrationRule, Rule, SchemaRule

__all__ = ["DuplicateRule", "UnknownRule", "all_rules", "get", "migration_rules", "register",
           "schema_rules"]

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


def _load(packages: tuple[str, ...] = ("pgkeel.lint.rules", "pgkeel.lint.migration.rules")) -> None:
    # Importing a package imports every family module, whose classes register. The
    # migration rules are a package of their own so `pgkeel lint` loads only them.
    for package in packages:
        module = importlib.import_module(package)
        loader = getattr(module, "load", None)
        if loader is not None:  # pgkeel.lint.rules loads its families on demand
            loader()


def all_rules() -> tuple[type[Rule], ...]:
    """Every registered rule, sorted by id."""
    _load()
    return tuple(_RULES[k] for k in sorted(_RULES))


def schema_rules() -> tuple[type[SchemaRule], ...]:
    """The rules that audit a catalog snapshot, sorted by id."""
    from pgkeel.lint.rules.base import SchemaRule

    return tuple(r for r in all_rules() if issubclass(r, SchemaRule))


def migration_rules() -> tuple[type[MigrationRule], ...]:
    """The rules that lint migration files, sorted by id."""
    from pgkeel.lint.rules.base import MigrationRule

    _load(("pgkeel.lint.migration.rules",))
    return tuple(_RULES[k] for k in sorted(_RULES) if issubclass(_RULES[k], MigrationRule))


def get(rule_id: str) -> type[Rule]:
    """Return the rule ``rule_id``; raises ``UnknownRule`` when there is none."""
    _load()
    try:
        return _RULES[rule_id]
    except KeyError:
        raise UnknownRule(rule_id) from None
