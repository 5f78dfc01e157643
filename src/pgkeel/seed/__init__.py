"""Development data: generated rows that satisfy the schema (:func:`fill`)."""

from __future__ import annotations

from pgkeel.seed._order import CycleError
from pgkeel.seed.generate import FillReport, TableFill, fill

__all__ = ["CycleError", "FillReport", "TableFill", "fill"]
