"""Orders between columns that real rows keep without a CHECK saying so.

A row created after it was updated, or ending before it starts, is valid to the
schema but not what an application ever writes, and queries over such data (``WHERE
updated_at > created_at``) then test nothing. The pairs are the conventional column
names (Rails ``created_at``/``updated_at`` timestamps, Django's ``auto_now_add``/
``auto_now`` pair, ``starts_at``/``ends_at`` ranges); the generator swaps the two
values of a row that come out the wrong way round (:class:`ColumnOrder`, as for a
CHECK ``a <= b``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pgkeel.seed._checks import ColumnOrder

__all__ = ["natural_orders"]

# (earlier, later): first the column that holds the earlier moment.
_PAIRS = (
    ("created_at", "updated_at"), ("created_at", "deleted_at"), ("created", "updated"),
    ("created_on", "updated_on"), ("inserted_at", "updated_at"),
    ("starts_at", "ends_at"), ("start_at", "end_at"), ("start_date", "end_date"),
    ("started_at", "finished_at"), ("started_at", "ended_at"), ("valid_from", "valid_to"),
    ("valid_from", "valid_until"), ("birth_date", "death_date"),
    ("order_date", "shipped_date"), ("order_date", "required_date"),
    ("rental_date", "return_date"),
)


def natural_orders(columns: Iterable[str]) -> list[ColumnOrder]:
    """``earlier <= later`` for each conventional pair of ``columns`` (names as in the
    table) that are both present."""
    present = set(columns)
    return [ColumnOrder(a, "<=", b) for a, b in _PAIRS if a in present and b in present]
