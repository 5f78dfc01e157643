"""Migration rules, catalogue section A: statements that lock, rewrite or scan.

Lock modes are PostgreSQL's ("Explicit Locking", 13.3.1) as measured on PostgreSQL 15
from ``pg_locks`` inside the migration's transaction (:mod:`pgkeel.lint.migration.locks`).
Tables created earlier in the same file are exempt: they are empty and no other session
can see them before the file commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity


class RequireConcurrentIndex(MigrationRule):
    """CREATE INDEX without CONCURRENTLY blocks every write to the table for the build.

    Why
    ---
    A plain ``CREATE INDEX`` holds a SHARE lock on the table while it reads every row
    and sorts: each INSERT, UPDATE and DELETE waits until the build ends (PostgreSQL
    docs, "CREATE INDEX", Building Indexes Concurrently). ``CONCURRENTLY`` takes SHARE
    UPDATE EXCLUSIVE, which lets writes go on, at the price of two scans and not being
    allowed inside a transaction block.

    Bad
    ---
    ```sql
    CREATE INDEX t_b_idx ON t (b);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    ```sql
    CREATE TABLE n (x int);
    CREATE INDEX n_x_idx ON n (x);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    - squawk: require-concurrent-index-creation
    """

    id = "require-concurrent-index"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
    upstream = ("squawk:require-concurrent-index-creation",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt)
        if node.concurrent or ctx.is_new(node.relation):
            return
        table = ctx.qualify(node.relation)
        severity, size = ctx.scaled(self.severity, table)
        yield self.at(statement, ctx,
                      f"CREATE INDEX on {table} without CONCURRENTLY holds a SHARE lock: "
                      "writes to the table wait for the whole build"
                      + (f" ({size})" if size else ""),
                      object=table, severity=severity,
                      fix="CREATE INDEX CONCURRENTLY in a migration whose marker says "
                      "'-- migrate:up transaction:false'")
