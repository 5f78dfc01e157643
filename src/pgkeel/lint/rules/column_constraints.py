"""Constraints the data says are missing on columns: NOT NULL booleans, non-negative
quantities.

Checked against a catalog snapshot and the rows (``CheckContext.data``); partitions
are skipped, their columns are their parent's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from psycopg import sql

from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import ident, object_name, own_tables, qualified_ident
from pgkeel.lint.rules._columns import check_name, mentions, sample
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["QUANTITY_WORDS", "MissingCheckConstraint", "NullableBoolean"]


class NullableBoolean(SchemaRule):
    """Declare boolean columns NOT NULL.

    A `boolean` column without NOT NULL is reported. When the data was read, the
    message says how many sampled rows hold NULL.

    Why
    ---
    A nullable boolean has three values, and NULL is neither true nor false:
    `WHERE NOT flag` skips the NULL rows, `flag = false` too, and the application
    must guess what NULL means. Severity `info`: sometimes "unknown" is meant.

    Bad
    ---
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, active boolean);
    ```

    Good
    ----
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, active boolean NOT NULL DEFAULT true);
    ```

    Notes
    -----
    When no sampled row is NULL (or the data was not read) the fix is `SET NOT
    NULL`, which reads every row under an ACCESS EXCLUSIVE lock and fails, changing
    nothing, if a NULL remains. When sampled rows are NULL there is no fix: decide
    what NULL means, update those rows, then add the constraint (and a default).

    References
    ----------
    - PostgreSQL docs, "Boolean Type"; "Comparison Functions and Operators"
      (`IS DISTINCT FROM`).
    - pgrubic `TP017`.
    """

    id = "nullable-boolean"
    severity = Severity.INFO
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/datatype-boolean.html"
    upstream = ("pgrubic:TP017",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                if column.type_name != "bool" or not column.nullable or column.generated:
                    continue
                name = object_name(table.schema, table.name, column.name)
                row = sample(ctx, table, sql.SQL("count(*), count(*) FILTER (WHERE {} IS NULL)"
                                                  ).format(sql.Identifier(column.name)))
                t = qualified_ident(table.schema, table.name)
                col = ident(column.name)
                fix: str | None = f"ALTER TABLE {t} ALTER COLUMN {col} SET NOT NULL;"
                down: str | None = f"ALTER TABLE {t} ALTER COLUMN {col} DROP NOT NULL;"
                if row is None:
                    evidence = "; the data was not read"
                elif row[1]:
                    evidence = (f"; {row[1]} of {row[0]} sampled rows are NULL: decide what "
                                "NULL means and update them first")
                    fix = down = None
                else:
                    evidence = f"; none of the {row[0]} sampled rows is NULL"
                yield self.finding(f"boolean column {name} is nullable{evidence}",
                                   object=name, fix=fix, fix_down=down)


#: Column-name words (singular; a plural ``s``/``es`` is stripped) that name a
#: quantity or a price, which is never negative. ``balance``, ``delta``, ``change``
#: and the like can be, and are left out.
QUANTITY_WORDS = frozenset({
    "amount", "cost", "discount", "fee", "freight", "price", "qty", "quantity",
    "salary", "stock", "subtotal", "tax", "total", "unit", "wage", "weight",
})
_NUMERIC = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8", "money"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _quantity_word(name: str) -> str | None:
    """The last quantity word of ``name`` (the head of ``unit_price`` is ``price``)."""
    found = None
    for word in (w.lower() for w in _WORD.findall(name)):
        if any(c in QUANTITY_WORDS for c in (word, word.removesuffix("s"),
                                              word.removesuffix("es"))):
            found = word
    return found


class MissingCheckConstraint(SchemaRule):
    """Keep quantities and prices non-negative with a CHECK.

    A numeric column (integer, `numeric`, floating point, `money`) is reported when a
    word of its name is a quantity or price word (amount, cost, discount, fee,
    freight, price, qty, quantity, salary, stock, subtotal, tax, total, unit(s),
    wage, weight), no CHECK of its table or domain mentions it, and none of the
    sampled rows (at least `min_rows` non-NULL values, option, default 10) is
    negative. Without rows to read, nothing is reported.

    Why
    ---
    A negative price or quantity is a bug that travels into invoices and stock
    counts; the database can refuse it for every writer at once. The name is only a
    hint, which the data backs: the finding says which word it read and how many
    rows. Severity `info`.

    Bad
    ---
    ```sql
    CREATE TABLE order_lines (id bigint PRIMARY KEY, quantity integer NOT NULL,
                              unit_price numeric(10, 2) NOT NULL);
    INSERT INTO order_lines SELECT g, g % 5 + 1, g * 1.5 FROM generate_series(1, 50) AS g;
    ```

    Good
    ----
    ```sql
    CREATE TABLE order_lines (id bigint PRIMARY KEY,
                              quantity integer NOT NULL CHECK (quantity > 0),
                              unit_price numeric(10, 2) NOT NULL CHECK (unit_price >= 0));
    INSERT INTO order_lines SELECT g, g % 5 + 1, g * 1.5 FROM generate_series(1, 50) AS g;
    ```

    Notes
    -----
    The fix adds `CHECK (col >= 0) NOT VALID` (no scan, a brief lock) and then
    validates it, which reads every row without blocking writes and fails, changing
    nothing, if an unsampled row is negative. Make it `> 0` where zero is wrong too.

    References
    ----------
    - PostgreSQL docs, "Constraints", Check Constraints; "ALTER TABLE" (NOT VALID,
      VALIDATE CONSTRAINT).
    - The skill (seeds/000), Validation Checklist, "Constraints enforce data
      integrity".
    """

    id = "missing-check-constraint"
    options: ClassVar[dict[str, RuleOption]] = {
        "min_rows": RuleOption(int, "fewest rows read before a column is judged non-negative", 10),
    }
    uses_data = True
    severity = Severity.INFO
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-CHECK-CONSTRAINTS"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.data is None:
            return
        min_rows = int(ctx.option(self.id, "min_rows", 10))
        checked_domains = {d.name for d in ctx.snapshot.domains if d.checks}
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                word = _quantity_word(column.name)
                if (word is None or column.type_name not in _NUMERIC or column.generated
                        or column.type in checked_domains
                        or any(mentions(c.expression, column.name)
                               for c in table.check_constraints)):
                    continue
                c = sql.Identifier(column.name)
                # A money column's zero is an untyped literal: it takes the column's
                # type, money now, numeric once money-type's fix (a warning, so run
                # first in a fix script) has converted it.
                zero = "'0'" if column.type_name == "money" else "0"
                row = sample(ctx, table, sql.SQL(
                    "count({c}), count(*) FILTER (WHERE {c} < {z})").format(c=c, z=sql.SQL(zero)))
                if row is None or not isinstance(row[0], int) or row[0] < min_rows or row[1]:
                    continue
                name = object_name(table.schema, table.name, column.name)
                t = qualified_ident(table.schema, table.name)
                check = ident(check_name(table, column.name))
                col = ident(column.name)
                yield self.finding(
                    f"column {name} ({column.type}) has no CHECK keeping it non-negative; "
                    f"its name says a quantity or price ({word!r}) and none of its "
                    f"{row[0]} sampled values is negative",
                    object=name,
                    fix=(f"ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({col} >= {zero})"
                         f" NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT {check};"),
                    fix_down=f"ALTER TABLE {t} DROP CONSTRAINT {check};")
