"""Migration rules, catalogue section A: locks as they add up over a transaction.

A lock is held until the transaction ends ("Explicit Locking", 13.3.1), so what runs
after a strong lock, and how often the same table is locked again, decides how long
other sessions wait; even a brief lock queued behind a long transaction blocks every
later query on the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.locks import LockMode, locks_taken
from pgkeel.lint.migration.rules._safety import (
    AT,
    alter_cmds,
    current_transaction,
    new_relation,
    table_of_index,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

_TRIGGER_CMDS = {AT.AT_EnableTrig, AT.AT_EnableAlwaysTrig, AT.AT_EnableReplicaTrig,
                 AT.AT_EnableTrigAll, AT.AT_EnableTrigUser, AT.AT_DisableTrig,
                 AT.AT_DisableTrigAll, AT.AT_DisableTrigUser}
#: ALTER TABLE forms that cannot share a statement with other subcommands (ALTER TABLE
#: reference page: all forms "except RENAME, SET SCHEMA, ATTACH PARTITION, and DETACH
#: PARTITION ... can be combined into a list of multiple alterations").
_ALONE = {AT.AT_AttachPartition, AT.AT_DetachPartition, AT.AT_DetachPartitionFinalize,
          AT.AT_ValidateConstraint}
#: Statements that lengthen nothing: transaction control and settings.
_NO_WORK = (ast.TransactionStmt, ast.VariableSetStmt, ast.VariableShowStmt)


class CreateTriggerLock(MigrationRule):
    """CREATE TRIGGER and ENABLE/DISABLE TRIGGER take SHARE ROW EXCLUSIVE on the table.

    Why
    ---
    The lock (measured in ``pg_locks``) is held only briefly, but it must wait for
    every running transaction on the table, and while it waits every writer queues
    behind it (PostgreSQL docs, "CREATE TRIGGER"; "Explicit Locking"). A
    ``lock_timeout`` makes the migration give up instead of blocking the application.

    Bad
    ---
    ```sql
    CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int);
    CREATE TRIGGER n_touch BEFORE UPDATE ON n FOR EACH ROW EXECUTE FUNCTION touch();
    ```

    ```sql
    SET lock_timeout = '2s';
    CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
    ```

    Notes
    -----
    Not reported when a ``lock_timeout`` is in force (set in the file or by the runner).

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createtrigger.html
    - https://www.postgresql.org/docs/current/explicit-locking.html
    - Atlas: PG308
    """

    id = "create-trigger-lock"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-createtrigger.html"
    upstream = ("atlas:PG308",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateTrigStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if ctx.lock_timeout_ms is not None:
            return
        if isinstance(node, ast.CreateTrigStmt):
            what = "CREATE TRIGGER"
        else:
            assert isinstance(node, ast.AlterTableStmt)
            if not any(c.subtype in _TRIGGER_CMDS for c in alter_cmds(node)):
                return
            what = "ENABLE/DISABLE TRIGGER"
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        yield self.at(statement, ctx,
                      f"{what} takes SHARE ROW EXCLUSIVE on {table}: brief, but while it "
                      "waits for running transactions every write to the table queues",
                      object=table,
                      fix="SET lock_timeout = '2s' before it and retry the migration on "
                      "timeout")


class StatementsAfterAccessExclusive(MigrationRule):
    """More statements run after ACCESS EXCLUSIVE was taken in the same transaction.

    Why
    ---
    A lock is held until the transaction ends, so every statement after one that took
    ACCESS EXCLUSIVE on a table (most ALTER TABLE forms, DROP INDEX, REFRESH) extends
    the time nobody can read or write that table; a backfill UPDATE, an index build or
    a VALIDATE there turns a brief lock into an outage (PostgreSQL docs, "Explicit
    Locking", 13.3.1).

    Bad
    ---
    ```sql
    -- example: plain
    BEGIN;
    ALTER TABLE t ADD COLUMN c int;
    UPDATE t SET c = a;
    COMMIT;
    ```

    Good
    ----
    ```sql
    -- example: plain
    BEGIN;
    ALTER TABLE t ADD COLUMN c int;
    COMMIT;
    ```

    Notes
    -----
    Reported once per transaction, at the first statement after the lock; tables
    created in the same file are exempt, and so are drops of tables, views and
    sequences (gone for everyone at COMMIT anyway; DROP INDEX counts, as a lock on its
    table). A migration the runner wraps is one transaction.

    References
    ----------
    - https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES
    - eugene: E4
    """

    id = "statements-after-access-exclusive"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES"
    upstream = ("eugene:E4",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if isinstance(statement.node, _NO_WORK):
            return
        locked: list[str] = []
        for earlier in current_transaction(ctx):
            if isinstance(earlier.node, _NO_WORK):
                continue
            if locked:
                return  # an earlier statement already ran after the lock: reported there
            locked = _exclusively_locked(earlier.node, ctx)
        if not locked:
            return
        tables = ", ".join(sorted(locked))
        yield self.at(statement, ctx,
                      f"this runs while the transaction holds ACCESS EXCLUSIVE on {tables}: "
                      "every read and write of it waits until COMMIT",
                      object=locked[0] if len(locked) == 1 else None,
                      fix="COMMIT right after the statement that takes the lock and move "
                      "the rest to its own transaction (a separate migration)")


def _exclusively_locked(node: ast.Node, ctx: MigrationContext) -> list[str]:
    """The existing tables ``node`` locks ACCESS EXCLUSIVE. A dropped table, view or
    sequence is gone for everyone after COMMIT anyway, so only DROP INDEX counts among
    drops, as a lock on the index's table."""
    if isinstance(node, ast.DropStmt) and node.removeType != enums.ObjectType.OBJECT_INDEX:
        return []
    names = [name for name, mode in locks_taken(node, ctx.qualify).items()
             if mode == LockMode.ACCESS_EXCLUSIVE and not ctx.created_here("table", name)
             and not ctx.created_here("index", name) and not ctx.created_here("view", name)]
    if isinstance(node, ast.DropStmt):
        names = [table_of_index(ctx, n) or f"the table of index {n}" for n in names]
    return names


class MultipleAlterSameTable(MigrationRule):
    """Several ALTER TABLE statements in a row on one table could be one.

    Why
    ---
    Each ALTER TABLE queues for its lock again and may scan or rewrite the table again;
    one statement with comma-separated actions takes the lock once and does one pass
    (PostgreSQL docs, "ALTER TABLE": "the lock level acquired will be the strictest one
    required by any subcommand", and multiple alterations share a single pass).

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN x int;
    ALTER TABLE t ADD COLUMN y int;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN x int, ADD COLUMN y int;
    ```

    Notes
    -----
    Only consecutive statements in one transaction, on a table not created in the
    file; ATTACH/DETACH PARTITION and VALIDATE CONSTRAINT are left alone (the first
    two cannot be combined, the last belongs in its own transaction).

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - eugene: W12
    """

    id = "multiple-alter-same-table"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("eugene:W12",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        before = current_transaction(ctx)
        previous = before[-1].node if before else None
        if not isinstance(previous, ast.AlterTableStmt) or new_relation(ctx, node.relation) \
                or previous.objtype != node.objtype \
                or ctx.qualify(previous.relation) != ctx.qualify(node.relation):
            return
        if any(c.subtype in _ALONE for c in (*alter_cmds(node), *alter_cmds(previous))):
            return
        table = ctx.qualify(node.relation)
        yield self.at(statement, ctx,
                      f"a second ALTER TABLE {table} right after one on line "
                      f"{before[-1].line}: it queues for the lock again and may scan or "
                      "rewrite again",
                      object=table,
                      fix="merge them into one ALTER TABLE with comma-separated actions")
