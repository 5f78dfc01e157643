"""Column types: time zones and exact money.

Family D ("Schema design: types and structure") of ``reference/lint-rules.md``,
checked against a catalog snapshot. Partitions are skipped: their columns are their
parent's, and the parent's finding carries the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pgkeel.catalog.model import Column, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.rules._catalog import (
    comment,
    ident,
    in_partition_key,
    object_name,
    own_tables,
    qualified_ident,
    table_name,
    views_using,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["MONEY_WORDS", "FloatForMoney", "TimestampWithoutTimeZone", "name_tokens"]


class TimestampWithoutTimeZone(SchemaRule):
    """Store points in time as `timestamptz`, not `timestamp`.

    A column is reported when its type (or the base type of its domain) is
    `timestamp without time zone`, at any precision, or an array of it.

    Why
    ---
    `timestamp` stores a wall-clock reading with no offset. The same instant written
    from two sessions with different `TimeZone` settings stores two different values,
    arithmetic across a daylight-saving change is off by an hour, and comparing with
    `now()` (a `timestamptz`) silently converts through the session's zone.
    `timestamptz` stores an absolute instant (UTC internally) and costs the same
    8 bytes. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamp NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamptz NOT NULL);
    ```

    Notes
    -----
    `ALTER COLUMN ... TYPE timestamptz` reads the stored values in the session's
    `TimeZone`. The fix sets it to UTC first: right when the application wrote UTC,
    and then (PostgreSQL 12+) the table is not rewritten. If the values were written
    in another zone, set that zone instead and expect a rewrite under ACCESS
    EXCLUSIVE. An array column (`timestamp[]`) is always rewritten.

    PostgreSQL refuses to change the type of a column a view or rule uses; the fix
    says so, naming the views whose definition mentions the table and column, which
    must be dropped and recreated around the change. An array of a domain over
    `timestamp` is not recognised (the snapshot names its element type only by the
    domain).

    References
    ----------
    - PostgreSQL docs, "Date/Time Types", 8.5.1.3 Time Stamps; PostgreSQL wiki,
      "Don't Do This": Don't use timestamp (without time zone).
    - squawk `prefer-timestamptz`; schemalint `prefer-timestamptz-to-timestamp`;
      reference/lint-rules.md `prefer-timestamptz`.
    """

    id = "timestamp-without-time-zone"
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = ("https://wiki.postgresql.org/wiki/Don%27t_Do_This"
                "#Don.27t_use_timestamp_.28without_time_zone.29")
    upstream = ("squawk:prefer-timestamptz",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in own_tables(snapshot):
            target = qualified_ident(table.schema, table.name)
            for column in table.columns:
                if column.type_name not in ("timestamp", "_timestamp"):
                    continue
                array = column.type_name == "_timestamp"
                new_type = "timestamptz[]" if array else "timestamptz"
                fix = _key_column_fix(table, column.name, new_type) or (
                    f"SET timezone = 'UTC'; -- the zone the stored values were written "
                    f"in\nALTER TABLE {target} ALTER COLUMN {ident(column.name)} "
                    f"TYPE {new_type};{' -- rewrites the table' if array else ''}"
                    + _view_note(snapshot, table, column.name))
                yield self.finding(
                    f"column {object_name(table.schema, table.name, column.name)} is "
                    f"{column.type}: it stores a wall-clock reading, not a point in time",
                    object=object_name(table.schema, table.name, column.name),
                    fix=fix,
                )


def _key_column_fix(table: Table, column: str, new_type: str) -> str | None:
    """The fix for a partition-key column, whose type cannot be altered; else None."""
    if not in_partition_key(table, column):
        return None
    col = object_name(column)
    return comment(f"-- {col} is in the partition key of {table_name(table)}, so its type "
                   f"cannot be altered: create a new partitioned table with {col} "
                   f"{new_type}, copy the rows, and swap the names")


def _view_note(snapshot: Snapshot, table: Table, column: str) -> str:
    """A comment line: the type change fails while a view or rule uses the column."""
    views = views_using(snapshot, table, column)
    named = (f" (here, by their definitions: {', '.join(table_name(v) for v in views)})"
             if views else "")
    return "\n" + comment(
        "-- fails with \"cannot alter type of a column used by a view or rule\" while a "
        f"view uses the column{named}: drop those views, alter, and recreate them in "
        "one transaction")


#: Column-name words that mean an amount of money (singular; a plural ``s``/``es`` is
#: stripped before matching). ``rate``, ``discount`` and ``credit`` are left out on
#: purpose: they are as often ratios or scores, which ``double precision`` suits.
MONEY_WORDS = frozenset({
    "amount", "balance", "budget", "cents", "charge", "cost", "fee", "income", "money",
    "payment", "payout", "price", "profit", "refund", "revenue", "salary", "subtotal",
    "tax", "total", "wage",
})

_FLOAT_TYPES = frozenset({"float4", "float8"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def name_tokens(name: str) -> tuple[str, ...]:
    """Split a column name into lower-case words: ``unitPrice_usd`` -> unit, price, usd."""
    return tuple(w.lower() for w in _WORD.findall(name))


def _money_word(column: Column) -> str | None:
    for word in name_tokens(column.name):
        for candidate in (word, word.removesuffix("s"), word.removesuffix("es")):
            if candidate in MONEY_WORDS:
                return word
    return None


class FloatForMoney(SchemaRule):
    """Store money in `numeric` (or integer minor units), never in floating point.

    A `real` or `double precision` column (or a domain over one) is reported when a
    word of its name (split on underscores and camelCase, plural `s`/`es` removed)
    is one of: amount, balance, budget, cents, charge, cost, fee, income, money,
    payment, payout, price, profit, refund, revenue, salary, subtotal, tax, total,
    wage.

    Why
    ---
    Binary floating point cannot represent most decimal fractions: `0.1 + 0.2` is
    not `0.3`, sums drift, equality tests fail and rounding differs between
    PostgreSQL, the application and the accounting export. `numeric(p, s)` is exact
    decimal arithmetic; integer cents are exact and fast. Severity `error`: wrong
    money is wrong data.

    Bad
    ---
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total_amount double precision NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total_amount numeric(12, 2) NOT NULL);
    ```

    Notes
    -----
    The type change rewrites the table under an ACCESS EXCLUSIVE lock; on a large
    table add a `numeric` column, backfill it in batches and swap. Pick the scale
    your currency needs; `round(x::numeric, 2)` keeps cents. PostgreSQL refuses to
    change the type of a column a view or rule uses: the fix says so, naming the
    views whose definition mentions the table and column.

    References
    ----------
    - PostgreSQL docs, "Numeric Types", 8.1.2 Arbitrary Precision Numbers and
      8.1.3 Floating-Point Types ("If you require exact storage and calculations
      (such as for monetary amounts), use the numeric type instead").
    - reference/lint-rules.md `ban-float-for-exact-values` (pgrubic TP011, which
      flags every float column); squawk and splinter have no equivalent.
    """

    id = "float-for-money"
    severity = Severity.ERROR
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-FLOAT"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        for table in own_tables(snapshot):
            target = qualified_ident(table.schema, table.name)
            for column in table.columns:
                word = _money_word(column) if column.type_name in _FLOAT_TYPES else None
                if word is None:
                    continue
                col = ident(column.name)
                fix = _key_column_fix(table, column.name, "numeric") or (
                    f"ALTER TABLE {target} ALTER COLUMN {col} TYPE numeric(12, 2) "
                    f"USING round({col}::numeric, 2); -- rewrites the table"
                    + _view_note(snapshot, table, column.name))
                name = object_name(table.schema, table.name, column.name)
                yield self.finding(
                    f"column {name} is {column.type} but its name ({word!r}) says money: "
                    "floating point is inexact",
                    object=name,
                    fix=fix,
                )
