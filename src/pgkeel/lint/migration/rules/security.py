"""Migration rules: security (see the package docstring)."""

from __future__ import annotations
