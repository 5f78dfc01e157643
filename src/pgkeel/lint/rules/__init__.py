"""Rule families; importing this package registers every rule they define."""

from __future__ import annotations

from pgkeel.lint.rules import (
    catalog_health,
    column_constraints,
    columns,
    conventions,
    indexes,
    keys,
    normalization,
    policies,
    primary_keys,
    privileges,
    rls,
    row_timestamps,
    security,
    types,
)
from pgkeel.lint.rules.base import InvalidRule, Rule, SchemaRule

__all__ = [
    "InvalidRule",
    "Rule",
    "SchemaRule",
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
]
