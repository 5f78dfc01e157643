"""pgkeel: PostgreSQL database management for application teams."""

from __future__ import annotations

# The one place the version is written: pyproject.toml reads it from here
# ([tool.setuptools.dynamic]). A literal, because importlib.metadata took ~40 ms of
# every command's start-up.
__version__ = "0.1.0"

__all__ = ["__version__"]
