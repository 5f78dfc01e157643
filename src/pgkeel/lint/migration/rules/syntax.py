"""Migration rules, catalogue section C: what the parser and PostgreSQL's name rules say.

SQL the parser rejects (``syntax-error``, reported by the engine), syntax the target
server does not have, names PostgreSQL truncates, columns named twice, and
``pgkeel:disable`` comments that silence nothing or say no reason (``bad-suppression``,
reported by the engine). Transactions, timeouts and file names are in :mod:`.hygiene`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration._hygiene import OLDEST_SUPPORTED, long_identifiers, newer_syntax
from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

#: A node type no statement has: the rule is reported by the engine, never dispatched.
_ENGINE_ONLY: tuple[type[ast.Node], ...] = (ast.RawStmt,)


class IdentifierTooLong(MigrationRule):
    """An identifier longer than 63 bytes, which PostgreSQL silently truncates.

    Why
    ---
    Names are at most ``NAMEDATALEN - 1`` = 63 bytes; a longer one is truncated with
    only a NOTICE, so a later statement that uses the full name misses the object, and
    two long names can collide (PostgreSQL docs, "Identifiers and Key Words"). Names
    PostgreSQL generates for unnamed indexes and constraints are shortened too.

    Bad
    ---
    ```sql
    CREATE TABLE n (
      x int CONSTRAINT this_check_constraint_name_is_far_too_long_for_postgres_to_keep_it
        CHECK (x > 0)
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int CONSTRAINT n_x_pos CHECK (x > 0));
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
    - squawk: identifier-too-long
    """

    id = "identifier-too-long"
    severity = Severity.ERROR
    docs_url = ("https://www.postgresql.org/docs/current/sql-syntax-lexical.html"
                "#SQL-SYNTAX-IDENTIFIERS")
    upstream = ("squawk:identifier-too-long",)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for name, generated in long_identifiers(statement.sql, statement.node, ctx):
            size = len(name.encode())
            if generated:
                # PostgreSQL shortens a generated name until it fits and stays unique
                # (makeObjectName): nothing fails, but the name is not the one expected.
                yield self.at(statement, ctx,
                              f"the name PostgreSQL would generate, {name!r}, is {size} "
                              "bytes: it shortens it, so a later DROP or VALIDATE by the "
                              "expected name misses", severity=Severity.WARNING,
                              fix="name the constraint or index explicitly, in at most "
                              "63 bytes")
                continue
            kept = name.encode()[:63].decode(errors="ignore")
            yield self.at(statement, ctx,
                          f"{name!r} is {size} bytes: PostgreSQL keeps only the first 63 "
                          f"({kept!r})", fix="choose a name of at most 63 bytes")


class BanDuplicateColumnAssignments(MigrationRule):
    """A column declared twice in CREATE TABLE, or assigned twice in UPDATE or INSERT.

    Why
    ---
    PostgreSQL refuses it at run time ("column specified more than once", "multiple
    assignments to same column"), so the migration fails part-way.

    Bad
    ---
    ```sql
    UPDATE t SET a = 1, a = 2;
    ```

    Good
    ----
    ```sql
    UPDATE t SET a = 1, owner_id = 2;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-update.html
    - squawk: ban-duplicate-column-assignments
    """

    id = "ban-duplicate-column-assignments"
    severity = Severity.ERROR
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-update.html"
    upstream = ("squawk:ban-duplicate-column-assignments",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (
        ast.UpdateStmt, ast.InsertStmt, ast.CreateStmt, ast.ViewStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.UpdateStmt):
            names = [_target(t) for t in node.targetList or ()]
        elif isinstance(node, ast.InsertStmt):
            names = [_target(t) for t in node.cols or ()]
        elif isinstance(node, ast.CreateStmt):
            names = [e.colname for e in node.tableElts or () if isinstance(e, ast.ColumnDef)]
        else:
            assert isinstance(node, ast.ViewStmt)
            names = [a.sval for a in node.aliases or () if isinstance(a, ast.String)]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                yield self.at(statement, ctx,
                              f"column {name} appears twice: PostgreSQL refuses the "
                              "statement", fix="remove the duplicate")
            seen.add(name)


def _target(target: ast.Node) -> str:
    """``name`` or ``name.field[...]`` of an UPDATE/INSERT target (distinct subfields of
    a composite column are distinct targets)."""
    assert isinstance(target, ast.ResTarget)
    rest = "".join(f".{i.sval}" if isinstance(i, ast.String) else "[]"
                   for i in target.indirection or ())
    return f"{target.name}{rest}"


class SyntaxErrorRule(MigrationRule):
    """SQL that PostgreSQL's parser rejects.

    Why
    ---
    The runner fails at that statement: a transactional file is rolled back, a
    ``transaction:false`` file is left half-applied. pgkeel reports the file, line and
    column the parser names, and still lints every statement it can parse.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN c int;
    ```

    Notes
    -----
    The parser is PostgreSQL 18's (pglast); syntax an older target lacks is
    ``syntax-newer-than-target``.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax.html
    - squawk: syntax-error
    """

    id = "syntax-error"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax.html"
    upstream = ("squawk:syntax-error",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _ENGINE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())


class BadSuppression(MigrationRule):
    """A pgkeel:disable comment without a reason, naming no known rule, or covering nothing.

    Why
    ---
    A suppression is an accepted risk; without the reason, the next reader cannot
    tell whether it still holds. A misspelt rule id, or a comment that is not on the
    line right before a statement, silences nothing while looking as if it did.

    Bad
    ---
    ```sql
    -- pgkeel:disable require-concurrent-index
    CREATE INDEX t_b_idx ON t (b);
    ```

    Good
    ----
    ```sql
    -- pgkeel:disable require-concurrent-index -- t holds 100 rows until the import job
    CREATE INDEX t_b_idx ON t (b);
    ```

    Notes
    -----
    The form is ``-- pgkeel:disable RULE[, RULE] -- reason`` on the line right before
    the statement, or at the top of the file (before the first statement, not right
    above it) for the whole file.

    References
    ----------
    - https://github.com/sbdchd/squawk/blob/master/docs/docs/ignoring-statements.md
    """

    id = "bad-suppression"
    severity = Severity.WARNING
    docs_url = "https://github.com/sbdchd/squawk/blob/master/docs/docs/ignoring-statements.md"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = _ENGINE_ONLY

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())


class SyntaxNewerThanTarget(MigrationRule):
    """Syntax the target server does not have, which the parser (PostgreSQL 18's) accepts.

    Why
    ---
    pgkeel parses with PostgreSQL 18's grammar, so a file can lint clean and pass CI
    on PostgreSQL 18 while production PostgreSQL 15 rejects it: VIRTUAL generated
    columns (and a generated column without STORED) and ``NOT NULL ... NOT VALID``
    before 18, ``MERGE``, ``NULLS NOT DISTINCT``, ``security_invoker`` views and ``SET
    ACCESS METHOD`` before 15, ``DETACH PARTITION ... CONCURRENTLY`` and ``CREATE OR
    REPLACE TRIGGER`` before 14, ``REINDEX CONCURRENTLY`` before 12 (each version's
    release notes).

    Bad
    ---
    ```sql
    -- example: target-version=150004
    ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2) VIRTUAL;
    ```

    Good
    ----
    ```sql
    -- example: target-version=150004
    ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2) STORED;
    ```

    ```sql
    -- example: target-version=180001
    ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2) VIRTUAL;
    ```

    Notes
    -----
    The target is the connected server's version, else ``--target-version`` or ``[lint]
    target_version``, else the oldest release the PostgreSQL project still supports
    (15), and the message says which it used.

    References
    ----------
    - https://www.postgresql.org/docs/release/
    - https://www.postgresql.org/support/versioning/
    """

    id = "syntax-newer-than-target"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/release/"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (
        ast.CreateStmt, ast.AlterTableStmt, ast.ViewStmt, ast.ReindexStmt, ast.MergeStmt,
        ast.IndexStmt, ast.CreateTrigStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        target = ctx.target_version
        version = target or OLDEST_SUPPORTED
        for feature, since in newer_syntax(statement.node):
            if version < since:
                told = (f"the target is PostgreSQL {_major(version)}" if target else
                        f"the target version is unknown, so PostgreSQL {_major(version)} "
                        "(the oldest supported) is assumed")
                yield self.at(statement, ctx,
                              f"{feature} needs PostgreSQL {_major(since)} or later; {told}",
                              fix="use syntax the target has, or set the target version "
                              "(--target-version, [lint] target_version) if it is newer")


def _major(version_num: int) -> str:
    return str(version_num // 10000)
