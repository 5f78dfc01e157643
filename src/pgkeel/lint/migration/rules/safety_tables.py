"""Migration rules, catalogue section A: whole-table operations under ACCESS EXCLUSIVE.

``VACUUM FULL``, ``CLUSTER``, ``SET LOGGED/UNLOGGED``, ``SET TABLESPACE`` and ``SET
ACCESS METHOD`` write a new copy of the relation, ``REFRESH MATERIALIZED VIEW``
recomputes it and ``DETACH PARTITION`` locks parent and partition, each while ACCESS
EXCLUSIVE blocks every read and write (PostgreSQL docs, "ALTER TABLE", "VACUUM",
"CLUSTER", "REFRESH MATERIALIZED VIEW"; rewrites measured by ``relfilenode``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._safety import (
    ALTER_DOCS,
    AT,
    NO_TRANSACTION,
    alter_cmds,
    default_partition,
    new_relation,
    scaled,
    table_of_index,
    touches,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity


class PreferRepack(MigrationRule):
    """VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE.

    Why
    ---
    Both write a new copy of the table and its indexes while holding ACCESS EXCLUSIVE:
    no read or write for the whole copy (PostgreSQL docs, "VACUUM", "CLUSTER").
    pg_repack rebuilds online with only brief locks; plain VACUUM frees space for
    reuse without a lock on reads and writes.

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    VACUUM FULL t;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    VACUUM (ANALYZE) t;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-vacuum.html
    - https://www.postgresql.org/docs/current/sql-cluster.html
    - squawk: prefer-repack
    """

    id = "prefer-repack"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-vacuum.html"
    upstream = ("squawk:prefer-repack",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.VacuumStmt, ast.ClusterStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.VacuumStmt):
            if not node.is_vacuumcmd or not any(
                    o.defname == "full" and (o.arg is None or getattr(o.arg, "boolval", True))
                    for o in node.options or ()):
                return
            relations = [r.relation for r in node.rels or () if r.relation is not None]
            what = "VACUUM FULL"
        else:
            assert isinstance(node, ast.ClusterStmt)
            relations = [node.relation] if node.relation is not None else []
            what = "CLUSTER"
        tables = [ctx.qualify(r) for r in relations if not new_relation(ctx, r)]
        if relations and not tables:
            return
        target = ", ".join(tables) or "every table of the database"
        severity = max((scaled(ctx, self.severity, t)[0] for t in tables),
                       default=self.severity)
        sizes = "".join(scaled(ctx, self.severity, t)[1] for t in tables)
        yield self.at(statement, ctx,
                      f"{what} rewrites {target} and its indexes under ACCESS EXCLUSIVE: "
                      f"no read or write until the copy ends{sizes}",
                      object=tables[0] if len(tables) == 1 else None, severity=severity,
                      fix="pg_repack (online, brief locks), or plain VACUUM to make the "
                      "space reusable")


class RefreshMatviewBlocking(MigrationRule):
    """REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every reader of the view.

    Why
    ---
    A plain refresh holds ACCESS EXCLUSIVE on the view while the query runs (measured):
    every SELECT on it waits. ``REFRESH ... CONCURRENTLY`` takes EXCLUSIVE, so readers
    go on; it needs a unique index on the view and a populated view (PostgreSQL docs,
    "REFRESH MATERIALIZED VIEW").

    Bad
    ---
    ```sql
    REFRESH MATERIALIZED VIEW mv;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv;
    ```

    Notes
    -----
    Not reported for ``WITH NO DATA``, for a view created in the same file, or (with a
    database) for a view not yet populated, which nobody can read.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
    """

    id = "refresh-matview-blocking"
    severity = Severity.WARNING
    object_kind = "view"
    docs_url = "https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.RefreshMatViewStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.RefreshMatViewStmt)
        if node.concurrent or node.skipData or new_relation(ctx, node.relation):
            return
        view = ctx.qualify(node.relation)
        live = next((v for v in ctx.catalog.snapshot.views
                     if v.qualified == view), None) if ctx.catalog else None
        if live is not None and not live.populated:
            return
        unique = live is None or any(i.unique and not i.predicate and not i.expressions
                                     for i in live.indexes)
        yield self.at(statement, ctx,
                      f"REFRESH MATERIALIZED VIEW {view} holds ACCESS EXCLUSIVE on it: every "
                      "read of the view waits for the whole refresh",
                      object=view,
                      fix="REFRESH MATERIALIZED VIEW CONCURRENTLY (readers continue)"
                      + ("" if unique else f"; it needs a unique index on {view} first"))


class RequireConcurrentPartitionDetach(MigrationRule):
    """DETACH PARTITION without CONCURRENTLY locks parent and partition exclusively.

    Why
    ---
    A plain ``DETACH PARTITION`` takes ACCESS EXCLUSIVE on both the partitioned table
    and the partition (measured): every query on the parent queues. ``DETACH PARTITION
    ... CONCURRENTLY`` (PostgreSQL 14+) takes SHARE UPDATE EXCLUSIVE and waits for
    running queries in two transactions; it cannot run in a transaction block nor when
    the parent has a default partition (PostgreSQL docs, "ALTER TABLE").

    Bad
    ---
    ```sql
    ALTER TABLE ev DETACH PARTITION ev_2019;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    ALTER TABLE ev DETACH PARTITION ev_2019 CONCURRENTLY;
    ```

    Notes
    -----
    On a target before PostgreSQL 14 there is no concurrent form: the finding is info
    and says so.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION
    - squawk: require-concurrent-partition-detach
    """

    id = "require-concurrent-partition-detach"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DETACH-PARTITION"
    upstream = ("squawk:require-concurrent-partition-detach",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_DetachPartition):
            return
        if new_relation(ctx, node.relation):
            return
        parent = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            part = cmd.def_
            if cmd.subtype != AT.AT_DetachPartition or not isinstance(part, ast.PartitionCmd) \
                    or part.concurrent:
                continue
            partition = ctx.qualify(part.name)
            severity, size = scaled(ctx, self.severity, parent)
            version = ctx.target_version
            if version is not None and version < 140000:
                severity = Severity.INFO
                fix = (f"run it under a short lock_timeout; DETACH ... CONCURRENTLY needs "
                       f"PostgreSQL 14 (target {version})")
            elif default_partition(ctx, parent):
                fix = (f"{parent} has a default partition, which rules CONCURRENTLY out: "
                       "run it under a short lock_timeout with retries")
            else:
                fix = f"ALTER TABLE {parent} DETACH PARTITION {partition} CONCURRENTLY in " \
                      + NO_TRANSACTION
            yield self.at(statement, ctx,
                          f"DETACH PARTITION {partition} takes ACCESS EXCLUSIVE on {parent} "
                          f"and the partition: every query on {parent} queues{size}",
                          object=parent, severity=severity, fix=fix)


class _TableRewrite(MigrationRule, abstract=True):
    """An ALTER TABLE subcommand that always rewrites the relation."""

    subtypes: ClassVar[dict[enums.AlterTableType, str]]
    fix_words: ClassVar[str]

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, *self.subtypes):
            return
        if new_relation(ctx, node.relation):
            return
        target = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            words = self.subtypes.get(cmd.subtype) if cmd.subtype is not None else None
            if words is None:
                continue
            if ctx.created_here("index", target):
                return
            table = table_of_index(ctx, target) or target
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{words.format(name=cmd.name)} rewrites {target} under ACCESS "
                          f"EXCLUSIVE on {table}: no read or write until the copy ends{size}",
                          object=target, severity=severity, fix=self.fix_words)


class SetLoggedUnloggedRewrite(_TableRewrite):
    """ALTER TABLE ... SET LOGGED / SET UNLOGGED rewrites the table.

    Why
    ---
    Changing a table's persistence writes a new copy of it and its indexes (to or
    from the WAL) while ACCESS EXCLUSIVE is held (measured by ``relfilenode``). An
    UNLOGGED table is also emptied after a crash and is not replicated (PostgreSQL
    docs, "ALTER TABLE", ``SET { LOGGED | UNLOGGED }``; "CREATE TABLE", UNLOGGED).

    Bad
    ---
    ```sql
    ALTER TABLE t SET UNLOGGED;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t SET (fillfactor = 90);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-LOGGED-UNLOGGED
    - Atlas: PG307
    """

    id = "set-logged-unlogged-rewrite"
    severity = Severity.WARNING
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-SET-LOGGED-UNLOGGED"
    upstream = ("atlas:PG307",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)
    subtypes: ClassVar[dict[enums.AlterTableType, str]] = {AT.AT_SetLogged: "SET LOGGED",
                                          AT.AT_SetUnLogged: "SET UNLOGGED (which also "
                                          "gives up crash safety and replication)"}
    fix_words = ("create a new table with the wanted persistence, copy the rows in "
                 "batches and swap; or run it in a maintenance window")


class TablespaceMoveRewrite(_TableRewrite):
    """ALTER TABLE/INDEX ... SET TABLESPACE copies the relation under ACCESS EXCLUSIVE.

    Why
    ---
    Moving a table or index to another tablespace copies every block of it while
    ACCESS EXCLUSIVE is held: no read or write of the table meanwhile (PostgreSQL docs,
    "ALTER TABLE", ``SET TABLESPACE``). ``ALTER ... ALL IN TABLESPACE`` does it to
    every relation there.

    Bad
    ---
    ```sql
    ALTER INDEX t_a_idx SET TABLESPACE pg_default;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b) TABLESPACE pg_default;
    ```

    Notes
    -----
    Naming the tablespace the relation is already in does nothing (measured:
    ``relfilenode`` unchanged). Nearly everything lives in ``pg_default``, so a move to
    ``pg_default`` is reported as info, saying it copies only a relation stored
    elsewhere; a move to any other tablespace is a warning.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-TABLESPACE
    - pgrubic: US017, US018, US023, US024
    """

    id = "tablespace-move-rewrite"
    severity = Severity.WARNING
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-SET-TABLESPACE"
    upstream = ("pgrubic:US017",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,
                                                   ast.AlterTableMoveAllStmt)
    subtypes: ClassVar[dict[enums.AlterTableType, str]] = {
        AT.AT_SetTableSpace: "SET TABLESPACE {name}"}
    fix_words = ("pg_repack --tablespace (online), or build a new index CONCURRENTLY in "
                 "the target tablespace and drop the old one; else a maintenance window")

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.AlterTableMoveAllStmt):
            yield self.at(statement, ctx,
                          f"ALL IN TABLESPACE {node.orig_tablespacename} SET TABLESPACE "
                          f"{node.new_tablespacename} copies every relation there, each under "
                          "ACCESS EXCLUSIVE", fix=self.fix_words)
            return
        for finding in super().check(statement, ctx):
            assert isinstance(node, ast.AlterTableStmt)
            if any(c.subtype == AT.AT_SetTableSpace and c.name == "pg_default"
                   for c in alter_cmds(node)):
                finding = replace(
                    finding, severity=Severity.INFO,
                    message=finding.message.replace(
                        " rewrites ", " copies (only if it is not in pg_default already: "
                        "PostgreSQL skips a move to the current tablespace) ", 1))
            yield finding


class SetAccessMethodRewrite(_TableRewrite):
    """ALTER TABLE ... SET ACCESS METHOD rewrites the table (PostgreSQL 15+).

    Why
    ---
    Changing the table access method writes the whole table in the new format while
    ACCESS EXCLUSIVE is held (PostgreSQL docs, "ALTER TABLE", ``SET ACCESS METHOD``).

    Bad
    ---
    ```sql
    ALTER TABLE t SET ACCESS METHOD heap;
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int) USING heap;
    ```

    Notes
    -----
    Naming the access method the table already has does nothing (measured on 15 and
    18: ``relfilenode`` unchanged). ``heap`` is the only table access method PostgreSQL
    ships and the default, so ``SET ACCESS METHOD heap`` is reported as info, saying it
    rewrites only a table on another access method; Atlas's PG311 reports it as a
    rewrite.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-ACCESS-METHOD
    - Atlas: PG311
    """

    id = "set-access-method-rewrite"
    severity = Severity.WARNING
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-SET-ACCESS-METHOD"
    upstream = ("atlas:PG311",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)
    subtypes: ClassVar[dict[enums.AlterTableType, str]] = {
        AT.AT_SetAccessMethod: "SET ACCESS METHOD {name}"}
    fix_words = "create a new table with the access method, copy the rows and swap"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for finding in super().check(statement, ctx):
            node = statement.node
            assert isinstance(node, ast.AlterTableStmt)
            method = next((c.name for c in alter_cmds(node)
                           if c.subtype == AT.AT_SetAccessMethod), None)
            if method in (None, "heap"):  # None: SET ACCESS METHOD DEFAULT (PG 17+)
                finding = replace(
                    finding, severity=Severity.INFO,
                    message=finding.message.replace(
                        " rewrites ", " rewrites (only if it is not heap already: PostgreSQL "
                        "skips a change to the current access method) ", 1))
            yield finding
