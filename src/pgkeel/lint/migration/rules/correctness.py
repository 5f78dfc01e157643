"""Migration rules: correctness (see the package docstring)."""

from __future__ import annotations
