"""Migration rules that need the live database: its migration history and its sessions.

They stay silent offline. ``non-linear-migration`` and ``applied-migration-modified``
compare the file with pgkeel's history (``pgkeel.migrations``), read when linting
with a database; ``lock-queue-preflight`` compares the locks a statement takes with
the locks other sessions hold or await right now (``pg_locks`` joined with
``pg_stat_activity``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.locks import conflicts, locks_taken
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

#: A node type no statement has: these rules judge the file in ``finish``.
_FILE_ONLY: tuple[type[ast.Node], ...] = (ast.RawStmt,)


def _version(ctx: MigrationContext) -> str | None:
    """The file's migration version (its leading digits), or None for the down
    section, a name without one, or no history to compare with."""
    from pgkeel.migrations._naming import leading_version

    if ctx.catalog is None or ctx.catalog.applied is None \
            or ctx.section is not ctx.source.sections[0]:
        return None
    return leading_version(ctx.path.name) or None


class NonLinearMigration(MigrationRule):
    """A migration not yet applied whose version sorts before one already applied.

    Why
    ---
    A database already past that version applies the file after newer ones (pgkeel
    and dbmate run every pending file, in name order), so the file runs against a
    schema its author never saw, and environments apply migrations in different
    orders. Typical cause: a branch created before a newer migration was merged.

    Bad
    ---
    ```sql
    -- example: path=20240101_b.sql applied=20240105
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    -- example: path=20240110_b.sql applied=20240105
    CREATE TABLE n (x int);
    ```

    Notes
    -----
    Only with a database whose pgkeel history can be read. Versions compare as
    numbers.

    References
    ----------
    - https://atlasgo.io/versioned/lint#non-linear-changes
    """

    id = "non-linear-migration"
    severity = Severity.ERROR
    docs_url = "https://atlasgo.io/versioned/lint#non-linear-changes"
    upstream = ("atlas:non-linear changes",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _FILE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        version = _version(ctx)
        if version is None or ctx.catalog is None or ctx.catalog.applied is None \
                or version in ctx.catalog.applied:
            return
        later = sorted((v for v in ctx.catalog.applied if int(v) > int(version)), key=int)
        if later:
            yield Finding(
                rule=self.id, severity=self.severity, docs=self.docs_url,
                message=f"version {version} is not applied, but {len(later)} later "
                f"version(s) are (latest {later[-1]}): this database would apply it out "
                "of order, after migrations written later",
                file=str(ctx.path), line=1, column=1,
                fix=f"give the file a version after {later[-1]} (rename it with today's "
                "date)")


class AppliedMigrationModified(MigrationRule):
    """A migration file changed after the database applied it.

    Why
    ---
    The database ran the old text; environments that apply the new one end up with a
    different schema, and nobody re-runs the change where it was already applied.
    pgkeel records each file's SHA-256 (line endings and BOM normalised) when it
    applies it.

    Bad
    ---
    ```sql
    -- example: path=20240105_a.sql modified=20240105
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    -- example: path=20240105_a.sql applied=20240105
    CREATE TABLE n (x int);
    ```

    Notes
    -----
    Only with a database whose pgkeel history can be read. ``pgkeel migrate repair``
    records the new checksum when the edit was deliberate (comments, formatting).

    References
    ----------
    - https://atlasgo.io/concepts/migration-directory-integrity
    - https://documentation.red-gate.com/flyway/flyway-cli-and-api/usage/command-line/command-line-validate
    """

    id = "applied-migration-modified"
    severity = Severity.ERROR
    docs_url = "https://atlasgo.io/concepts/migration-directory-integrity"
    upstream = ("atlas:atlas.sum", "flyway:validate")
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _FILE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        version = _version(ctx)
        if version is None or ctx.catalog is None or ctx.catalog.applied is None:
            return
        from pgkeel.migrations.files import checksum  # only with a history to compare

        recorded = ctx.catalog.applied.get(version)
        if recorded is not None and recorded != checksum(ctx.source.text.encode()):
            yield Finding(
                rule=self.id, severity=self.severity, docs=self.docs_url,
                message=f"version {version} was applied from a different text (checksum "
                f"{recorded[:12]}…): the change never runs where it was already applied",
                file=str(ctx.path), line=1, column=1,
                fix="restore the applied text and put the change in a new migration "
                "(or `pgkeel migrate repair` if the edit changes nothing PostgreSQL runs)")


class LockQueuePreflight(MigrationRule):
    """Sessions now holding or awaiting locks that the statement's lock conflicts with.

    Why
    ---
    A migration's lock request queues behind every conflicting lock held or requested
    before it, and every later conflicting request queues behind it: one forgotten
    ``idle in transaction`` session that read the table turns a brief ``ALTER TABLE``
    into an outage (PostgreSQL docs, "Explicit Locking", 13.3.1). pgkeel reads
    ``pg_locks`` and ``pg_stat_activity`` when it lints with a database and names the
    sessions in the way.

    Bad
    ---
    ```sql
    -- example: blocking=public.t:AccessShareLock
    ALTER TABLE t ADD COLUMN c int;
    ```

    Good
    ----
    ```sql
    -- example: blocking=public.t:AccessShareLock
    CREATE INDEX t_b_idx ON t (b);
    ```

    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    Notes
    -----
    Only with a database; what it sees is the moment of linting, so run it right
    before the deployment (``pgkeel lint --pending``).

    References
    ----------
    - https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES
    - https://www.postgresql.org/docs/current/view-pg-locks.html
    """

    id = "lock-queue-preflight"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-TABLES"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        if ctx.catalog is None or not ctx.catalog.blocking:
            return
        for table, mode in locks_taken(statement.node, ctx.qualify).items():
            if ctx.is_new_name(table):
                continue
            blockers = [b for b in ctx.catalog.blocking.get(table, ())
                        if conflicts(mode, b.mode)]
            if blockers:
                shown = "; ".join(str(b) for b in blockers[:3])
                more = f"; and {len(blockers) - 3} more" if len(blockers) > 3 else ""
                yield self.at(statement, ctx,
                              f"its {mode.label} lock on {table} conflicts with "
                              f"{len(blockers)} session(s) now: {shown}{more}",
                              object=table,
                              fix="wait for those transactions to end (or end them with "
                              "pg_terminate_backend(pid)) before running the migration, "
                              "and keep lock_timeout set")
