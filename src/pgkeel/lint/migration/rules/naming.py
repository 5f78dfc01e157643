"""Migration rules: naming (see the package docstring)."""

from __future__ import annotations
