"""Linting: rules over a catalog snapshot and its rows, and over migration files."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgkeel.lint.context import CheckConfig, CheckContext, DataProbe, ProbeFailed
    from pgkeel.lint.schema import lint_database, lint_snapshot, run_rules

__all__ = ["CheckConfig", "CheckContext", "DataProbe", "ProbeFailed", "lint_database",
           "lint_snapshot", "run_rules"]

# Loaded on first use (PEP 562): the schema linter imports psycopg and the catalog
# reader, which `pgkeel lint` (the registry and the migration rules) never needs.
_HOMES = {"CheckConfig": "context", "CheckContext": "context", "DataProbe": "context",
          "ProbeFailed": "context", "lint_database": "schema", "lint_snapshot": "schema",
          "run_rules": "schema"}


def __getattr__(name: str) -> Any:
    """Import the home module of ``name`` the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
