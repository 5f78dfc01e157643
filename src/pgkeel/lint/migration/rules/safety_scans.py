"""Migration rules, catalogue section A: scans a validated CHECK can spare.

``SET NOT NULL`` and ``ATTACH PARTITION`` check every row under a strong lock unless a
validated CHECK constraint proves the rows comply (PostgreSQL docs, "ALTER TABLE",
``SET NOT NULL`` and ``ATTACH PARTITION``; measured on PostgreSQL 15: one scan without
the CHECK, none with it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._safety import (
    ALTER_DOCS,
    AT,
    alter_cmds,
    check_expression,
    column_of,
    conjuncts,
    default_partition,
    new_relation,
    not_null_known,
    proves_not_null,
    scaled,
    touches,
    validated_checks,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity
from pgkeel.sqltext import quote_ident

#: Where a fix's SQL splits into two migrations (a transaction must end in between).
NEXT_MIGRATION = " then, in the next migration: "


class SetNotNullScan(MigrationRule):
    """SET NOT NULL scans the table under ACCESS EXCLUSIVE unless a CHECK proves it.

    Why
    ---
    ``ALTER COLUMN ... SET NOT NULL`` checks every row while ACCESS EXCLUSIVE blocks
    all reads and writes, and fails if one is NULL. Since PostgreSQL 12 the scan is
    skipped when a validated ``CHECK (col IS NOT NULL)`` proves it (measured: 1 scan
    without, 0 with), so: add the CHECK ``NOT VALID``, ``VALIDATE`` it (SHARE UPDATE
    EXCLUSIVE), then SET NOT NULL, then drop the CHECK (PostgreSQL docs, "ALTER
    TABLE", ``SET/DROP NOT NULL``).

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN a SET NOT NULL;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID;
    ALTER TABLE t VALIDATE CONSTRAINT t_a_nn;
    ALTER TABLE t ALTER COLUMN a SET NOT NULL;
    ```

    Notes
    -----
    The CHECK may come from this file, from the live catalog, or be added NOT VALID by
    an earlier migration and validated in this one; squawk's adding-not-nullable-field
    ignores it (a false positive). On PostgreSQL 18 the fix is the new ``ADD CONSTRAINT
    ... NOT NULL col NOT VALID`` and VALIDATE; a NOT NULL constraint added NOT VALID in
    this file and not validated does not spare the scan (SET NOT NULL validates it).
    With a database, a column that is already NOT NULL is not reported (SET NOT NULL is
    then a no-op); a catalog column under a NOT VALID NOT NULL constraint (18) reads as
    NOT NULL in the snapshot and is missed. Before PostgreSQL 12 the CHECK does not help
    and the rule always reports.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
    - squawk: adding-not-nullable-field
    """

    id = "set-not-null-scan"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL"
    upstream = ("squawk:adding-not-nullable-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_SetNotNull):
            return
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        version = ctx.target_version
        proof_counts = version is None or version >= 120000
        for cmd in alter_cmds(node):
            if cmd.subtype != AT.AT_SetNotNull or not cmd.name:
                continue
            column = cmd.name
            if not_null_known(ctx, table, column):
                continue
            if proof_counts and (ctx.has_not_null_check(table, column) or any(
                    proves_not_null(e, column) for e in validated_checks(ctx, table))):
                continue
            severity, size = scaled(ctx, self.severity, table)
            gate = "" if proof_counts else f" (target {version}: before 12 a CHECK cannot " \
                "spare the scan)"
            pending = _not_valid_check(ctx, table, column) if proof_counts else None
            yield self.at(statement, ctx,
                          f"SET NOT NULL on {table}.{column} scans every row under ACCESS "
                          f"EXCLUSIVE and fails if any is NULL{size}{gate}"
                          + (f"; {pending} (NOT VALID) would prove it once validated"
                             if pending else ""),
                          object=f"{table}.{column}", severity=severity,
                          fix=not_null_recipe(table, column, version) if pending is None
                          else _validate_recipe(table, column, pending))


def _not_valid_check(ctx: MigrationContext, table: str, column: str) -> str | None:
    """The name of a NOT VALID CHECK of the live catalog proving ``column IS NOT NULL``:
    the first half of the recipe is already done, and adding it again would fail with
    'constraint ... already exists'."""
    live = ctx.catalog.table(table) if ctx.catalog else None
    for check in live.check_constraints if live else ():
        expr = None if check.validated else check_expression(check)
        if expr is not None and proves_not_null(expr, column):
            return check.name
    return None


def _validate_recipe(table: str, column: str, check: str) -> str:
    """The second half of :func:`not_null_recipe` for an existing NOT VALID ``check``."""
    schema, _, relname = table.partition(".")
    target = f"{quote_ident(schema)}.{quote_ident(relname)}"
    name = quote_ident(check)
    return (f"ALTER TABLE {target} VALIDATE CONSTRAINT {name}; "
            f"ALTER TABLE {target} ALTER COLUMN {quote_ident(column)} SET NOT NULL; "
            f"ALTER TABLE {target} DROP CONSTRAINT {name};")


def not_null_recipe(table: str, column: str, version: int | None = None) -> str:
    """The scan-free way to SET NOT NULL, as SQL in two migrations separated by
    :data:`NEXT_MIGRATION`.

    Before PostgreSQL 18 (or with the version unknown): a ``CHECK (col IS NOT NULL) NOT
    VALID``, then VALIDATE (SHARE UPDATE EXCLUSIVE), SET NOT NULL (no scan) and DROP the
    CHECK; the CHECK is named ``<table>_<column>_nn``, not ``..._not_null``, the name
    PostgreSQL 18 gives the NOT NULL constraint itself. From 18: ``ADD CONSTRAINT
    <table>_<column>_not_null NOT NULL col NOT VALID`` then VALIDATE, which leaves the
    column NOT NULL (measured on 18: the ADD does not scan, the VALIDATE scans under
    SHARE UPDATE EXCLUSIVE).
    """
    schema, _, relname = table.partition(".")
    target = f"{quote_ident(schema)}.{quote_ident(relname)}"
    col = quote_ident(column)
    if version is not None and version >= 180000:
        name = quote_ident(f"{relname}_{column}_not_null"[:63])
        return (f"ALTER TABLE {target} ADD CONSTRAINT {name} NOT NULL {col} NOT VALID;"
                f"{NEXT_MIGRATION}ALTER TABLE {target} VALIDATE CONSTRAINT {name};")
    check = quote_ident(f"{relname}_{column}_nn"[:63])
    return (f"ALTER TABLE {target} ADD CONSTRAINT {check} CHECK ({col} IS NOT NULL) NOT VALID;"
            f"{NEXT_MIGRATION}ALTER TABLE {target} VALIDATE CONSTRAINT {check}; "
            f"ALTER TABLE {target} ALTER COLUMN {col} SET NOT NULL; "
            f"ALTER TABLE {target} DROP CONSTRAINT {check};")


class AttachPartitionScan(MigrationRule):
    """ATTACH PARTITION scans the table unless a validated CHECK implies the bound.

    Why
    ---
    Attaching checks every row of the incoming table against the partition bound while
    it holds ACCESS EXCLUSIVE on that table (the parent takes SHARE UPDATE EXCLUSIVE
    since PostgreSQL 12). A valid CHECK constraint that implies the bound makes
    PostgreSQL skip the scan (measured: 1 scan without, 0 with); a default partition,
    if any, is scanned too (PostgreSQL docs, "ALTER TABLE", ``ATTACH PARTITION``).

    Bad
    ---
    ```sql
    ALTER TABLE ev ATTACH PARTITION ev_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    ALTER TABLE ev_2024 ADD CONSTRAINT ev_2024_bound
      CHECK (d >= '2024-01-01' AND d < '2025-01-01') NOT VALID;
    ALTER TABLE ev_2024 VALIDATE CONSTRAINT ev_2024_bound;
    ALTER TABLE ev ATTACH PARTITION ev_2024 FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    ```

    Notes
    -----
    A CHECK proves a range bound on one column when it compares that column ``>=`` the
    lower and ``<`` the upper bound with the same constants, and a list bound with ``=``
    or ``IN`` of the same constants; the column must also be NOT NULL or the CHECK must
    say ``IS NOT NULL`` (the partition constraint includes it). With a database, a
    nullable key column without that makes it a finding; offline nullability is
    unknown and assumed NOT NULL. Hash bounds are never implied by a CHECK.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-ATTACH-PARTITION
    - https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITIONING-DECLARATIVE-MAINTENANCE
    """

    id = "attach-partition-scan"
    severity = Severity.WARNING
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-ATTACH-PARTITION"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        parent = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            part = cmd.def_
            if cmd.subtype != AT.AT_AttachPartition or not isinstance(part, ast.PartitionCmd) \
                    or part.bound is None or new_relation(ctx, part.name):
                continue
            table = ctx.qualify(part.name)
            column = _proven_column(ctx, table, part.bound)
            default = default_partition(ctx, parent)
            if column is not None and not default:
                continue
            severity, size = scaled(ctx, self.severity, table)
            what = (f"scans {table} under ACCESS EXCLUSIVE on it to check the bound"
                    if column is None else "")
            if default:
                what += (" and " if what else "") + \
                    f"scans the default partition {default} to check no row belongs here"
            yield self.at(statement, ctx, f"ATTACH PARTITION {what}{size}",
                          object=table, severity=severity,
                          fix=f"ALTER TABLE {table} ADD CONSTRAINT ... CHECK (<key> IS NOT "
                          "NULL AND <bound>) NOT VALID; VALIDATE it in a later transaction; "
                          "ATTACH; then drop the CHECK")


def _literal(node: ast.Node | None) -> str | None:
    """A constant's value as text (casts stripped), None for anything else."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const) and node.val is not None and not node.isnull:
        value = node.val
        for attr in ("sval", "ival", "fval", "boolval"):
            if hasattr(value, attr):
                return str(getattr(value, attr))
    return None


def _comparisons(expr: ast.Node) -> Iterator[tuple[str, str, str]]:
    """``(column, operator, constant)`` for each conjunct comparing a column with a
    constant, normalised so the column is on the left."""
    flip = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "=": "="}
    for part in conjuncts(expr):
        if not isinstance(part, ast.A_Expr) or not part.name:
            continue
        op = part.name[-1].sval if isinstance(part.name[-1], ast.String) else ""
        if part.kind == enums.A_Expr_Kind.AEXPR_IN and isinstance(part.rexpr, tuple):
            column = column_of(part.lexpr)
            for item in part.rexpr:
                value = _literal(item)
                if column and value is not None:
                    yield column, "in", value
            continue
        if part.kind != enums.A_Expr_Kind.AEXPR_OP or op not in flip:
            continue
        left = part.lexpr if isinstance(part.lexpr, ast.Node) else None
        right = part.rexpr if isinstance(part.rexpr, ast.Node) else None
        if column_of(left) and _literal(right) is not None:
            yield column_of(left) or "", op, _literal(right) or ""
        elif column_of(right) and _literal(left) is not None:
            yield column_of(right) or "", flip[op], _literal(left) or ""


def _proven_column(ctx: MigrationContext, table: str,
                   bound: ast.PartitionBoundSpec) -> str | None:
    """The key column a validated CHECK on ``table`` proves ``bound`` for, else None."""
    for expr in validated_checks(ctx, table):
        found = list(_comparisons(expr))
        columns = {c for c, _, _ in found}
        for column in columns:
            ops = {(op, value) for c, op, value in found if c == column}
            if not _implies(bound, ops):
                continue
            nullable = not_null_known(ctx, table, column) is False
            if nullable and not proves_not_null(expr, column):
                continue
            return column
    return None


def _implies(bound: ast.PartitionBoundSpec, ops: set[tuple[str, str]]) -> bool:
    if bound.strategy == "r":
        lower = [_literal(d) for d in bound.lowerdatums or ()]
        upper = [_literal(d) for d in bound.upperdatums or ()]
        if len(lower) != 1 or len(upper) != 1:
            return False
        low_ok = lower[0] is None or (">=", lower[0]) in ops
        high_ok = upper[0] is None or ("<", upper[0]) in ops
        return low_ok and high_ok and bool(ops)
    if bound.strategy == "l":
        values = {_literal(d) for d in bound.listdatums or ()}
        have = {v for op, v in ops if op in ("=", "in")}
        return None not in values and bool(have) and have <= values
    return False
