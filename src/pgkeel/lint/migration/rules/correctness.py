"""Migration rules, catalogue section F: SQL correctness and data changes that ride
along with DDL in migrations.

Expression rules look at every node of a statement, so they also see the queries of
views, ``CREATE TABLE AS`` and SQL-standard function bodies (``BEGIN ATOMIC``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.locks import locks_taken
from pgkeel.lint.migration.rules._ddl import (
    function_name,
    is_ddl,
    statement_nodes,
    transaction_of,
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


class UpdateOrDeleteWithoutWhere(MigrationRule):
    """UPDATE or DELETE without WHERE writes the whole table in one transaction.

    Why
    ---
    Every row is locked and rewritten (a new row version each, with WAL and bloat) in
    one transaction that holds its locks until commit; it is often unintended.

    Bad
    ---
    ```sql
    UPDATE t SET owner_id = 0;
    ```

    Good
    ----
    ```sql
    UPDATE t SET owner_id = 0 WHERE id BETWEEN 1 AND 1000;
    ```

    Notes
    -----
    Tables created earlier in the same file are exempt.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-update.html
    - pgrubic: GN022, GN023
    """

    id = "update-or-delete-without-where"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-update.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.UpdateStmt, ast.DeleteStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if node.whereClause is None and not ctx.is_new(node.relation):
            table = ctx.qualify(node.relation)
            verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
            yield self.at(statement, ctx, f"{verb} without WHERE writes every row of {table} "
                          "in one transaction", object=table,
                          fix="add a WHERE clause and run it in batches")


class BackfillInSchemaMigration(MigrationRule):
    """A backfill (UPDATE, INSERT ... SELECT) in the same transaction as DDL.

    Why
    ---
    The DDL's locks (often ACCESS EXCLUSIVE) are held until commit, so the whole
    backfill runs while every reader and writer of the altered table waits; a failure
    rolls back the DDL too and the long transaction is hard to retry.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN c int;
    UPDATE t SET c = a WHERE c IS NULL;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    Notes
    -----
    Only DDL that locks an existing table counts; backfills of tables created in the
    same file are exempt.

    References
    ----------
    - https://www.postgresql.org/docs/current/explicit-locking.html
    - strong_migrations: backfilling data
    """

    id = "backfill-in-schema-migration"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/explicit-locking.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.UpdateStmt, ast.InsertStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.InsertStmt) and not (
                isinstance(node.selectStmt, ast.SelectStmt) and node.selectStmt.fromClause):
            return
        if ctx.is_new(node.relation):
            return
        created = {ctx.qualify(s.node.relation) for s in ctx.section.statements
                   if isinstance(s.node, ast.CreateStmt)}
        ddl = [s for s in transaction_of(statement, ctx.section.statements, ctx.section.wrapped)
               if s is not statement and is_ddl(s.node)
               and set(locks_taken(s.node, ctx.qualify)) - created]
        if ddl:
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"backfill of {table} runs in the same transaction as "
                          f"DDL (line {ddl[0].line}), which holds its locks until commit",
                          object=table, fix="move the backfill to its own migration marked "
                          "transaction:false, in batches")


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
    object_kind = "query"
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_NOT_IN"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node):
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
    object_kind = "query"
    docs_url = "https://www.postgresql.org/docs/current/functions-comparison.html"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node):
            if isinstance(n, ast.A_Expr) and n.kind == EK.AEXPR_OP \
                    and _op(n) in ("=", "<>", "!=") and any(
                        isinstance(side, ast.A_Const) and side.isnull
                        for side in (n.lexpr, n.rexpr)):
                yield self.at(statement, ctx, f"comparison {_op(n)} NULL is always NULL, never "
                              "true", fix="use IS NULL / IS NOT NULL")
                return


def _temporal_bound(node: ast.Node) -> bool:
    if isinstance(node, ast.TypeCast):
        names = node.typeName.names if node.typeName else ()
        return bool(names) and names[-1].sval in _TEMPORAL
    return isinstance(node, ast.A_Const) and isinstance(node.val, ast.String) \
        and bool(_DATE_LITERAL.match(node.val.sval))


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
    object_kind = "query"
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_BETWEEN_.28especially_with_timestamps.29"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node):
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
    object_kind = "query"
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-CONSTANTS"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if any(isinstance(n, ast.A_Const) and isinstance(n.val, ast.String)
               and n.val.sval.strip().upper() == "NULL" for n in statement_nodes(statement.node)):
            yield self.at(statement, ctx, "the string 'NULL' stores four letters, not a NULL",
                          fix="write NULL without quotes")


class SelfAssigningColumn(MigrationRule):
    """UPDATE ... SET col = col writes new row versions for nothing.

    Why
    ---
    Every matched row gets a new version (WAL, bloat) and triggers fire, for no change.

    Bad
    ---
    ```sql
    UPDATE t SET a = a WHERE id = 1;
    ```

    Good
    ----
    ```sql
    UPDATE t SET a = a + 1 WHERE id = 1;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-update.html
    - pgrubic: GN036
    """

    id = "self-assigning-column"
    severity = Severity.INFO
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-update.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.UpdateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.UpdateStmt)
        for target in node.targetList or ():
            value = target.val
            if isinstance(value, ast.ColumnRef) and not target.indirection and value.fields \
                    and isinstance(value.fields[-1], ast.String) \
                    and value.fields[-1].sval == target.name:
                table = ctx.qualify(node.relation)
                yield self.at(statement, ctx, f"SET {target.name} = {target.name} rewrites rows "
                              "without changing them", object=f"{table}.{target.name}",
                              fix="remove the assignment")


class InsertWithoutColumnList(MigrationRule):
    """INSERT without a column list depends on the table's column order.

    Why
    ---
    Values are matched to columns by position: adding or reordering columns breaks the
    statement or, worse, puts values in the wrong columns.

    Bad
    ---
    ```sql
    INSERT INTO u VALUES (99);
    ```

    Good
    ----
    ```sql
    INSERT INTO u (id) VALUES (99);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-insert.html
    - pgrubic: GN033
    """

    id = "insert-without-column-list"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-insert.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.InsertStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.InsertStmt)
        if not node.cols and node.selectStmt is not None:
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"INSERT INTO {table} without a column list depends "
                          "on the column order", object=table, fix="list the target columns")


class SelectInto(MigrationRule):
    """SELECT ... INTO creates a table with no constraints.

    Why
    ---
    It reads like PL/pgSQL's ``INTO`` but creates a table; ``CREATE TABLE AS`` says
    so and is the recommended form ("SELECT INTO", Notes).

    Bad
    ---
    ```sql
    SELECT id INTO t_copy FROM t;
    ```

    Good
    ----
    ```sql
    CREATE TABLE t_copy AS SELECT id FROM t;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-selectinto.html
    - pgrubic: GN014
    """

    id = "select-into"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-selectinto.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.SelectStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.SelectStmt)
        if node.intoClause is not None:
            table = ctx.qualify(node.intoClause.rel)
            yield self.at(statement, ctx, f"SELECT ... INTO creates table {table}",
                          object=table, fix="CREATE TABLE ... AS SELECT")


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
    object_kind = "query"
    docs_url = "https://www.postgresql.org/docs/current/sql-select.html#SQL-GROUPBY"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node):
            if not isinstance(n, ast.SelectStmt):
                continue
            items = list(n.groupClause or ()) + [s.node for s in n.sortClause or ()
                                                 if isinstance(s, ast.SortBy)]
            if any(isinstance(i, ast.A_Const) and isinstance(i.val, ast.Integer) for i in items):
                yield self.at(statement, ctx, "GROUP BY / ORDER BY by position",
                              fix="name the columns")
                return


class SelectStarInView(MigrationRule):
    """SELECT * in a view freezes its column list at creation.

    Why
    ---
    The ``*`` is expanded when the view is created ("CREATE VIEW", Notes): later
    columns never appear, and the view blocks dropping the ones it captured.

    Bad
    ---
    ```sql
    CREATE VIEW app.t_all AS SELECT * FROM t;
    ```

    Good
    ----
    ```sql
    CREATE VIEW app.t_all AS SELECT id, a FROM t;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createview.html
    - pgrubic: GN028
    """

    id = "select-star-in-view"
    severity = Severity.INFO
    opt_in = True
    object_kind = "view"
    docs_url = "https://www.postgresql.org/docs/current/sql-createview.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.ViewStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.ViewStmt)
        arms = [node.query]
        star = False
        while arms:
            query = arms.pop()
            if not isinstance(query, ast.SelectStmt):
                continue
            arms += [query.larg, query.rarg]
            star = star or any(isinstance(t.val, ast.ColumnRef) and t.val.fields
                               and isinstance(t.val.fields[-1], ast.A_Star)
                               for t in query.targetList or ())
        if star:
            view = ctx.qualify(node.view)
            yield self.at(statement, ctx, f"view {view} selects *: its columns are fixed at "
                          "creation", object=view, fix="list the columns")


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
    object_kind = "query"
    docs_url = "https://www.postgresql.org/docs/current/functions-comparison.html"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for n in statement_nodes(statement.node):
            if isinstance(n, ast.A_Expr) and n.kind == EK.AEXPR_OP and _op(n) in _COMPARISONS \
                    and isinstance(n.lexpr, ast.A_Const) and not n.lexpr.isnull \
                    and isinstance(n.rexpr, ast.ColumnRef):
                yield self.at(statement, ctx, "constant on the left of a comparison",
                              fix="put the column on the left")
                return


class MissingOrReplace(MigrationRule):
    """CREATE FUNCTION/VIEW/TRIGGER without OR REPLACE fails on a re-run.

    Why
    ---
    In scripts meant to be re-runnable, a plain CREATE fails with "already exists".
    Only use OR REPLACE in schemas you own (see
    ``create-or-replace-in-writable-schema``).

    Bad
    ---
    ```sql
    CREATE VIEW app.v1 AS SELECT id FROM t;
    ```

    Good
    ----
    ```sql
    CREATE OR REPLACE VIEW app.v1 AS SELECT id FROM t;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createfunction.html
    - pgrubic: GN007, GN008, GN029, GN030
    """

    id = "missing-or-replace"
    severity = Severity.INFO
    opt_in = True
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt, ast.ViewStmt,
                                                    ast.CreateTrigStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if node.replace:
            return
        if isinstance(node, ast.CreateFunctionStmt):
            name = function_name(node, ctx)
        elif isinstance(node, ast.ViewStmt):
            name = ctx.qualify(node.view)
        else:
            name = node.trigname
        yield self.at(statement, ctx, f"CREATE without OR REPLACE: {name} fails on a re-run",
                      object=name, fix="CREATE OR REPLACE (in a schema you own)")


class InlineSqlBodyWrongLanguage(MigrationRule):
    """A SQL-standard function body with a language other than sql.

    Why
    ---
    ``RETURN ...`` and ``BEGIN ATOMIC`` bodies are only allowed for LANGUAGE sql;
    PostgreSQL refuses the CREATE ("CREATE FUNCTION", sql_body).

    Bad
    ---
    ```sql
    CREATE FUNCTION app.one() RETURNS int LANGUAGE plpgsql RETURN 1;
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.one() RETURNS int LANGUAGE sql RETURN 1;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createfunction.html
    - pgrubic: GN035
    """

    id = "inline-sql-body-wrong-language"
    severity = Severity.ERROR
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-createfunction.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateFunctionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateFunctionStmt)
        language = next((o.arg.sval for o in node.options or () if isinstance(o, ast.DefElem)
                         and o.defname == "language" and isinstance(o.arg, ast.String)), "sql")
        if node.sql_body is not None and language.lower() != "sql":
            name = function_name(node, ctx)
            yield self.at(statement, ctx, f"function {name} has a SQL-standard body but LANGUAGE "
                          f"{language}: PostgreSQL refuses it", object=name,
                          fix="LANGUAGE sql")
