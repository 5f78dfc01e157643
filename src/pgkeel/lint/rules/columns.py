"""Column types and the constraints the data says are missing.

The type checks of squawk, pgrubic and the PostgreSQL wiki page "Don't Do This",
checked against a catalog snapshot and,
where a rule needs evidence, the rows (``CheckContext.data``). Partitions are
skipped: their columns are their parent's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from psycopg import sql

from pgkeel.catalog.model import Column, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext, ProbeFailed
from pgkeel.lint.rules._catalog import (
    choose_name,
    ident,
    in_partition_key,
    object_name,
    own_tables,
    qualified_ident,
    quote_ident,
    table_name,
)
from pgkeel.lint.rules._column_use import views_reading
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["CharType", "IntegerBoolean", "MissingCheckConstraint", "MoneyType",
           "NullableBoolean", "VarcharLimit"]

_LENGTH = re.compile(r"^(character|character varying)\((\d+)\)$")


def _mentions(text: str | None, column: str) -> bool:
    """True when SQL ``text`` names ``column`` (as quote_ident writes it)."""
    return text is not None and re.search(
        rf'(?<![\w$"]){re.escape(quote_ident(column))}(?![\w$"])', text) is not None


def _blocked(snapshot: Snapshot, table: Table, column: Column) -> str | None:
    """Why the type of ``column`` cannot be changed by a fix, or None."""
    if in_partition_key(table, column.name):
        return "it is in the partition key, whose type cannot be altered"
    views = views_reading(snapshot, table, column.name)
    if views:
        return (f"views use it ({', '.join(table_name(v) for v in views)}): drop them, "
                "change the type, re-create them")
    return None


def _in_foreign_key(snapshot: Snapshot, table: Table, column: Column) -> str | None:
    """Why a ``character(n)`` column in a foreign key cannot change type alone."""
    if any(column.name in fk.columns for fk in table.foreign_keys) or any(
            (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
            and column.name in fk.ref_columns
            for t in snapshot.tables for fk in t.foreign_keys):
        return ("a foreign key pairs it with another character(n) column: change both "
                "in one transaction, dropping and re-adding the key")
    return None


def _check_name(table: Table, column: str) -> str:
    taken = {c.name for c in table.check_constraints} | {
        c.name for c in (table.primary_key, *table.unique_constraints) if c is not None} | {
        f.name for f in table.foreign_keys}
    return choose_name(table.name, column, "check", taken)


def _sample(ctx: CheckContext, table: Table, select: sql.Composable
            ) -> tuple[object, ...] | None:
    """One row of aggregates over the sampled rows of ``table``; None without data."""
    if ctx.data is None:
        return None
    query = sql.SQL("SELECT {} FROM {}").format(select, ctx.data.sample_from(table.schema,
                                                                              table.name))
    try:
        return ctx.data.rows(query)[0]
    except ProbeFailed:
        return None


class CharType(SchemaRule):
    """Use `text` (with a length CHECK if needed), not `character(n)`.

    A column of type `character(n)` (`char(n)`, `bpchar`) is reported.

    Why
    ---
    `character(n)` pads every value with blanks to n characters, stores the padding,
    and ignores trailing blanks when comparing, except where it does not (LIKE,
    regular expressions, casts to text): a source of surprising mismatches. It is
    never faster than `text` in PostgreSQL. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE countries (code text PRIMARY KEY CHECK (char_length(code) = 2),
                            name text NOT NULL);
    ```

    Notes
    -----
    The fix changes the type to `text` and keeps the length limit as a CHECK, in one
    `ALTER TABLE` that rewrites the table under an ACCESS EXCLUSIVE lock. Every value
    keeps its characters; values shorter than n are no longer read back
    blank-padded (the message counts them in the sampled rows, when the data was
    read). No fix when a view uses the column, it is in a partition key, or a
    foreign key pairs it with another column (both sides must change together).

    References
    ----------
    - PostgreSQL docs, "Character Types"; PostgreSQL wiki, "Don't Do This": Don't
      use char(n).
    - squawk `ban-char-field`; pg-index-health `columns_with_char_type`.
    """

    id = "char-type"
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_char.28n.29"
    upstream = ("squawk:ban-char-field",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                match = _LENGTH.match(column.type)
                if column.type_name != "bpchar" or match is None or match.group(1) != "character":
                    continue
                n = int(match.group(2))
                name = object_name(table.schema, table.name, column.name)
                col = ident(column.name)
                row = _sample(ctx, table, sql.SQL(
                    "count({c}), count(*) FILTER (WHERE char_length({c}) < {n})").format(
                    c=sql.Identifier(column.name), n=sql.Literal(n)))
                padded = (f"; {row[1]} of {row[0]} sampled values are shorter and read "
                          "back blank-padded until the change" if row and row[1] else "")
                blocked = _blocked(ctx.snapshot, table, column) or _in_foreign_key(
                    ctx.snapshot, table, column)
                fix = down = None
                if blocked is None:
                    t = qualified_ident(table.schema, table.name)
                    check = ident(_check_name(table, column.name))
                    fix = (f"ALTER TABLE {t} ALTER COLUMN {col} TYPE text, ADD CONSTRAINT "
                           f"{check} CHECK (char_length({col}) <= {n}); -- rewrites the table")
                    down = (f"ALTER TABLE {t} DROP CONSTRAINT {check}, ALTER COLUMN {col} "
                            f"TYPE {column.type};")
                yield self.finding(
                    f"column {name} is {column.type}: blank-padded, use text with a length "
                    f"CHECK{padded}{'; no fix: ' + blocked if blocked else ''}",
                    object=name, fix=fix, fix_down=down)


class VarcharLimit(SchemaRule):
    """Prefer `text` with a CHECK to `varchar(n)`.

    A column of type `character varying(n)` is reported (`varchar` without a limit
    is `text` under another name and is not).

    Why
    ---
    The limit n is usually arbitrary (255 is a MySQL habit); when it must change,
    raising it is cheap but lowering it rewrites the table, while a CHECK can be
    replaced `NOT VALID` and validated without blocking writes. `text` and `varchar`
    perform the same. Severity `info`: a limit can be a deliberate rule.

    Bad
    ---
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY, email varchar(255) NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE users (id bigint PRIMARY KEY,
                        email text NOT NULL CHECK (char_length(email) <= 255));
    ```

    Notes
    -----
    The fix changes the type to `text` (binary compatible: no rewrite, but an
    ACCESS EXCLUSIVE lock) and adds the same limit as a CHECK `NOT VALID`, then
    validates it (a scan that does not block writes when run on its own). No value
    changes. No fix when a view uses the column or it is in a partition key.

    References
    ----------
    - PostgreSQL docs, "Character Types" (no performance difference); PostgreSQL
      wiki, "Don't Do This": Don't use varchar(n) by default.
    - squawk `prefer-text-field`; schemalint `prefer-text-to-varchar`.
    """

    id = "varchar-limit"
    severity = Severity.INFO
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = ("https://wiki.postgresql.org/wiki/Don%27t_Do_This"
                "#Don.27t_use_varchar.28n.29_by_default")
    upstream = ("squawk:prefer-text-field",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                match = _LENGTH.match(column.type)
                if (column.type_name != "varchar" or match is None
                        or match.group(1) != "character varying"):
                    continue
                n = int(match.group(2))
                name = object_name(table.schema, table.name, column.name)
                blocked = _blocked(ctx.snapshot, table, column)
                fix = down = None
                if blocked is None:
                    t = qualified_ident(table.schema, table.name)
                    col = ident(column.name)
                    check = ident(_check_name(table, column.name))
                    fix = (f"ALTER TABLE {t} ALTER COLUMN {col} TYPE text, ADD CONSTRAINT "
                           f"{check} CHECK (char_length({col}) <= {n}) NOT VALID;\n"
                           f"ALTER TABLE {t} VALIDATE CONSTRAINT {check};")
                    down = (f"ALTER TABLE {t} DROP CONSTRAINT {check}, ALTER COLUMN {col} "
                            f"TYPE {column.type};")
                yield self.finding(
                    f"column {name} is {column.type}: a length limit in the type is hard "
                    f"to lower; text with a CHECK says the same"
                    f"{'; no fix: ' + blocked if blocked else ''}",
                    object=name, fix=fix, fix_down=down)


class MoneyType(SchemaRule):
    """Store amounts in `numeric`, not `money`.

    A column of type `money` is reported.

    Why
    ---
    `money` has a fixed number of fractional digits set by the `lc_monetary`
    setting: its text form, its input and the meaning of a dump change with that
    setting and the server's locale, it holds one currency, and division and
    rounding behave unlike `numeric`. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total money NOT NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE invoices (id bigint PRIMARY KEY, total numeric(12, 2) NOT NULL);
    ```

    Notes
    -----
    The fix converts with `USING col::numeric`, which is exact: every stored amount
    keeps its value (no scale is imposed, so nothing is rounded); add a scale or a
    currency column afterwards if you want one. It rewrites the table under an
    ACCESS EXCLUSIVE lock. No fix when a view uses the column or it is in a
    partition key.

    References
    ----------
    - PostgreSQL docs, "Monetary Types"; PostgreSQL wiki, "Don't Do This": Don't
      use money.
    - pgrubic `TP006`; pg-index-health `columns_with_money_type`.
    """

    id = "money-type"
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_money"
    upstream = ("pgrubic:TP006",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            for column in table.columns:
                if column.type_name != "money" or column.type != "money":
                    continue
                name = object_name(table.schema, table.name, column.name)
                blocked = _blocked(ctx.snapshot, table, column)
                fix = down = None
                if blocked is None:
                    t = qualified_ident(table.schema, table.name)
                    col = ident(column.name)
                    fix = (f"ALTER TABLE {t} ALTER COLUMN {col} TYPE numeric USING "
                           f"{col}::numeric; -- exact; rewrites the table")
                    down = (f"ALTER TABLE {t} ALTER COLUMN {col} TYPE money USING "
                            f"{col}::money;")
                yield self.finding(
                    f"column {name} is money: its scale and text form follow lc_monetary"
                    f"{'; no fix: ' + blocked if blocked else ''}",
                    object=name, fix=fix, fix_down=down)


_INTEGERS = {"int2": "smallint", "int4": "integer", "int8": "bigint"}


def _key_columns(table: Table) -> set[str]:
    keys = {c for k in (table.primary_key, *table.unique_constraints) if k is not None
            for c in k.columns}
    return keys | {c for fk in table.foreign_keys for c in fk.columns}


class IntegerBoolean(SchemaRule):
    """Use `boolean` for a yes/no column, not an integer holding 0 and 1.

    A `smallint`, `integer` or `bigint` column (not a key, identity, generated or
    sequence-fed column) is reported when its sampled values are only 0 and 1, both
    present, over at least `min_rows` non-NULL values (option, default 100). Without
    rows to read, nothing is reported: the name alone proves nothing.

    Why
    ---
    An integer flag accepts 2, -1 and 42, which mean nothing; every query must know
    the convention (`= 1`, `<> 0`), and `boolean` says it in the type, in 1 byte.
    Severity `info`: the data shows a flag, the intent may differ.

    Bad
    ---
    ```sql
    CREATE TABLE products (id bigint PRIMARY KEY, discontinued integer NOT NULL);
    INSERT INTO products SELECT g, g % 2 FROM generate_series(1, 200) AS g;
    ```

    Good
    ----
    ```sql
    CREATE TABLE products (id bigint PRIMARY KEY, discontinued boolean NOT NULL);
    INSERT INTO products SELECT g, g % 2 = 1 FROM generate_series(1, 200) AS g;
    ```

    Notes
    -----
    The fix converts with `USING (col::text)::boolean`, which maps 0 to false and 1
    to true and fails, changing nothing, on any other value in rows the sample did
    not read; a default of 0 or 1 becomes false or true, and a nullable column with
    no NULL in the sample becomes NOT NULL (failing, changing nothing, on an
    unsampled NULL). Queries that compare the column with integers (`= 1`) must
    change with it. No fix when a CHECK, an index expression or predicate, or a
    view uses the column, when its default is something else, or when sampled rows
    are NULL (a third value someone must give a meaning).

    References
    ----------
    - PostgreSQL docs, "Boolean Type".
    - No linter has it: it needs the rows, which pgkeel reads.
    """

    id = "integer-boolean"
    severity = Severity.INFO
    checklist = checklist_items.CONSTRAINTS
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/datatype-boolean.html"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.data is None:
            return
        min_rows = int(ctx.option(self.id, "min_rows", 100))
        for table in own_tables(ctx.snapshot):
            keys = _key_columns(table)
            for column in table.columns:
                if (_INTEGERS.get(column.type_name) != column.type or column.name in keys
                        or column.identity or column.generated
                        or (column.default or "").startswith("nextval(")):
                    continue
                c = sql.Identifier(column.name)
                row = _sample(ctx, table, sql.SQL(
                    "count({c}), count(*) FILTER (WHERE {c} = 0), "
                    "count(*) FILTER (WHERE {c} = 1), count(*)").format(c=c))
                if row is None:
                    continue
                values, zeros, ones, rows = row
                if not (isinstance(values, int) and values >= min_rows and zeros and ones
                        and zeros + ones == values):  # type: ignore[operator]
                    continue
                name = object_name(table.schema, table.name, column.name)
                nulls = rows - values  # type: ignore[operator]
                fix, down, why = self._fix(ctx.snapshot, table, column, nulls)
                yield self.finding(
                    f"column {name} is {column.type} but its {values} sampled values are "
                    f"only 0 ({zeros}) and 1 ({ones}): a boolean{why}",
                    object=name, fix=fix, fix_down=down)

    @staticmethod
    def _fix(snapshot: Snapshot, table: Table, column: Column, nulls: int
             ) -> tuple[str | None, str | None, str]:
        uses = [f"CHECK {c.name}" for c in table.check_constraints
                if _mentions(c.expression, column.name)]
        uses += [f"index {ix.name}" for ix in table.indexes
                 if _mentions(ix.predicate, column.name)
                 or any(_mentions(e, column.name) for e in ix.expressions)]
        blocked = _blocked(snapshot, table, column)
        if blocked is None and uses:
            blocked = f"{', '.join(uses)} compare it with integers: change them with it"
        defaults = {None: (None, None), "0": ("false", "0"), "1": ("true", "1")}
        if blocked is None and column.default not in defaults:
            blocked = f"its default {column.default} has no boolean equivalent"
        if blocked is None and column.nullable and nulls:
            blocked = (f"{nulls} sampled rows are NULL, a third value: decide what it "
                       "means (nullable-boolean)")
        if blocked is not None:
            return None, None, f"; no fix: {blocked}"
        new_default, old_default = defaults[column.default]
        t = qualified_ident(table.schema, table.name)
        col = ident(column.name)
        up = [f"ALTER COLUMN {col} DROP DEFAULT"] if new_default else []
        up.append(f"ALTER COLUMN {col} TYPE boolean USING ({col}::text)::boolean")
        down = [f"ALTER COLUMN {col} DROP DEFAULT"] if new_default else []
        down.append(f"ALTER COLUMN {col} TYPE {column.type} USING "
                    f"CASE WHEN {col} THEN 1 WHEN NOT {col} THEN 0 END")
        if new_default:
            up.append(f"ALTER COLUMN {col} SET DEFAULT {new_default}")
            down.append(f"ALTER COLUMN {col} SET DEFAULT {old_default}")
        if column.nullable:
            # Two values and no NULL in the data: a two-valued boolean, NOT NULL (a
            # nullable one is nullable-boolean's finding); fails on an unsampled NULL.
            up.append(f"ALTER COLUMN {col} SET NOT NULL")
            down.insert(0, f"ALTER COLUMN {col} DROP NOT NULL")
        return (f"ALTER TABLE {t} {', '.join(up)}; -- rewrites the table",
                f"ALTER TABLE {t} {', '.join(down)};", "")


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
                row = _sample(ctx, table, sql.SQL("count(*), count(*) FILTER (WHERE {} IS NULL)"
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
                        or any(_mentions(c.expression, column.name)
                               for c in table.check_constraints)):
                    continue
                c = sql.Identifier(column.name)
                # A money column's zero is an untyped literal: it takes the column's
                # type, money now, numeric once money-type's fix (a warning, so run
                # first in a fix script) has converted it.
                zero = "'0'" if column.type_name == "money" else "0"
                row = _sample(ctx, table, sql.SQL(
                    "count({c}), count(*) FILTER (WHERE {c} < {z})").format(c=c, z=sql.SQL(zero)))
                if row is None or not isinstance(row[0], int) or row[0] < min_rows or row[1]:
                    continue
                name = object_name(table.schema, table.name, column.name)
                t = qualified_ident(table.schema, table.name)
                check = ident(_check_name(table, column.name))
                col = ident(column.name)
                yield self.finding(
                    f"column {name} ({column.type}) has no CHECK keeping it non-negative; "
                    f"its name says a quantity or price ({word!r}) and none of its "
                    f"{row[0]} sampled values is negative",
                    object=name,
                    fix=(f"ALTER TABLE {t} ADD CONSTRAINT {check} CHECK ({col} >= {zero})"
                         f" NOT VALID;\nALTER TABLE {t} VALIDATE CONSTRAINT {check};"),
                    fix_down=f"ALTER TABLE {t} DROP CONSTRAINT {check};")
