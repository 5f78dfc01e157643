"""Migration rules, catalogue section F (data changes and statements): whole-table
writes, backfills beside DDL, INSERT column lists, SELECT INTO, views, OR REPLACE and
SQL-standard bodies.

Rules on query expressions are in :mod:`.queries`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.locks import locks_taken
from pgkeel.lint.migration.rules._ddl import (
    function_name,
    is_ddl,
    language_of,
    new_in_file,
    transaction_of,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity


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
        assert isinstance(node, ast.UpdateStmt | ast.DeleteStmt)
        if node.whereClause is None and not new_in_file(ctx, node.relation):
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
        assert isinstance(node, ast.UpdateStmt | ast.InsertStmt)
        if isinstance(node, ast.InsertStmt) and not (
                isinstance(node.selectStmt, ast.SelectStmt) and node.selectStmt.fromClause):
            return
        if new_in_file(ctx, node.relation):
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
        assert isinstance(node, ast.CreateFunctionStmt | ast.ViewStmt | ast.CreateTrigStmt)
        if node.replace:
            return
        if isinstance(node, ast.CreateFunctionStmt):
            name = function_name(node, ctx)
        elif isinstance(node, ast.ViewStmt):
            name = ctx.qualify(node.view)
        else:
            name = node.trigname or ""
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
        language = language_of(node)
        if node.sql_body is not None and language != "sql":
            name = function_name(node, ctx)
            yield self.at(statement, ctx, f"function {name} has a SQL-standard body but LANGUAGE "
                          f"{language}: PostgreSQL refuses it", object=name,
                          fix="LANGUAGE sql")
