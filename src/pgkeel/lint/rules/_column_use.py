"""Which views read a column: what stops a fix from changing the column's type.

PostgreSQL refuses ``ALTER COLUMN ... TYPE`` on a column a view or rule reads
("cannot alter type of a column used by a view or rule"; docs, "ALTER TABLE"). When
the catalog snapshot records the columns each view reads (``View.uses``, from
``pg_depend``), that is the answer; a snapshot without it is read cautiously: a view
whose definition names both the table and the column (as ``quote_ident`` writes
them) is taken to read it.
"""

from __future__ import annotations

import re

from pgkeel.catalog.model import Snapshot, Table, View
from pgkeel.lint.rules._catalog import quote_ident

__all__ = ["views_reading"]


def _names(text: str, name: str) -> bool:
    return re.search(rf'(?<![\w$"]){re.escape(quote_ident(name))}(?![\w$"])',
                     text) is not None


def _reads(view: View, table: Table, column: str) -> bool:
    uses = getattr(view, "uses", None)
    if uses:
        return any((u.schema, u.relation, u.column) == (table.schema, table.name, column)
                   for u in uses)
    # A substring test first, so the regular expressions run on few views.
    return ((table.name in view.definition or '"' in table.name)
            and _names(view.definition, table.name) and _names(view.definition, column))


def views_reading(snapshot: Snapshot, table: Table, column: str) -> tuple[View, ...]:
    """The views and materialized views that read ``table.column`` (module docstring)."""
    return tuple(v for v in snapshot.views if _reads(v, table, column))
