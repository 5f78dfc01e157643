"""Schema rule families; :func:`load` imports them, which registers every rule they define.

The families load on demand, not with the package: :mod:`.base` lives here, and the
migration linter (``pgkeel lint``) imports it without wanting the schema rules (and
the catalog reader they import). :func:`pgkeel.lint.registry.all_rules` calls
:func:`load`; ``from pgkeel.lint.rules import keys`` imports one family as usual.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pgkeel.lint.rules.base import InvalidRule, Rule, SchemaRule

FAMILIES = (
    "catalog_health",
    "column_constraints",
    "columns",
    "conventions",
    "indexes",
    "keys",
    "normalization",
    "policies",
    "primary_keys",
    "privileges",
    "rls",
    "row_timestamps",
    "security",
    "types",
)

__all__ = ["FAMILIES", "InvalidRule", "Rule", "SchemaRule", "load"]


def load() -> None:
    """Import every schema rule family (each registers its rules once)."""
    for family in FAMILIES:
        import_module(f"{__name__}.{family}")


def __getattr__(name: str) -> Any:
    """``InvalidRule``, ``Rule`` and ``SchemaRule`` from :mod:`.base`, loaded on use."""
    if name in ("InvalidRule", "Rule", "SchemaRule"):
        return getattr(import_module(f"{__name__}.base"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
