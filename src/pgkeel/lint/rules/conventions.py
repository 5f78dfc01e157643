"""Conventions a team chooses: names that follow a pattern, tables that say what they hold.

Atlas's and schemalint's naming checks, and pg-index-health's description check.
Both rules report and suggest; neither prints a fix: a rename breaks every query that
uses the old name, and only a person can write a table's description.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pgkeel.errors import ConfigError
from pgkeel.lint.context import CheckContext
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import own_tables, quote_ident, table_name
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["SNAKE_CASE", "NamingConvention", "TableWithoutComment"]

#: The default pattern: lower-case snake_case, the names PostgreSQL never quotes.
SNAKE_CASE = r"^[a-z_][a-z0-9_]*$"


class TableWithoutComment(SchemaRule):
    """Describe every table with `COMMENT ON TABLE` (opt-in).

    A table or partitioned table (not a partition) without a comment is reported.
    Off unless selected (`[check] enable = ["table-without-comment"]`).

    Why
    ---
    A comment travels with the schema: `\\d+`, admin tools, generated API docs and
    the next engineer read it, and it says what a row means, which a name rarely
    does. Severity `info`, and opt-in: many teams document elsewhere.

    Bad
    ---
    ```sql
    CREATE TABLE ledger_entries (id bigint PRIMARY KEY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE ledger_entries (id bigint PRIMARY KEY);
    COMMENT ON TABLE ledger_entries IS 'One posted line of the general ledger';
    ```

    Notes
    -----
    No fix is printed: only a person can write the description.

    References
    ----------
    - PostgreSQL docs, "COMMENT".
    - pg-index-health `tables_without_description`.
    """

    id = "table-without-comment"
    severity = Severity.INFO
    opt_in = True
    checklist = None
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-comment.html"
    upstream = ("pg-index-health:tables_without_description",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        for table in own_tables(ctx.snapshot):
            if not (table.comment or "").strip():
                yield self.finding(
                    f"table {table_name(table)} has no comment: say what one row holds "
                    "with COMMENT ON TABLE",
                    object=table_name(table))


_KINDS = ("table", "column", "index", "constraint")


def _pattern(text: str, kind: str) -> re.Pattern[str]:
    """Compile option ``kind``; raises ``ConfigError`` naming it when it is invalid."""
    try:
        return re.compile(text)
    except re.error as exc:
        raise ConfigError(
            f"[check.options.naming-convention] {kind} = {text!r} is not a regular "
            f"expression: {exc}", hint="write a Python regular expression, e.g. "
            f"{SNAKE_CASE!r}") from exc


class NamingConvention(SchemaRule):
    """Name tables, columns, indexes and constraints by one pattern.

    Each name is matched against the pattern for its kind: options `table`,
    `column`, `index` and `constraint` (regular expressions, Python syntax, searched
    in the name; default lower-case snake_case, `^[a-z_][a-z0-9_]*$`; an invalid one
    is a configuration error). One finding per table lists every
    name of it that does not match: the table's own, its columns, its indexes that
    back no constraint, and its constraints. A partition is checked for its own name
    only (its columns and constraints are its parent's).

    Why
    ---
    Names outside lower-case snake_case must be double-quoted in every query forever
    (`"OrderLines"."CustomerId"`), and a mix of conventions makes names
    unguessable. Predictable index and constraint names also make later `DROP` and
    `VALIDATE` statements writable without a catalog lookup. Severity `info`.

    Bad
    ---
    ```sql
    CREATE TABLE "OrderLines" ("Id" bigint PRIMARY KEY, "ProductId" bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE order_lines (id bigint PRIMARY KEY, product_id bigint);
    ```

    Notes
    -----
    No fix is printed: a rename breaks every query, view body and function that
    uses the old name. Set the patterns to your team's convention, e.g.
    `[check.options.naming-convention] index = "^[a-z0-9_]+_(idx|key|pkey)$"`.

    References
    ----------
    - PostgreSQL docs, "Identifiers and Key Words" (unquoted names are folded to
      lower case); PostgreSQL wiki, "Don't Do This": Don't use upper case table or
      column names.
    - Atlas `NM101`-`NM106`; schemalint `name-casing`; pg-index-health
      `objects_not_following_naming_convention`.
    """

    id = "naming-convention"
    options: ClassVar[dict[str, RuleOption]] = {
        "table": RuleOption(str, "regular expression table names must match", SNAKE_CASE),
        "column": RuleOption(str, "regular expression column names must match", SNAKE_CASE),
        "index": RuleOption(str, "regular expression index names must match", SNAKE_CASE),
        "constraint": RuleOption(str, "regular expression constraint names must match", SNAKE_CASE),
    }
    severity = Severity.INFO
    checklist = None
    object_kind = "table"
    docs_url = ("https://wiki.postgresql.org/wiki/Don%27t_Do_This"
                "#Don.27t_use_upper_case_table_or_column_names")
    upstream = ("atlas:NM101", "schemalint:name-casing")

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        patterns = {kind: _pattern(str(ctx.option(self.id, kind, SNAKE_CASE)), kind)
                    for kind in _KINDS}
        for table in ctx.snapshot.tables:
            names: dict[str, list[str]] = {kind: [] for kind in _KINDS}
            names["table"].append(table.name)
            if not table.is_partition:
                names["column"] += [c.name for c in table.columns]
                names["index"] += [ix.name for ix in table.indexes if ix.constraint is None]
                names["constraint"] += [
                    c.name for c in (table.primary_key, *table.unique_constraints,
                                     *table.check_constraints, *table.foreign_keys)
                    if c is not None]
                # EXCLUDE constraints appear only as the index that backs them
                names["constraint"] += [ix.constraint for ix in table.indexes
                                        if ix.constraint is not None
                                        and ix.constraint not in names["constraint"]]
            bad = {kind: [n for n in items if not patterns[kind].search(n)]
                   for kind, items in names.items()}
            parts = [f"{kind} {', '.join(quote_ident(n) for n in items)}" if kind == "table"
                     else f"{len(items)} {kind}{'s' * (len(items) != 1)} "
                          f"({', '.join(quote_ident(n) for n in items)})"
                     for kind, items in bad.items() if items]
            if parts:
                yield self.finding(
                    f"names on {table_name(table)} do not follow the naming convention: "
                    f"{'; '.join(parts)}",
                    object=table_name(table))
