"""Linting: rules over a catalog snapshot (and, later, over migration files)."""

from __future__ import annotations

from pgkeel.lint.schema import lint_snapshot

__all__ = ["lint_snapshot"]
