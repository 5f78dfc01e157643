"""Migration rules, catalogue section F (expressions): query expressions that are wrong or
misleading, wherever they appear in a statement (DML, views, CREATE TABLE AS and
SQL-standard function bodies).

Data changes and DDL-level rules are in :mod:`.correctness`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    mentions,
    statement_nodes,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

EK = enums.A_Expr_Kind


_COMPARISONS = {"=", "<>", "!=", "<", ">", "<=", ">="}


_DATE_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}")


_TEMPORAL = {"date", "timestamp", "timestamptz"}


def _op(expr: ast.A_Expr) -> str:
    return expr.name[-1].sval if expr.name else ""


class NotInSubquery(MigrationRule):
    """NOT IN (SELECT ...) matches nothing when the subquery yields a NULL.

    Why
    ---
    ``x NOT IN (1, NULL)`` is NULL, never true, so one NULL from the subquery empties
    the result; the planner also cannot turn it into an anti-join ("Subquery
    Expressions", NOT IN).

    Bad
    ---
    ```sql
    SELECT id FROM t WHERE u_id NOT IN (SELECT id FROM u);
    ```

    Good
    ----
    ```sql
    SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = t.u_id);
    ```

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_NOT_IN
    - pgrubic: GN026
    """

    id = "not-in-subquery"
    severity = Severity.WARNING
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_NOT_IN"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if not (mentions(statement, "select") and mentions(statement, "not")):
            return
        for n in statement_nodes(statement.node, ast.BoolExpr):
            if isinstance(n, ast.BoolExpr) and n.boolop == enums.BoolExprType.NOT_EXPR \
                    and any(isinstance(a, ast.SubLink)
                            and a.subLinkType == enums.SubLinkType.ANY_SUBLINK
                            for a in n.args or ()):
                yield self.at(statement, ctx, "NOT IN (SELECT ...) is never true once the "
                              "subquery returns a NULL", fix="use NOT EXISTS")
                return


class NullComparison(MigrationRule):
    """= NULL / <> NULL is always NULL, never true.

    Why
    ---
    Comparing with NULL yields NULL ("Comparison Functions and Operators"): the
    condition matches no row. ``IS [NOT] NULL`` tests for NULL.

    Bad
    ---
    ```sql
    SELECT id FROM t WHERE a = NULL;
    ```

    Good
    ----
    ```sql
    SELECT id FROM t WHERE a IS NULL;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/functions-comparison.html
    - pgrubic: GN024
    """

    id = "null-comparison"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/functions-comparison.html"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if not mentions(statement, "null"):
            return
        for n in statement_nodes(statement.node, ast.A_Expr):
            if isinstance(n, ast.A_Expr) and n.kind == EK.AEXPR_OP \
                    and _op(n) in ("=", "<>", "!=") and any(
                        isinstance(side, ast.A_Const) and side.isnull
                        for side in (n.lexpr, n.rexpr)):
                yield self.at(statement, ctx, f"comparison {_op(n)} NULL is always NULL, never "
                              "true", fix="use IS NULL / IS NOT NULL")
                return


def _temporal_bound(node: ast.Node) -> bool:
    if isinstance(node, ast.TypeCast):
        names = node.typeName.names if node.typeName else None
        return bool(names) and _temporal_name(names)
    return isinstance(node, ast.A_Const) and isinstance(node.val, ast.String) \
        and bool(_DATE_LITERAL.match(node.val.sval or ""))


def _temporal_name(names: tuple[ast.Node, ...] | None) -> bool:
    last = names[-1] if names else None
    return isinstance(last, ast.String) and last.sval in _TEMPORAL


class BetweenTimestamps(MigrationRule):
    """BETWEEN on dates or timestamps includes both ends.

    Why
    ---
    ``BETWEEN`` is closed at both ends, so adjacent ranges count the boundary instant
    twice; ``>= lower AND < upper`` tiles time without overlap.

    Bad
    ---
    ```sql
    SELECT id FROM t WHERE ts BETWEEN '2024-01-01' AND '2024-02-01';
    ```

    Good
    ----
    ```sql
    SELECT id FROM t WHERE ts >= '2024-01-01' AND ts < '2024-02-01';
    ```

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_BETWEEN_.28especially_with_timestamps.29
    - Don't Do This: BETWEEN
    """

    id = "between-timestamps"
    severity = Severity.INFO
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_BETWEEN_.28especially_with_timestamps.29"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if not mentions(statement, "between"):
            return
        for n in statement_nodes(statement.node, ast.A_Expr):
            if isinstance(n, ast.A_Expr) and n.kind in (EK.AEXPR_BETWEEN, EK.AEXPR_NOT_BETWEEN) \
                    and isinstance(n.rexpr, tuple) and any(_temporal_bound(b) for b in n.rexpr):
                yield self.at(statement, ctx, "BETWEEN on dates or timestamps includes both ends",
                              fix="use col >= lower AND col < upper")
                return


class StringifiedNull(MigrationRule):
    """The string 'NULL' where NULL was meant.

    Why
    ---
    ``'NULL'`` is four letters, stored as text, not a missing value.

    Bad
    ---
    ```sql
    UPDATE t SET b = 'NULL' WHERE id = 1;
    ```

    Good
    ----
    ```sql
    UPDATE t SET b = NULL WHERE id = 1;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-CONSTANTS
    - pgrubic: GN031
    """

    id = "stringified-null"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-CONSTANTS"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if not mentions(statement, "null"):
            return
        if any(isinstance(n, ast.A_Const) and isinstance(n.val, ast.String)
               and (n.val.sval or "").strip().upper() == "NULL"
               for n in statement_nodes(statement.node, ast.A_Const)):
            yield self.at(statement, ctx, "the string 'NULL' stores four letters, not a NULL",
                          fix="write NULL without quotes")


class OrdinalGroupOrderBy(MigrationRule):
    """GROUP BY 1 / ORDER BY 1: the meaning shifts when the select list changes.

    Why
    ---
    A position refers to whatever column is there today; editing the select list
    silently changes the grouping or order.

    Bad
    ---
    ```sql
    SELECT a, count(*) FROM t GROUP BY 1;
    ```

    Good
    ----
    ```sql
    SELECT a, count(*) FROM t GROUP BY a;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-select.html#SQL-GROUPBY
    - pgrubic: QY001, QY002
    """

    id = "ordinal-group-order-by"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-select.html#SQL-GROUPBY"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node, ast.SelectStmt):
            if not isinstance(n, ast.SelectStmt):
                continue
            items = list(n.groupClause or ()) + [s.node for s in n.sortClause or ()
                                                 if isinstance(s, ast.SortBy)]
            if any(isinstance(i, ast.A_Const) and isinstance(i.val, ast.Integer) for i in items):
                yield self.at(statement, ctx, "GROUP BY / ORDER BY by position",
                              fix="name the columns")
                return


class YodaCondition(MigrationRule):
    """A constant on the left of a comparison.

    Why
    ---
    ``5 = a`` reads backwards; the column on the left is the common convention.

    Bad
    ---
    ```sql
    SELECT id FROM t WHERE 5 = a;
    ```

    Good
    ----
    ```sql
    SELECT id FROM t WHERE a = 5;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/functions-comparison.html
    - pgrubic: GN027
    """

    id = "yoda-condition"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/functions-comparison.html"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node, ast.A_Expr):
            if isinstance(n, ast.A_Expr) and n.kind == EK.AEXPR_OP and _op(n) in _COMPARISONS \
                    and isinstance(n.lexpr, ast.A_Const) and not n.lexpr.isnull \
                    and isinstance(n.rexpr, ast.ColumnRef):
                yield self.at(statement, ctx, "constant on the left of a comparison",
                              fix="put the column on the left")
                return

