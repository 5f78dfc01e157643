"""Migration rules, catalogue section A: building, dropping and rebuilding indexes.

A plain ``CREATE INDEX`` holds SHARE (writes wait), ``DROP INDEX`` ACCESS EXCLUSIVE on
the table, ``REINDEX`` SHARE on the table and ACCESS EXCLUSIVE on the index; the
``CONCURRENTLY`` forms avoid that and bring their own traps (PostgreSQL docs, "CREATE
INDEX", "DROP INDEX", "REINDEX"; lock modes measured on PostgreSQL 15 from
``pg_locks``, :mod:`pgkeel.lint.migration.locks`). Tables created earlier in the same
file are exempt: they are empty and no other session can see them before the file
commits. The rest of section A is in :mod:`.safety_constraints`, :mod:`.safety_scans`,
:mod:`.safety_columns`, :mod:`.safety_types`, :mod:`.safety_tables` and
:mod:`.safety_transactions`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.rules._safety import (
    AT,
    NO_TRANSACTION,
    alter_cmds,
    catalog_index,
    concurrent_reindex,
    dotted,
    new_relation,
    scaled,
    table_of_index,
)
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

    Notes
    -----
    An index on a partitioned table is left to partitioned-index-without-only:
    PostgreSQL refuses CONCURRENTLY there, so this rule's fix would fail.

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
        if node.relation.inh and _partitioned_with_rows(ctx, table):
            return
        severity, size = ctx.scaled(self.severity, table)
        yield self.at(statement, ctx,
                      f"CREATE INDEX on {table} without CONCURRENTLY holds a SHARE lock: "
                      "writes to the table wait for the whole build"
                      + (f" ({size})" if size else ""),
                      object=table, severity=severity,
                      fix="CREATE INDEX CONCURRENTLY in a migration whose marker says "
                      "'-- migrate:up transaction:false'")


class RequireConcurrentIndexDrop(MigrationRule):
    """DROP INDEX without CONCURRENTLY takes ACCESS EXCLUSIVE on the index's table.

    Why
    ---
    A plain ``DROP INDEX`` locks the table the index belongs to in ACCESS EXCLUSIVE
    mode (measured in ``pg_locks``): it queues behind every running query on the table
    and, while it waits, every new query queues behind it, reads included.
    ``DROP INDEX CONCURRENTLY`` waits for conflicting transactions instead of blocking
    them (PostgreSQL docs, "DROP INDEX").

    Bad
    ---
    ```sql
    DROP INDEX t_a_idx;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    DROP INDEX CONCURRENTLY t_a_idx;
    ```

    Notes
    -----
    An index that backs a constraint (primary key, unique, exclusion) cannot be dropped
    with DROP INDEX at all; with a database the fix says to drop the constraint.
    Indexes created earlier in the same file are exempt.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-dropindex.html
    - squawk: require-concurrent-index-deletion
    """

    id = "require-concurrent-index-drop"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-dropindex.html"
    upstream = ("squawk:require-concurrent-index-deletion",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.DropStmt)
        if node.removeType != enums.ObjectType.OBJECT_INDEX or node.concurrent:
            return
        for names in node.objects or ():
            parts = dotted(names if isinstance(names, tuple) else ()).split(".")
            index = qualified(parts[-2] if len(parts) > 1 else None, parts[-1],
                              ctx.search_path)
            if ctx.created_here("index", index):
                continue
            table = table_of_index(ctx, index)
            severity, size = scaled(ctx, self.severity, table) if table \
                else (self.severity, "")
            found = catalog_index(ctx, index)
            if found and found[1].constraint:
                fix = (f"the index backs constraint {found[1].constraint}: ALTER TABLE "
                       f"{found[0].qualified} DROP CONSTRAINT {found[1].constraint} "
                       "under a short lock_timeout")
            else:
                fix = f"DROP INDEX CONCURRENTLY IF EXISTS {index} in {NO_TRANSACTION}"
            yield self.at(statement, ctx,
                          f"DROP INDEX {index} takes an ACCESS EXCLUSIVE lock on "
                          f"{table or 'its table'}: every read and write of the table "
                          f"queues behind it{size}",
                          object=index, severity=severity, fix=fix)


class RequireConcurrentReindex(MigrationRule):
    """REINDEX without CONCURRENTLY blocks writes to the table and reads via the index.

    Why
    ---
    ``REINDEX`` holds a SHARE lock on the table (writes wait) and ACCESS EXCLUSIVE on
    each index it rebuilds (queries that would use it wait) for the whole rebuild
    (measured in ``pg_locks``). ``REINDEX ... CONCURRENTLY`` (PostgreSQL 12+) builds
    the new index beside the old one and swaps them (PostgreSQL docs, "REINDEX",
    Rebuilding Indexes Concurrently).

    Bad
    ---
    ```sql
    REINDEX INDEX t_a_idx;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    REINDEX INDEX CONCURRENTLY t_a_idx;
    ```

    Notes
    -----
    Before PostgreSQL 12 there is no CONCURRENTLY form: the fix then is a new index
    built concurrently, the old one dropped concurrently and the new one renamed.
    ``REINDEX SYSTEM`` has no concurrent form and is not reported.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-reindex.html#SQL-REINDEX-CONCURRENTLY
    - squawk: require-concurrent-reindex
    """

    id = "require-concurrent-reindex"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-reindex.html#SQL-REINDEX-CONCURRENTLY"
    upstream = ("squawk:require-concurrent-reindex",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.ReindexStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.ReindexStmt)
        kinds = enums.ReindexObjectType
        if concurrent_reindex(node) or node.kind == kinds.REINDEX_OBJECT_SYSTEM:
            return
        target = ctx.qualify(node.relation) if node.relation else node.name or "database"
        table = target
        if node.kind == kinds.REINDEX_OBJECT_INDEX:
            if ctx.created_here("index", target):
                return
            table = table_of_index(ctx, target) or target
        elif node.relation is not None and new_relation(ctx, node.relation):
            return
        severity, size = scaled(ctx, self.severity, table)
        version = ctx.target_version
        if version is not None and version < 120000:
            fix = ("PostgreSQL before 12 has no REINDEX CONCURRENTLY: CREATE INDEX "
                   "CONCURRENTLY a copy, DROP INDEX CONCURRENTLY the old one, rename the "
                   f"copy (target version {version})")
        else:
            fix = f"REINDEX ... CONCURRENTLY in {NO_TRANSACTION}"
        yield self.at(statement, ctx,
                      f"REINDEX of {target} holds a SHARE lock on the table (writes wait) "
                      "and ACCESS EXCLUSIVE on each index it rebuilds (reads that use it "
                      f"wait){size}",
                      object=target, severity=severity, fix=fix)


class ConcurrentIndexIfNotExists(MigrationRule):
    """CREATE INDEX CONCURRENTLY IF NOT EXISTS can keep an invalid index for good.

    Why
    ---
    A concurrent build that fails (a deadlock, a duplicate in a unique build, a
    cancelled statement) leaves an INVALID index under its name (PostgreSQL docs,
    "CREATE INDEX", Building Indexes Concurrently). The retry with ``IF NOT EXISTS``
    then prints "already exists, skipping" and the index is never built: queries keep
    not using it and a unique one enforces nothing on old rows (measured;
    chatwoot/chatwoot#15885).

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY IF NOT EXISTS t_b_idx ON t (b);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    DROP INDEX CONCURRENTLY IF EXISTS t_b_idx;
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    Notes
    -----
    squawk's prefer-robust-stmts recommends the IF NOT EXISTS form for exactly these
    statements; PostgreSQL's behaviour on retry is why pgkeel does not. With a
    database, an invalid index of that name existing now makes the finding an error.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    - https://github.com/chatwoot/chatwoot/issues/15885
    """

    id = "concurrent-index-if-not-exists"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt)
        if not (node.concurrent and node.if_not_exists and node.idxname):
            return
        index = qualified(node.relation.schemaname, node.idxname, ctx.search_path)
        found = catalog_index(ctx, index)
        invalid = found is not None and not found[1].valid
        message = (f"{index} exists now and is INVALID: IF NOT EXISTS skips the build and "
                   "it stays invalid" if invalid else
                   f"if a concurrent build of {index} fails, it leaves an INVALID index "
                   "that IF NOT EXISTS then skips on every retry")
        yield self.at(statement, ctx, message, object=index,
                      severity=Severity.ERROR if invalid else self.severity,
                      fix=f"DROP INDEX CONCURRENTLY IF EXISTS {index}; then CREATE INDEX "
                      "CONCURRENTLY without IF NOT EXISTS")


class PartitionedIndexWithoutOnly(MigrationRule):
    """CREATE INDEX on a partitioned table locks every partition for the whole build.

    Why
    ---
    PostgreSQL refuses ``CONCURRENTLY`` on a partitioned table (measured), so an
    index on the parent is a plain build that holds SHARE on every partition until
    the last one is indexed. ``CREATE INDEX ... ON ONLY parent`` makes an invalid
    shell at once; each partition's index can then be built ``CONCURRENTLY`` and
    attached with ``ALTER INDEX ... ATTACH PARTITION``, which validates the parent
    index when the last is attached (PostgreSQL docs, "Table Partitioning",
    Partition Maintenance).

    Bad
    ---
    ```sql
    CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE INDEX ev_d_idx ON ev (d);
    ```

    Good
    ----
    ```sql
    CREATE INDEX ev_d_idx ON ONLY ev (d);
    ```

    Notes
    -----
    The parent is known to be partitioned from the live catalog (then a bare ``CREATE
    INDEX ev_d_idx ON ev (d)`` is reported), or from this file: a ``PARTITION OF`` it,
    an ATTACH or DETACH on it, or its ``CREATE TABLE ... PARTITION BY`` (a parent
    created here is reported only when an existing table was attached to it).
    Offline, a parent the file says nothing about is not reported.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE
    - https://www.postgresql.org/docs/current/sql-createindex.html
    """

    id = "partitioned-index-without-only"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt)
        if not node.relation.inh:
            return
        table = ctx.qualify(node.relation)
        if not _partitioned_with_rows(ctx, table):
            return
        severity, size = scaled(ctx, self.severity, table)
        refused = " (and PostgreSQL refuses CONCURRENTLY here)" if node.concurrent else ""
        yield self.at(statement, ctx,
                      f"{table} is partitioned: CREATE INDEX on it holds SHARE on every "
                      f"partition until the whole build ends{refused}{size}",
                      object=table, severity=severity,
                      fix=f"CREATE INDEX ... ON ONLY {table}; CREATE INDEX CONCURRENTLY on "
                      "each partition; ALTER INDEX <parent index> ATTACH PARTITION "
                      "<partition index> for each")


def _partitioned_with_rows(ctx: MigrationContext, table: str) -> bool:
    """True when ``table`` is a partitioned table that may hold rows: partitioned in the
    live catalog, or shown partitioned by this file (``PARTITION OF`` it, ATTACH or
    DETACH on it) while existing before the file, or created here ``PARTITION BY`` with
    an existing table attached."""
    created = False
    partitioned = False
    attached_existing = False
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.CreateStmt):
            if ctx.qualify(node.relation) == table:
                created = node.partspec is not None
            partitioned |= any(ctx.qualify(p) == table for p in node.inhRelations or ()
                               if isinstance(p, ast.RangeVar) and node.partbound)
        elif isinstance(node, ast.AlterTableStmt) and ctx.qualify(node.relation) == table:
            for cmd in alter_cmds(node):
                if cmd.subtype in (AT.AT_AttachPartition, AT.AT_DetachPartition) \
                        and isinstance(cmd.def_, ast.PartitionCmd):
                    partitioned = True
                    attached_existing |= cmd.subtype == AT.AT_AttachPartition \
                        and not new_relation(ctx, cmd.def_.name)
    if created:
        return attached_existing
    live = ctx.catalog.table(table) if ctx.catalog else None
    return partitioned or (live is not None and live.kind == "partitioned")


class ConcurrentIndexOnAffectedMinor(MigrationRule):
    """Concurrent index builds on PostgreSQL 14.0 to 14.3 can corrupt the index.

    Why
    ---
    PostgreSQL 14.4's release notes: "Prevent possible corruption of indexes created
    or rebuilt with the CONCURRENTLY option"; a change in 14.0 let concurrent builds
    miss rows inserted or updated meanwhile. strong_migrations refuses concurrent
    builds on those minors for the same reason.

    Bad
    ---
    ```sql
    -- example: target-version=140002
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    Good
    ----
    ```sql
    -- example: target-version=140004
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    Notes
    -----
    The version is the database's when linting against one, else ``--target-version``
    or the configuration; unknown versions are not reported.

    References
    ----------
    - https://www.postgresql.org/docs/release/14.4/
    - strong_migrations: index corruption check
    """

    id = "concurrent-index-on-affected-minor"
    severity = Severity.ERROR
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/release/14.4/"
    upstream = ("strong_migrations:index_corruption",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt, ast.ReindexStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        concurrent = node.concurrent if isinstance(node, ast.IndexStmt) \
            else concurrent_reindex(node)  # type: ignore[arg-type]
        version = ctx.target_version
        if not concurrent or version is None or not 140000 <= version < 140004:
            return
        yield self.at(statement, ctx,
                      f"the target server is {version // 10000}.{version % 100}: concurrent "
                      "index builds on 14.0-14.3 can silently miss rows (fixed in 14.4)",
                      fix="upgrade to 14.4 or later first, then REINDEX CONCURRENTLY the "
                      "indexes built concurrently on the affected minor")
