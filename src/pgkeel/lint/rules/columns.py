"""Column types: character(n), varchar(n), money, integers used as booleans.

The type checks of squawk, pgrubic and the PostgreSQL wiki page "Don't Do This",
checked against a catalog snapshot and, where a rule needs evidence, the rows
(``CheckContext.data``). Partitions are skipped: their columns are their parent's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from psycopg import sql

from pgkeel.catalog.model import Column, Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import ident, object_name, own_tables, qualified_ident
from pgkeel.lint.rules._columns import (
    check_name,
    in_foreign_key,
    mentions,
    sample,
    type_change_blocked,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["CharType", "IntegerBoolean", "MoneyType", "VarcharLimit"]

_LENGTH = re.compile(r"^(character|character varying)\((\d+)\)$")


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
                row = sample(ctx, table, sql.SQL(
                    "count({c}), count(*) FILTER (WHERE char_length({c}) < {n})").format(
                    c=sql.Identifier(column.name), n=sql.Literal(n)))
                padded = (f"; {row[1]} of {row[0]} sampled values are shorter and read "
                          "back blank-padded until the change" if row and row[1] else "")
                blocked = type_change_blocked(ctx.snapshot, table, column) or in_foreign_key(
                    ctx.snapshot, table, column)
                fix = down = None
                if blocked is None:
                    t = qualified_ident(table.schema, table.name)
                    check = ident(check_name(table, column.name))
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
                blocked = type_change_blocked(ctx.snapshot, table, column)
                fix = down = None
                if blocked is None:
                    t = qualified_ident(table.schema, table.name)
                    col = ident(column.name)
                    check = ident(check_name(table, column.name))
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
                blocked = type_change_blocked(ctx.snapshot, table, column)
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
    options: ClassVar[dict[str, RuleOption]] = {
        "min_rows": RuleOption(
            int, "fewest rows holding only 0 and 1 before the column is reported",
            100),
    }
    uses_data = True
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
                row = sample(ctx, table, sql.SQL(
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
                if mentions(c.expression, column.name)]
        uses += [f"index {ix.name}" for ix in table.indexes
                 if mentions(ix.predicate, column.name)
                 or any(mentions(e, column.name) for e in ix.expressions)]
        blocked = type_change_blocked(snapshot, table, column)
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
        # Integer literals do not cast to boolean on assignment (PostgreSQL docs, 8.6
        # Boolean Type; only the text forms do): clients that write 0/1 must change.
        return (f"ALTER TABLE {t} {', '.join(up)}; -- rewrites the table",
                f"ALTER TABLE {t} {', '.join(down)};",
                "; after the fix, code that writes 0 or 1 into it must write false or "
                "true (or '0'/'1' as text)")
