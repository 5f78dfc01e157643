"""Migration rules, catalogue section C: how the file will run, not what it changes.

Transactions (nesting, a ``BEGIN`` left open), timeouts in force when a statement
queues for a lock or runs long, statements that cannot be retried after a partial run,
names that resolve differently with another search_path or land in a forbidden schema,
and the file's name. What the parser and the name rules say (syntax errors, syntax newer
than the target, over-long names, duplicate columns, suppression comments) is in
:mod:`.syntax`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration._hygiene import (
    created_schema,
    robust_problem,
    slow_work,
    strong_locks,
    unqualified,
)
from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

TK = enums.TransactionStmtKind
_BEGIN = (TK.TRANS_STMT_BEGIN, TK.TRANS_STMT_START)
_END = (TK.TRANS_STMT_COMMIT, TK.TRANS_STMT_ROLLBACK, TK.TRANS_STMT_PREPARE)
#: A node type no statement has: the rule is reported by the engine, never dispatched.
_ENGINE_ONLY: tuple[type[ast.Node], ...] = (ast.RawStmt,)


class RequireLockTimeout(MigrationRule):
    """A statement that queues for a strong lock with no lock_timeout in force.

    Why
    ---
    A lock request waits behind every transaction that holds a conflicting lock, and
    every later request that conflicts with it waits behind *it* (PostgreSQL docs,
    "Explicit Locking", 13.3.1). A "fast" ``ALTER TABLE`` queued behind one long
    transaction therefore stops all reads and writes of the table until it gets its
    lock. ``lock_timeout`` makes it give up instead, so the migration fails and can be
    retried (PostgreSQL docs, "Client Connection Defaults", ``lock_timeout``).
    pgkeel's runner sets ``lock_timeout`` (the ``lock_timeout`` setting) before every
    migration it runs, so this fires for plain ``.sql`` files, for files whose
    runner timeout is configured off, and after a ``SET lock_timeout = 0``. A
    ``SET LOCAL`` expires at the end of its transaction.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    Good
    ----
    ```sql
    SET lock_timeout = '2s';
    ALTER TABLE t ADD COLUMN c int;
    ```

    ```sql
    CREATE TABLE n (x int);
    ALTER TABLE n ADD COLUMN y int;
    ```

    Notes
    -----
    Only locks that block ordinary traffic count: SHARE and stronger (a ``CREATE
    INDEX CONCURRENTLY`` or ``VALIDATE CONSTRAINT`` waits with SHARE UPDATE EXCLUSIVE,
    which queues only other DDL and VACUUM). Tables created earlier in the file are
    exempt: nobody else can hold a lock on them.

    References
    ----------
    - https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
    - https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES
    - squawk: require-timeout-settings (lock_timeout part); eugene: E9
    """

    id = "require-lock-timeout"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT"
    upstream = ("squawk:require-timeout-settings", "eugene:E9")

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.lock_timeout_ms is not None:
            return
        locks = strong_locks(statement.node, ctx)
        if not locks:
            return
        table, mode = max(locks.items(), key=lambda item: item[1])
        yield self.at(statement, ctx,
                      f"this statement waits for the {mode.label} lock on {table} with no "
                      "lock_timeout: while it waits, every query on the table queues "
                      "behind it", object=table,
                      fix="SET lock_timeout = '2s'; before it (SET LOCAL inside the "
                      "transaction), and retry the migration when it times out")


class RequireStatementTimeout(MigrationRule):
    """A statement that rewrites or scans a table with no statement_timeout in force.

    Why
    ---
    A rewrite (``ALTER COLUMN ... TYPE``), a validating scan (``ADD CONSTRAINT``,
    ``SET NOT NULL``), a plain index build or a backfill holds its locks until it ends;
    on a table larger than expected it can run for hours. ``statement_timeout`` bounds
    it (PostgreSQL docs, "Client Connection Defaults", ``statement_timeout``).

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN a TYPE bigint;
    ```

    Good
    ----
    ```sql
    SET statement_timeout = '5min';
    ALTER TABLE t ALTER COLUMN a TYPE bigint;
    ```

    Notes
    -----
    ``CREATE INDEX CONCURRENTLY`` is not asked for one: a timeout there cancels the
    build and leaves an INVALID index behind, so give those a generous timeout or 0.
    Statements on tables created earlier in the file are exempt.

    References
    ----------
    - https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-STATEMENT-TIMEOUT
    - squawk: require-timeout-settings (statement_timeout part)
    """

    id = "require-statement-timeout"
    severity = Severity.INFO
    docs_url = ("https://www.postgresql.org/docs/current/runtime-config-client.html"
                "#GUC-STATEMENT-TIMEOUT")
    upstream = ("squawk:require-timeout-settings",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.statement_timeout_ms is not None:
            return
        work = slow_work(statement.node, ctx)
        if work is None:
            return
        table, what = work
        yield self.at(statement, ctx,
                      f"{what} on {table} with no statement_timeout: nothing bounds how "
                      "long it holds its locks", object=table,
                      fix="SET statement_timeout = '5min'; (or what the table's size "
                      "needs) before it")


class TransactionNesting(MigrationRule):
    """BEGIN, COMMIT or ROLLBACK inside a transaction the runner (or the file) opened.

    Why
    ---
    The runner wraps the section in one transaction. A ``BEGIN`` inside it only
    warns ("there is already a transaction in progress"), and a ``COMMIT`` ends the
    runner's transaction early: the statements after it run in autocommit, so a
    later failure leaves a half-applied migration that the history calls failed
    (PostgreSQL docs, "BEGIN", "COMMIT").

    Bad
    ---
    ```sql
    BEGIN;
    ALTER TABLE t ADD COLUMN c int;
    COMMIT;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    ```sql
    -- migrate:up transaction:false
    BEGIN;
    ALTER TABLE t ADD COLUMN c int;
    COMMIT;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-begin.html
    - squawk: transaction-nesting
    """

    id = "transaction-nesting"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/sql-begin.html"
    upstream = ("squawk:transaction-nesting",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.TransactionStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.TransactionStmt)
        fix = ("remove the transaction control (the runner wraps the file), or mark the "
               "section '-- migrate:up transaction:false'")
        if node.kind in _BEGIN and ctx.in_transaction:
            opener = "the runner's" if ctx.section.wrapped and not ctx.explicit_transaction \
                else "an earlier BEGIN's"
            yield self.at(statement, ctx,
                          f"BEGIN inside {opener} transaction: PostgreSQL only warns, and "
                          "the transaction does not nest", fix=fix)
        elif node.kind in _END and ctx.section.wrapped:
            yield self.at(statement, ctx,
                          "COMMIT/ROLLBACK inside the runner's transaction ends it early: "
                          "the statements after it run outside any transaction, so a "
                          "failure leaves the migration half-applied", fix=fix)


class BanUncommittedTransaction(MigrationRule):
    """A BEGIN with no COMMIT or ROLLBACK before the end of the section.

    Why
    ---
    When the session ends, the open transaction is rolled back: the work is lost and
    the tool that ran the file saw no error (PostgreSQL docs, "BEGIN").

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    BEGIN;
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    BEGIN;
    CREATE TABLE n (x int);
    COMMIT;
    ```

    Notes
    -----
    Only sections the runner does not wrap: inside the runner's transaction, the
    runner's COMMIT ends what the BEGIN opened, and the BEGIN itself is
    ``transaction-nesting``.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-begin.html
    - squawk: ban-uncommitted-transaction
    """

    id = "ban-uncommitted-transaction"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/sql-begin.html"
    upstream = ("squawk:ban-uncommitted-transaction",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _ENGINE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.section.wrapped or not ctx.explicit_transaction:
            return
        begin = next(s for s in reversed(ctx.earlier)
                     if isinstance(s.node, ast.TransactionStmt) and s.node.kind in _BEGIN)
        yield self.at(begin, ctx,
                      "this BEGIN is never committed: when the session ends PostgreSQL "
                      "rolls the work back, and the run looks successful",
                      fix="end the transaction with COMMIT;")


class PreferRobustStmts(MigrationRule):
    """In a section that runs without a transaction, a statement that fails when re-run.

    Why
    ---
    With ``transaction:false`` (or a plain file run statement by statement), a failure
    half-way leaves the earlier statements applied. Re-running the file then fails on
    the first ``CREATE``/``ADD COLUMN``/``DROP`` that already happened, unless each says
    ``IF [NOT] EXISTS`` (PostgreSQL docs, "ALTER TABLE", "CREATE TABLE", "DROP TABLE").

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    ALTER TABLE t ADD COLUMN c int;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    ALTER TABLE t ADD COLUMN IF NOT EXISTS c int;
    ```

    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    Notes
    -----
    ``CREATE INDEX CONCURRENTLY`` is not asked for ``IF NOT EXISTS``: after a failed
    build the INVALID index exists, and ``IF NOT EXISTS`` would keep it (drop it and
    build again instead; squawk's advice here is wrong, see
    ``concurrent-index-if-not-exists``). Statements inside an explicit
    ``BEGIN ... COMMIT`` are atomic and exempt.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - squawk: prefer-robust-stmts
    """

    id = "prefer-robust-stmts"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("squawk:prefer-robust-stmts",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.in_transaction:
            return
        problem = robust_problem(statement.node)
        if problem is not None:
            what, fix = problem
            yield self.at(statement, ctx,
                          f"{what} fails if the section is run again after a partial run "
                          "(it runs outside a transaction)", fix=fix)


class RequireTableSchema(MigrationRule):
    """A table, view, index target, sequence or function named without its schema.

    Why
    ---
    An unqualified name resolves through ``search_path`` at run time, which can differ
    between the runner, psql and a restored environment: the object is created or
    altered somewhere else than intended (PostgreSQL docs, "The Schema Search Path").

    Bad
    ---
    ```sql
    CREATE TABLE posts (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE public.posts (id bigint);
    ```

    ```sql
    SET search_path = app;
    CREATE TABLE posts (id bigint);
    ```

    Notes
    -----
    A file that sets ``search_path`` itself decides where its names go, so its later
    statements are exempt. Opt-in.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH
    - squawk: require-table-schema
    """

    id = "require-table-schema"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATH"
    upstream = ("squawk:require-table-schema",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.search_path:
            return
        for name in unqualified(statement.node):
            yield self.at(statement, ctx,
                          f"{name} has no schema: where it lands depends on the "
                          "search_path in force when the migration runs",
                          fix=f"write it schema-qualified, e.g. public.{name}")


class DisallowedSchema(MigrationRule):
    """An object created in a schema the configuration forbids (by default public).

    Why
    ---
    Application objects in ``public`` (or another shared or API-exposed schema) are
    visible to every role that may use the schema, and mix with extensions' objects
    (PostgreSQL docs, "Schemas", Usage Patterns).

    Bad
    ---
    ```sql
    CREATE TABLE public.n (x int);
    ```

    Good
    ----
    ```sql
    CREATE TABLE app.n (x int);
    ```

    Notes
    -----
    An unqualified name counts as the first schema of the file's ``SET search_path``,
    else ``public``. Opt-in; ``schemas`` lists the forbidden schemas.

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS
    """

    id = "disallowed-schema"
    severity = Severity.WARNING
    opt_in = True
    object_kind = "schema"
    docs_url = "https://www.postgresql.org/docs/current/ddl-schemas.html#DDL-SCHEMAS-PATTERNS"
    options: ClassVar = {"schemas": RuleOption(list[str], "schemas no migration may create "
                                               "objects in", ["public"])}

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        created = created_schema(statement.node, ctx)
        if created is None:
            return
        schema, name = created
        if schema in ctx.option(self.id, "schemas", ["public"]):
            yield self.at(statement, ctx,
                          f"{name} is created in schema {schema}, which the configuration "
                          "forbids", object=name,
                          fix="create it in the application's schema (e.g. app.NAME)")


class MigrationFileName(MigrationRule):
    """A migration file whose name departs from YYYYMMDD_feature_name.sql.

    Why
    ---
    The runner accepts every name dbmate reads (leading version digits, then anything,
    then ``.sql``), so ``0042_x.up.sql`` or ``20240101-AddUsers.sql`` still run; the
    team's convention (a real date, then a lower-case snake_case name, as ``pgkeel
    migrate new`` writes) keeps the order readable and names greppable.

    Bad
    ---
    ```sql
    -- example: path=0042_AddUsers.up.sql
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    -- example: path=20240105_add_users.sql
    CREATE TABLE n (x int);
    ```

    ```sql
    -- example: path=one_off_fix.sql
    CREATE TABLE n (x int);
    ```

    Notes
    -----
    Only files whose name starts with a digit (a name dbmate would run) are judged:
    an ad-hoc ``fix.sql`` is not a migration. ``YYYYMMDDHHMMSS_feature_name.sql`` is
    accepted too.

    References
    ----------
    - https://github.com/amacneil/dbmate#creating-migrations
    """

    id = "migration-file-name"
    severity = Severity.WARNING
    docs_url = "https://github.com/amacneil/dbmate#creating-migrations"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _ENGINE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        from pgkeel.migrations._naming import CONVENTION, follows_convention

        name = ctx.path.name
        if ctx.section is not ctx.source.sections[0] or not name[:1].isdigit() \
                or follows_convention(name):
            return
        yield Finding(rule=self.id, severity=self.severity, docs=self.docs_url,
                      message=f"{name} does not follow the naming convention {CONVENTION}",
                      file=str(ctx.path), line=1, column=1,
                      fix="rename it to YYYYMMDD_feature_name.sql (only while no database "
                      "has applied it)")
