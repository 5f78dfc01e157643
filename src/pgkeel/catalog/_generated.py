"""Names PostgreSQL makes up, and what an object means without its name.

When a statement does not name a constraint or an index, PostgreSQL builds the name
from the table, the columns and a label, and appends a number when that name is taken:
``orders_pkey``, ``orders_email_key``, ``orders_customer_id_fkey``,
``orders_total_check``, ``orders_lower_idx``, ``orders_id_seq1`` (``ChooseRelationName``
and ``ChooseConstraintName`` in PostgreSQL's ``src/backend/commands/indexcmds.c`` and
``src/backend/catalog/pg_constraint.c``; every part is cut so the whole fits in
``NAMEDATALEN - 1`` = 63 bytes). Two catalogs that differ only in such names hold the
same schema: :func:`looks_generated` recognises them, and the ``meaning_of_*`` functions
give the value an object is compared by once its name is set aside.
"""

from __future__ import annotations

import re
from dataclasses import replace

from pgkeel.catalog.model import CheckConstraint, ForeignKey, Index, UniqueConstraint

__all__ = ["looks_generated", "meaning_of_check", "meaning_of_foreign_key",
           "meaning_of_index", "meaning_of_unique"]

# The labels PostgreSQL appends (DefineIndex, AddRelationNewConstraints,
# ATExecAddConstraint, transformIndexConstraint; serial sequences in
# transformColumnDefinition; 18's named NOT NULL constraints).
_LABEL = re.compile(r"_(pkey|key|fkey|check|excl|idx|seq|not_null)\d*$")
_NAMEDATALEN = 64


def looks_generated(name: str, table: str) -> bool:
    """Whether ``name`` has the shape PostgreSQL gives an unnamed object of ``table``.

    ``table`` is the bare table name. True when ``name`` starts with the table's name
    (or the part of it that survived truncation) followed by ``_`` and ends with one of
    PostgreSQL's labels and an optional number.
    """
    if not _LABEL.search(name):
        return False
    if name.startswith(f"{table}_"):
        return True
    # Truncated: ChooseRelationName shortens the longer of table and columns first, so
    # a long name may start with only the first part of the table's name.
    return len(name.encode()) >= _NAMEDATALEN - 4 and any(
        table.startswith(name[:i]) for i, char in enumerate(name) if char == "_" and i)


def _without_name(definition: str, name: str) -> str:
    """``pg_get_indexdef`` text with the index's own name taken out."""
    for quoted in (f'"{name}"', name):
        marker = f" {quoted} ON "
        if marker in definition:
            return definition.replace(marker, " ON ", 1)
    return definition


def meaning_of_index(index: Index) -> Index:
    """``index`` without its name, its size, its usage and its build state."""
    return replace(index, name="", definition=_without_name(index.definition, index.name),
                   size_bytes=0, scans=None, building=False,
                   constraint="" if index.constraint is not None else None)


def meaning_of_unique(constraint: UniqueConstraint) -> UniqueConstraint:
    """A PRIMARY KEY or UNIQUE constraint without its name."""
    return replace(constraint, name="")


def meaning_of_check(constraint: CheckConstraint) -> CheckConstraint:
    """A CHECK constraint without its name."""
    return replace(constraint, name="")


def meaning_of_foreign_key(key: ForeignKey) -> ForeignKey:
    """A FOREIGN KEY without its name and the name of the index it depends on.

    PostgreSQL picks that index itself, among the referenced table's unique indexes on
    exactly the referenced columns (``transformFkeyCheckAttrs``), so it is no choice of
    the schema's author.
    """
    return replace(key, name="", ref_index=None)
