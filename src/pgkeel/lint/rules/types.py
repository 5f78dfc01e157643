"""Column types: time zones and exact money.

Family D ("Schema design: types and structure") of ``reference/lint-rules.md``,
checked against a catalog snapshot. Partitions are skipped: their columns are their
parent's, and the parent's finding carries the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Column, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import (
    comment,
    ident,
    in_partition_key,
    literal,
    object_name,
    own_tables,
    table_name,
)
from pgkeel.lint.rules._evidence import (
    column_facts,
    guarded_type_change,
    server_time_zone,
    type_change,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = [
    "MONEY_WORDS",
    "RATE_WORDS",
    "FloatForMoney",
    "TimestampWithoutTimeZone",
    "name_tokens",
]


#: A column is taken as holding dates when at least this many values are all midnight.
MIN_DATE_VALUES = 3


class TimestampWithoutTimeZone(SchemaRule):
    """Store points in time as `timestamptz`, not `timestamp`; and dates as `date`.

    A column is reported when its type (or the base type of its domain) is
    `timestamp without time zone`, at any precision, or an array of it. When every
    value (at least three) is midnight, the column holds dates and the finding
    suggests `date`.

    Why
    ---
    `timestamp` stores a wall-clock reading with no offset. The same instant written
    from two sessions with different `TimeZone` settings stores two different values,
    arithmetic across a daylight-saving change is off by an hour, and comparing with
    `now()` (a `timestamptz`) silently converts through the session's zone.
    `timestamptz` stores an absolute instant (UTC internally) and costs the same
    8 bytes. A date kept as midnight of a `timestamp` turns into the day before when
    converted through a zone west of UTC. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamp NOT NULL);
    INSERT INTO events VALUES (1, '2024-03-31 01:30'), (2, '2024-04-01 17:05');
    ```

    Good
    ----
    ```sql
    CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamptz NOT NULL);
    ```

    Notes
    -----
    The fix reads every row (bounded by the check's statement timeout). Midnight
    everywhere: `TYPE date USING col::date`, which drops no information. Otherwise
    `TYPE timestamptz USING col AT TIME ZONE '<zone>'`: the zone is named, never
    taken from the session running the fix; it is option `time_zone`
    (`[check.options.timestamp-without-time-zone] time_zone = "Europe/Berlin"`), else
    the server's `TimeZone` (`pg_settings.reset_val`, what a new session gets). A
    wall-clock value that does not exist in that zone (a daylight-saving gap) would
    move, so when the data holds one there is no fix and the finding says so. No
    data read: no fix. The fix first locks the table and re-checks every row,
    failing (nothing changed) if a value would change; `fix_down` converts back
    through the same zone. The table is rewritten under ACCESS EXCLUSIVE. Views that
    read the column are dropped and re-created around the change (their definition,
    options, owner, grants, comments, triggers, indexes). An array column
    (`timestamp[]`) gets no fix: a conversion's `USING` cannot take a sub-query to
    convert each element. A partition-key column cannot change type at all.

    References
    ----------
    - PostgreSQL docs, "Date/Time Types", 8.5.1.3 Time Stamps; 9.9.4 AT TIME ZONE;
      "ALTER TABLE" (SET DATA TYPE); PostgreSQL wiki, "Don't Do This": Don't use
      timestamp (without time zone).
    - squawk `prefer-timestamptz`; schemalint `prefer-timestamptz-to-timestamp`;
      reference/lint-rules.md `prefer-timestamptz`.
    """

    id = "timestamp-without-time-zone"
    options: ClassVar[dict[str, RuleOption]] = {
        "time_zone": RuleOption(
            str | None, "zone the stored values are in (default: the server's TimeZone)",
            None),
    }
    uses_data = True
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = ("https://wiki.postgresql.org/wiki/Don%27t_Do_This"
                "#Don.27t_use_timestamp_.28without_time_zone.29")
    upstream = ("squawk:prefer-timestamptz",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        zone = ctx.option(self.id, "time_zone", None) or server_time_zone(ctx)
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                if column.type_name not in ("timestamp", "_timestamp"):
                    continue
                name = object_name(table.schema, table.name, column.name)
                message = (f"column {name} is {column.type}: it stores a wall-clock "
                           "reading, not a point in time")
                key = _key_column_fix(table, column.name, "timestamptz")
                if key is not None:
                    yield self.finding(f"{message}; no fix: {key.removeprefix('-- ')}",
                                       object=name)
                    continue
                if column.type_name == "_timestamp":
                    yield self.finding(
                        message + "; no fix: convert each element naming its zone "
                        "(a new timestamptz[] column filled by UPDATE ... SET new = "
                        "ARRAY(SELECT e AT TIME ZONE 'UTC' FROM unnest(old) e))",
                        object=name)
                    continue
                yield self._judge(ctx, table, column, name, message, zone)

    def _judge(self, ctx: CheckContext, table: Table, column: Column, name: str,
               message: str, zone: str | None) -> Finding:
        col = ident(column.name)
        facts = column_facts(ctx, table, f"count({col}), count(*) FILTER (WHERE {col} "
                                         f"<> date_trunc('day', {col}))")
        if isinstance(facts, str):
            return self.finding(f"{message}; no fix: {facts}, so it is unknown whether "
                                "the values are dates or which zone they were written in",
                                object=name)
        values, not_midnight = facts
        snapshot = ctx.snapshot
        if values >= MIN_DATE_VALUES and not_midnight == 0:
            return self.finding(
                f"column {name} is {column.type} but every one of its {values} values is "
                "midnight (read from the data): it holds dates",
                object=name,
                fix=guarded_type_change(snapshot, table, column.name, "date",
                                        f"{col}::date", f"{col} <> {col}::date"),
                fix_down=type_change(snapshot, table, column.name, column.type,
                                     f"{col}::{column.type}"))
        if zone is None:
            return self.finding(f"{message}; no fix: the zone its values were written in "
                                "is unknown (set option time_zone)", object=name)
        z = literal(zone)
        moved = column_facts(ctx, table, f"count(*) FILTER (WHERE ({col} AT TIME ZONE {z}) "
                                         f"AT TIME ZONE {z} IS DISTINCT FROM {col})")
        if isinstance(moved, str):
            return self.finding(f"{message}; no fix: {moved}", object=name)
        if moved[0]:
            return self.finding(
                f"{message}; no fix: {moved[0]} of its values do not exist in time zone "
                f"{comment(zone)} (a daylight-saving gap) and would move; correct them or "
                "choose the zone they were written in (option time_zone)", object=name)
        new_type = column.type.replace(" without time zone", " with time zone")
        if new_type == column.type:  # a domain over timestamp
            new_type = "timestamp with time zone"
        return self.finding(
            f"{message}; the fix reads its {values} values as {comment(zone)} time"
            if values else f"{message}; it holds no value yet: the fix only changes the type",
            object=name,
            fix=guarded_type_change(snapshot, table, column.name, new_type,
                                    f"{col} AT TIME ZONE {z}",
                                    f"({col} AT TIME ZONE {z}) AT TIME ZONE {z} "
                                    f"IS DISTINCT FROM {col}"),
            fix_down=type_change(snapshot, table, column.name, column.type,
                                 f"{col} AT TIME ZONE {z}"))


def _key_column_fix(table: Table, column: str, new_type: str) -> str | None:
    """The fix for a partition-key column, whose type cannot be altered; else None."""
    if not in_partition_key(table, column):
        return None
    col = object_name(column)
    return comment(f"-- {col} is in the partition key of {table_name(table)}, so its type "
                   f"cannot be altered: create a new partitioned table with {col} "
                   f"{new_type}, copy the rows, and swap the names")


#: Column-name words that mean an amount of money (singular; a plural ``s``/``es`` is
#: stripped before matching). ``discount`` and ``credit`` are left out on purpose:
#: they are as often ratios or scores, which ``double precision`` suits.
MONEY_WORDS = frozenset({
    "amount", "balance", "budget", "cents", "charge", "cost", "fee", "freight", "income",
    "money", "payment", "payout", "postage", "price", "profit", "refund", "revenue",
    "salary", "shipping", "subtotal", "tax", "total", "wage",
})

#: Column-name words that make a number a rate, not an amount: ``tax_rate`` holding
#: 8.875 is a percentage, whatever ``tax`` says.
RATE_WORDS = frozenset({
    "coefficient", "factor", "fraction", "multiplier", "pct", "percent", "percentage",
    "proportion", "rate", "ratio", "share", "weight",
})

_FLOAT_TYPES = frozenset({"float4", "float8"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")

#: numeric's largest precision (PostgreSQL docs, "Numeric Types", 8.1.2).
_MAX_PRECISION = 1000


def name_tokens(name: str) -> tuple[str, ...]:
    """Split a column name into lower-case words: ``unitPrice_usd`` -> unit, price, usd."""
    return tuple(w.lower() for w in _WORD.findall(name))


def _money_word(column: Column) -> str | None:
    words = name_tokens(column.name)
    if any(w in RATE_WORDS or w.removesuffix("s") in RATE_WORDS for w in words):
        return None
    for word in words:
        for candidate in (word, word.removesuffix("s"), word.removesuffix("es")):
            if candidate in MONEY_WORDS:
                return word
    return None


class FloatForMoney(SchemaRule):
    """Store money in `numeric` (or integer minor units), never in floating point.

    A `real` or `double precision` column (or a domain over one) is reported when a
    word of its name (split on underscores and camelCase, plural `s`/`es` removed)
    is one of: amount, balance, budget, cents, charge, cost, fee, freight, income,
    money, payment, payout, postage, price, profit, refund, revenue, salary,
    shipping, subtotal, tax, total, wage — unless another word makes it a rate:
    coefficient, factor, fraction, multiplier, pct, percent, percentage, proportion,
    rate, ratio, share, weight (`tax_rate`, `vat_rate`, `discount_pct`).

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
    INSERT INTO invoices VALUES (1, 19.99), (2, 5.5);
    ```

    Good
    ----
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total_amount numeric(12, 2) NOT NULL);
    CREATE TABLE rates (id bigint PRIMARY KEY, tax_rate double precision NOT NULL);
    INSERT INTO rates VALUES (1, 8.875);
    ```

    Notes
    -----
    The name is the hint; the fix comes from the data. It reads every value
    (bounded by the check's statement timeout) and picks `numeric(p, s)` with
    `s` = the most decimals any value has (at least 2) and `p` = `s` + the most
    integer digits (at least 10), then checks that every value survives the trip
    (`x::numeric(p, s)::float8 = x`). A value that needs more digits than the
    float-to-numeric cast keeps (15 significant for `double precision`, 6 for
    `real`), such as the result of `0.1 + 0.2`, or an infinity, would change: then
    there is no fix, and the finding counts those values and shows one. No data
    read, no fix. The fix locks the table, re-checks every row (failing, with
    nothing changed, if one would change), then rewrites the table under ACCESS
    EXCLUSIVE; on a large table add a `numeric` column, backfill it in batches and
    swap instead. Views that read the column are dropped and re-created around
    the change. `fix_down` converts back to the float type, value for value.

    References
    ----------
    - PostgreSQL docs, "Numeric Types", 8.1.2 Arbitrary Precision Numbers and
      8.1.3 Floating-Point Types ("If you require exact storage and calculations
      (such as for monetary amounts), use the numeric type instead").
    - reference/lint-rules.md `ban-float-for-exact-values` (pgrubic TP011, which
      flags every float column); squawk and splinter have no equivalent.
    """

    id = "float-for-money"
    uses_data = True
    severity = Severity.ERROR
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-FLOAT"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                word = _money_word(column) if column.type_name in _FLOAT_TYPES else None
                if word is None:
                    continue
                name = object_name(table.schema, table.name, column.name)
                message = (f"column {name} is {column.type} but its name ({word!r}) says "
                           "money: floating point is inexact")
                key = _key_column_fix(table, column.name, "numeric")
                if key is not None:
                    yield self.finding(f"{message}; no fix: {key.removeprefix('-- ')}",
                                       object=name)
                    continue
                yield self._judge(ctx, table, column, name, message)

    def _judge(self, ctx: CheckContext, table: Table, column: Column, name: str,
               message: str) -> Finding:
        col = ident(column.name)
        finite = (f"CASE WHEN {col} IN ('Infinity', '-Infinity') THEN NULL "
                  f"ELSE {col}::numeric END")
        facts = column_facts(
            ctx, table, f"count({col}), count(*) FILTER (WHERE {col} IN ('Infinity', "
            f"'-Infinity')), max(scale({finite})), max(length(trunc(abs({finite}))::text))")
        if isinstance(facts, str):
            return self.finding(f"{message}; no fix: {facts}, so no type is known to "
                                "keep every value", object=name)
        values, infinite, scale, digits = facts
        if infinite:
            return self.finding(f"{message}; no fix: {infinite} of its values are "
                                "infinite, which numeric(p, s) cannot hold", object=name)
        s = max(2, scale or 0)
        p = max(10, digits or 0) + s
        if p > _MAX_PRECISION:
            return self.finding(f"{message}; no fix: its values need numeric({p}, {s}), "
                                f"beyond numeric's {_MAX_PRECISION} digits", object=name)
        base = "real" if column.type_name == "float4" else "double precision"
        new_type = f"numeric({p}, {s})"
        changes = f"{col}::{new_type}::{base} IS DISTINCT FROM {col}"
        lost = column_facts(ctx, table, f"count(*) FILTER (WHERE {changes}), "
                                        f"min({col}::text) FILTER (WHERE {changes})")
        if isinstance(lost, str):
            return self.finding(f"{message}; no fix: {lost}", object=name)
        if lost[0]:
            return self.finding(
                f"{message}; no fix: {lost[0]} of its {values} values (e.g. {lost[1]}) "
                f"carry more digits than {new_type} keeps and would change: decide what "
                "they should be first", object=name)
        snapshot = ctx.snapshot
        return self.finding(
            f"{message}; {new_type} holds each of its {values} values exactly (read "
            "from the data)",
            object=name,
            fix=guarded_type_change(snapshot, table, column.name, new_type,
                                    f"{col}::{new_type}", changes),
            fix_down=type_change(snapshot, table, column.name, column.type,
                                 f"{col}::{base}"))
