"""Migration rules, catalogue section A: what the transaction around a statement changes.

Some statements PostgreSQL refuses inside a transaction block; a lock is held until the
transaction ends ("Explicit Locking", 13.3.1), so what runs after a strong lock, a
VALIDATE in the transaction that added the constraint, and how often the same table is
locked again decide how long other sessions wait; even a brief lock queued behind a
long transaction blocks every later query on the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.locks import LockMode, locks_taken
from pgkeel.lint.migration.rules._safety import (
    AT,
    NO_TRANSACTION,
    alter_cmds,
    concurrent_reindex,
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


class NonTransactionalStatementInTransaction(MigrationRule):
    """A statement PostgreSQL refuses inside a transaction block runs inside one.

    Why
    ---
    ``CREATE/DROP INDEX CONCURRENTLY``, ``REINDEX CONCURRENTLY``, ``REINDEX
    SCHEMA/DATABASE/SYSTEM``, ``DETACH PARTITION ... CONCURRENTLY``, ``VACUUM``,
    ``CLUSTER`` without a table, ``CREATE/DROP DATABASE``, ``CREATE/DROP TABLESPACE``
    and ``ALTER SYSTEM`` fail with "cannot run inside a transaction block" (each
    command's reference page; every one the rule names is run inside a transaction
    block by its tests, on PostgreSQL 15 and 18). A migration the runner wraps in a
    transaction, or one with its own ``BEGIN``, therefore fails at deploy time. Before
    PostgreSQL 12, ``ALTER TYPE ... ADD VALUE`` is refused in a transaction block too.

    Bad
    ---
    ```sql
    -- example: plain
    BEGIN;
    DROP INDEX CONCURRENTLY t_a_idx;
    COMMIT;
    ```

    ```sql
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    DROP INDEX CONCURRENTLY t_a_idx;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    - https://www.postgresql.org/docs/current/sql-altertype.html (ADD VALUE, Notes)
    - squawk: ban-concurrent-index-creation-in-transaction
    """

    id = "non-transactional-statement-in-transaction"
    severity = Severity.ERROR
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
    upstream = ("squawk:ban-concurrent-index-creation-in-transaction",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if not ctx.in_transaction:
            return
        what = _non_transactional(statement.node, ctx.target_version)
        if what is None:
            return
        where = ("the runner runs this migration in one transaction"
                 if ctx.section.wrapped and not ctx.explicit_transaction
                 else "it follows an explicit BEGIN")
        yield self.at(statement, ctx,
                      f"{what} cannot run inside a transaction block and {where}: the "
                      "migration fails with 'cannot run inside a transaction block'",
                      fix=f"put it alone in {NO_TRANSACTION}, without BEGIN/COMMIT")


def _non_transactional(node: ast.Node, version: int | None) -> str | None:
    """What makes ``node`` refused in a transaction block, or None."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt):
        kinds = enums.ReindexObjectType
        if node.kind in (kinds.REINDEX_OBJECT_SCHEMA, kinds.REINDEX_OBJECT_DATABASE,
                         kinds.REINDEX_OBJECT_SYSTEM):
            return f"REINDEX {node.kind.name.removeprefix('REINDEX_OBJECT_')}"
        if concurrent_reindex(node):
            return "REINDEX CONCURRENTLY"
    if isinstance(node, ast.ClusterStmt) and node.relation is None:
        return "CLUSTER without a table name"
    if isinstance(node, ast.AlterTableStmt) and any(
            c.subtype == AT.AT_DetachPartition and isinstance(c.def_, ast.PartitionCmd)
            and c.def_.concurrent for c in alter_cmds(node)):
        return "DETACH PARTITION ... CONCURRENTLY"
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        return "VACUUM"
    simple = {ast.CreatedbStmt: "CREATE DATABASE", ast.DropdbStmt: "DROP DATABASE",
              ast.AlterSystemStmt: "ALTER SYSTEM", ast.CreateTableSpaceStmt:
              "CREATE TABLESPACE", ast.DropTableSpaceStmt: "DROP TABLESPACE"}
    for kind, words in simple.items():
        if isinstance(node, kind):
            return words
    if isinstance(node, ast.AlterEnumStmt) and node.newVal and version is not None \
            and version < 120000:
        return f"ALTER TYPE ... ADD VALUE on PostgreSQL before 12 (target {version})"
    return None


class ValidateInSameTransaction(MigrationRule):
    """VALIDATE CONSTRAINT in the transaction that added it NOT VALID gains nothing.

    Why
    ---
    The ``ADD CONSTRAINT ... NOT VALID`` took ACCESS EXCLUSIVE (a CHECK) or SHARE ROW
    EXCLUSIVE on both tables (a foreign key); locks are held until the transaction
    ends, so a ``VALIDATE`` in the same transaction scans under that strong lock
    (measured), exactly what NOT VALID was meant to avoid.

    Bad
    ---
    ```sql
    -- example: plain
    BEGIN;
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
    ALTER TABLE t VALIDATE CONSTRAINT t_a_pos;
    COMMIT;
    ```

    ```sql
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
    ALTER TABLE t VALIDATE CONSTRAINT t_a_pos;
    ```

    Good
    ----
    ```sql
    -- example: plain
    BEGIN;
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
    COMMIT;
    BEGIN;
    ALTER TABLE t VALIDATE CONSTRAINT t_a_pos;
    COMMIT;
    ```

    Notes
    -----
    A migration the runner wraps in a transaction counts as one transaction (the
    second Bad example). squawk reports this as part of constraint-missing-not-valid
    (squawk#250).

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - https://github.com/sbdchd/squawk/issues/250
    """

    id = "validate-in-same-transaction"
    severity = Severity.ERROR
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:constraint-missing-not-valid",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        names = {c.name for c in alter_cmds(node)
                 if c.subtype == AT.AT_ValidateConstraint and c.name}
        if not names or new_relation(ctx, node.relation):
            return
        for earlier in current_transaction(ctx):
            added = earlier.node
            if not isinstance(added, ast.AlterTableStmt) or ctx.qualify(added.relation) != table:
                continue
            for cmd in alter_cmds(added):
                constraint = cmd.def_
                if cmd.subtype == AT.AT_AddConstraint and isinstance(constraint, ast.Constraint) \
                        and constraint.skip_validation and constraint.conname in names:
                    yield self.at(statement, ctx,
                                  f"{constraint.conname} was added NOT VALID earlier in this "
                                  "transaction: its lock is still held, so VALIDATE scans "
                                  f"{table} under it (line {earlier.line})",
                                  object=table,
                                  fix="VALIDATE CONSTRAINT in the next migration (or after a "
                                  "COMMIT in a transaction:false file)")


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
        if isinstance(statement.node, _NO_WORK) or \
                LockMode.ACCESS_EXCLUSIVE not in ctx.locks.values():
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
