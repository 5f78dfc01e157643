"""The database's structure as immutable data: :func:`read_snapshot` and the model.

:func:`snapshot` reads an open connection, :func:`read_snapshot` a URL; both return a
:class:`Snapshot` (see :mod:`pgkeel.catalog.model`) that serialises to JSON and back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pgkeel.catalog.model import (
    CheckConstraint,
    Column,
    Domain,
    Enum,
    Extension,
    FkAction,
    ForeignKey,
    Function,
    Grant,
    Index,
    Policy,
    Role,
    Schema,
    Sequence,
    Snapshot,
    Table,
    Trigger,
    UniqueConstraint,
    View,
    ViewUse,
)

__all__ = [
    "CheckConstraint",
    "Column",
    "Domain",
    "Enum",
    "Extension",
    "FkAction",
    "ForeignKey",
    "Function",
    "Grant",
    "Index",
    "Policy",
    "Role",
    "Schema",
    "Sequence",
    "Snapshot",
    "Table",
    "Trigger",
    "UniqueConstraint",
    "View",
    "ViewUse",
    "read_snapshot",
    "snapshot",
]

if TYPE_CHECKING:
    from pgkeel.catalog.introspect import read_snapshot, snapshot


def __getattr__(name: str) -> Any:
    # The readers need psycopg; the model alone (what `pgkeel lint FILE` uses) does not.
    if name in ("read_snapshot", "snapshot"):
        from pgkeel.catalog import introspect

        return getattr(introspect, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
