"""Linting: rules over a catalog snapshot and its rows (and, later, migration files)."""

from __future__ import annotations

from pgkeel.lint.context import CheckConfig, CheckContext, DataProbe, ProbeFailed
from pgkeel.lint.schema import lint_database, lint_snapshot, run_rules

__all__ = ["CheckConfig", "CheckContext", "DataProbe", "ProbeFailed", "lint_database",
           "lint_snapshot", "run_rules"]
