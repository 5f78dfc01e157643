"""Migration rules: design (see the package docstring)."""

from __future__ import annotations
