"""Migration rules: destructive (see the package docstring)."""

from __future__ import annotations
