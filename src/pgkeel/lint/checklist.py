"""The skill's Validation Checklist items that schema rules answer.

A rule declares the item its findings answer (``Rule.checklist``); :mod:`pgkeel.check`
groups the rules by item, so adding a rule never means editing a central list.
Items answered by other features (migrations, EXPLAIN, backups, seeds) are not here.
"""

from __future__ import annotations

__all__ = ["CONSTRAINTS", "FK_INDEXES", "ITEMS", "NORMALIZATION", "RLS"]

NORMALIZATION = "Schema follows 3NF normalization"
FK_INDEXES = "All foreign keys have indexes"
CONSTRAINTS = "Constraints enforce data integrity"
#: Not in the skill's checklist, but its workflow asks for strict row-level security.
RLS = "Row Level Security is strict"

ITEMS = (NORMALIZATION, FK_INDEXES, CONSTRAINTS, RLS)
