"""Migration rules, catalogue section A: constraints that scan or build under a lock.

Adding a CHECK or FOREIGN KEY checks every row under the statement's lock unless it is
added ``NOT VALID`` and validated later under a weaker lock; UNIQUE, PRIMARY KEY and
EXCLUDE constraints build their index under ACCESS EXCLUSIVE; ``SET NOT NULL`` and
``ATTACH PARTITION`` scan unless a validated CHECK proves the rows comply (PostgreSQL
docs, "ALTER TABLE", Notes; each measured on PostgreSQL 15 with ``pg_locks`` and
``pg_stat_user_tables.seq_scan``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.rules._safety import (
    AT,
    CT,
    alter_cmds,
    catalog_index,
    column_names,
    column_of,
    conjuncts,
    current_transaction,
    new_relation,
    not_null_known,
    proves_not_null,
    scaled,
    validated_checks,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

_ALTER = "https://www.postgresql.org/docs/current/sql-altertable.html"


def _added(node: ast.AlterTableStmt, kinds: tuple[enums.ConstrType, ...]
           ) -> Iterator[tuple[ast.AlterTableCmd, ast.Constraint]]:
    """Each constraint of a kind in ``kinds`` that ``node`` adds, as ADD CONSTRAINT or
    inline on an ADD COLUMN."""
    for cmd in alter_cmds(node):
        if cmd.subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            if cmd.def_.contype in kinds:
                yield cmd, cmd.def_
        elif cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            for constraint in cmd.def_.constraints or ():
                if isinstance(constraint, ast.Constraint) and constraint.contype in kinds:
                    yield cmd, constraint


def _name(constraint: ast.Constraint, fallback: str) -> str:
    return constraint.conname or fallback


class ConstraintMissingNotValid(MigrationRule):
    """ADD CONSTRAINT ... CHECK without NOT VALID scans the table under ACCESS EXCLUSIVE.

    Why
    ---
    Adding a CHECK constraint checks every row while ACCESS EXCLUSIVE is held (measured:
    one sequential scan under the lock): no read or write for the scan. Added ``NOT
    VALID`` it is enforced for new rows at once with a brief lock, and ``VALIDATE
    CONSTRAINT`` in a later transaction checks old rows under SHARE UPDATE EXCLUSIVE,
    which blocks neither reads nor writes (PostgreSQL docs, "ALTER TABLE", Notes).

    Bad
    ---
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0);
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - squawk: constraint-missing-not-valid
    """

    id = "constraint-missing-not-valid"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:constraint-missing-not-valid",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for cmd, constraint in _added(node, (CT.CONSTR_CHECK,)):
            if cmd.subtype != AT.AT_AddConstraint or constraint.skip_validation:
                continue
            name = _name(constraint, "the CHECK")
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"adding {name} checks every row of {table} while ACCESS "
                          f"EXCLUSIVE blocks all reads and writes{size}",
                          object=table, severity=severity,
                          fix=f"ADD CONSTRAINT {name} ... NOT VALID; then in a later "
                          f"transaction ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


class ForeignKeyMissingNotValid(MigrationRule):
    """ADD FOREIGN KEY without NOT VALID scans the table while writes to both wait.

    Why
    ---
    Adding a foreign key takes SHARE ROW EXCLUSIVE on the table and the referenced table
    and checks every row (measured): writes to both tables wait for the scan. Added
    ``NOT VALID``, it only takes the locks briefly; ``VALIDATE CONSTRAINT`` later takes
    SHARE UPDATE EXCLUSIVE on the table and ROW SHARE on the referenced one (measured),
    so writes go on (PostgreSQL docs, "ALTER TABLE", Notes).

    Bad
    ---
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_u_fk FOREIGN KEY (u_id) REFERENCES u (id);
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_u_fk FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID;
    ```

    Notes
    -----
    ``ADD COLUMN ... REFERENCES`` with no default (or ``DEFAULT NULL``) is not reported:
    the new column is all NULL and PostgreSQL does not scan (measured). With a non-null
    default it scans like ADD FOREIGN KEY.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - squawk: adding-foreign-key-constraint
    """

    id = "foreign-key-missing-not-valid"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:adding-foreign-key-constraint",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for cmd, constraint in _added(node, (CT.CONSTR_FOREIGN,)):
            if constraint.skip_validation:
                continue
            if isinstance(cmd.def_, ast.ColumnDef) and not _non_null_default(cmd.def_):
                continue
            parent = ctx.qualify(constraint.pktable) if constraint.pktable else "its parent"
            name = _name(constraint, "the foreign key")
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"adding {name} scans {table} under SHARE ROW EXCLUSIVE on "
                          f"{table} and {parent}: writes to both wait for the scan{size}",
                          object=table, severity=severity,
                          fix=f"ADD CONSTRAINT {name} FOREIGN KEY ... NOT VALID; then in a "
                          f"later transaction ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def _non_null_default(column: ast.ColumnDef) -> bool:
    for constraint in column.constraints or ():
        if isinstance(constraint, ast.Constraint) and constraint.contype == CT.CONSTR_DEFAULT:
            expr = constraint.raw_expr
            return not (isinstance(expr, ast.A_Const) and expr.isnull)
    return False


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


class UniqueConstraintBuildsIndex(MigrationRule):
    """ADD UNIQUE without USING INDEX builds the index under ACCESS EXCLUSIVE.

    Why
    ---
    ``ADD CONSTRAINT ... UNIQUE`` (or ``ADD COLUMN ... UNIQUE``) builds its index while
    ACCESS EXCLUSIVE is held: no read or write for the whole build. Build the index
    with ``CREATE UNIQUE INDEX CONCURRENTLY`` first; ``ADD CONSTRAINT ... UNIQUE USING
    INDEX`` then only takes the lock briefly (PostgreSQL docs, "ALTER TABLE",
    ``ADD table_constraint_using_index``).

    Bad
    ---
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_id_key UNIQUE (id);
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_id_key UNIQUE USING INDEX t_id_uidx;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
    - squawk: disallowed-unique-constraint
    """

    id = "unique-constraint-builds-index"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("squawk:disallowed-unique-constraint",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for _cmd, constraint in _added(node, (CT.CONSTR_UNIQUE,)):
            if constraint.indexname:
                continue
            name = _name(constraint, "the unique constraint")
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{name} builds a unique index on {table} under ACCESS EXCLUSIVE: "
                          f"no read or write until the build ends{size}",
                          object=table, severity=severity,
                          fix=f"CREATE UNIQUE INDEX CONCURRENTLY <index> ON {table} (...); "
                          f"then ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE USING "
                          "INDEX <index>")


class PrimaryKeyBuildsIndex(MigrationRule):
    """ADD PRIMARY KEY without USING INDEX builds the index under ACCESS EXCLUSIVE.

    Why
    ---
    ``ADD PRIMARY KEY (cols)`` builds a unique index (and sets the columns NOT NULL,
    scanning if they are nullable) while ACCESS EXCLUSIVE blocks all reads and writes.
    ``CREATE UNIQUE INDEX CONCURRENTLY`` first, then ``ADD CONSTRAINT ... PRIMARY KEY
    USING INDEX``, keeps the lock brief (PostgreSQL docs, "ALTER TABLE").

    Bad
    ---
    ```sql
    ALTER TABLE t ADD PRIMARY KEY (id);
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_uidx;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
    - squawk: adding-serial-primary-key-field
    """

    id = "primary-key-builds-index"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("squawk:adding-serial-primary-key-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for _cmd, constraint in _added(node, (CT.CONSTR_PRIMARY,)):
            if constraint.indexname:
                continue
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"the primary key builds a unique index on {table} under ACCESS "
                          f"EXCLUSIVE: no read or write until the build ends{size}",
                          object=table, severity=severity,
                          fix=f"CREATE UNIQUE INDEX CONCURRENTLY <index> ON {table} (...); "
                          f"then ALTER TABLE {table} ADD CONSTRAINT <name> PRIMARY KEY "
                          "USING INDEX <index>")


class PrimaryKeyOnNullableColumns(MigrationRule):
    """A primary key on nullable columns scans the table under ACCESS EXCLUSIVE.

    Why
    ---
    A primary key makes its columns NOT NULL; for a nullable column PostgreSQL checks
    every row while ACCESS EXCLUSIVE is held (measured: one scan for a nullable column,
    none for a NOT NULL one), even with ``USING INDEX``. Make the columns NOT NULL
    first with the CHECK ``NOT VALID`` / ``VALIDATE`` / ``SET NOT NULL`` recipe, which
    scans under SHARE UPDATE EXCLUSIVE only.

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE UNIQUE INDEX CONCURRENTLY t_a_uidx ON t (a);
    ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_a_uidx;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_pkey PRIMARY KEY USING INDEX t_id_uidx;
    ```

    Notes
    -----
    Nullability comes from the live catalog, or from this file (columns declared NOT
    NULL, ``SET NOT NULL``). Offline, a column whose nullability is unknown is reported
    when its name is known (keys, or an index created in the file); an index created
    elsewhere is not. A validated ``CHECK (col IS NOT NULL)`` counts as NOT NULL.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX
    - Atlas: PG304
    """

    id = "primary-key-on-nullable-columns"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("atlas:PG304",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for cmd, constraint in _added(node, (CT.CONSTR_PRIMARY,)):
            if cmd.subtype != AT.AT_AddConstraint:
                continue  # ADD COLUMN ... PRIMARY KEY: a new column, add-column rules
            columns = column_names(constraint.keys) or _index_columns(
                ctx, qualified(node.relation.schemaname, constraint.indexname or "",
                               ctx.search_path))
            nullable = [c for c in columns if not not_null_known(ctx, table, c)
                        and not ctx.has_not_null_check(table, c)
                        and not any(proves_not_null(e, c) for e in validated_checks(ctx, table))]
            if not nullable:
                continue
            known = ctx.catalog is not None and ctx.catalog.table(table) is not None
            how = "nullable" if known else "not known to be NOT NULL"
            listed = ", ".join(nullable)
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"the primary key sets {listed} NOT NULL ({how}): PostgreSQL scans "
                          f"{table} under ACCESS EXCLUSIVE to check{size}",
                          object=table, severity=severity,
                          fix=f"first ADD CONSTRAINT ... CHECK ({nullable[0]} IS NOT NULL) NOT "
                          "VALID; VALIDATE it in a later transaction; SET NOT NULL; then add "
                          "the primary key")


def _index_columns(ctx: MigrationContext, index: str) -> tuple[str, ...]:
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.IndexStmt) and node.idxname and qualified(
                node.relation.schemaname, node.idxname, ctx.search_path) == index:
            return tuple(p.name for p in node.indexParams or ()
                         if isinstance(p, ast.IndexElem) and p.name)
    found = catalog_index(ctx, index)
    return tuple(c for c in found[1].columns if c) if found else ()


class ExclusionConstraintOnExistingTable(MigrationRule):
    """ADD CONSTRAINT ... EXCLUDE builds its index under ACCESS EXCLUSIVE.

    Why
    ---
    An exclusion constraint's index is built while ACCESS EXCLUSIVE blocks all reads
    and writes (measured), and unlike UNIQUE there is no ``USING INDEX`` form to build
    it concurrently first (PostgreSQL docs, "ALTER TABLE").

    Bad
    ---
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_r_excl EXCLUDE USING gist (r WITH &&);
    ```

    Good
    ----
    ```sql
    CREATE TABLE booking (r int4range, EXCLUDE USING gist (r WITH &&));
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - eugene: E8
    """

    id = "exclusion-constraint-on-existing-table"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = _ALTER
    upstream = ("eugene:E8",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for _cmd, constraint in _added(node, (CT.CONSTR_EXCLUSION,)):
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{_name(constraint, 'the exclusion constraint')} builds its index "
                          f"on {table} under ACCESS EXCLUSIVE, and exclusion constraints have "
                          f"no USING INDEX path{size}",
                          object=table, severity=severity,
                          fix="declare it when the table is created, or build a new table "
                          "with it and swap the tables in a maintenance window")


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
    ignores it (a false positive). With a database, a column that is already NOT NULL
    is not reported (SET NOT NULL is then a no-op). Before PostgreSQL 12 the CHECK does
    not help and the rule always reports.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL
    - squawk: adding-not-nullable-field
    """

    id = "set-not-null-scan"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-SET-DROP-NOT-NULL"
    upstream = ("squawk:adding-not-nullable-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
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
            yield self.at(statement, ctx,
                          f"SET NOT NULL on {table}.{column} scans every row under ACCESS "
                          f"EXCLUSIVE and fails if any is NULL{size}{gate}",
                          object=f"{table}.{column}", severity=severity,
                          fix=f"ALTER TABLE {table} ADD CONSTRAINT {node.relation.relname}_"
                          f"{column}_not_null CHECK ({column} IS NOT NULL) NOT VALID; in the "
                          "next migration VALIDATE CONSTRAINT it, SET NOT NULL, then DROP the "
                          "CHECK")


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
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-ATTACH-PARTITION"
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
            default = _default_partition(ctx, parent)
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


def _default_partition(ctx: MigrationContext, parent: str) -> str | None:
    snapshot = ctx.catalog.snapshot if ctx.catalog else None
    found = next((t for t in snapshot.tables if t.partition_of == parent
                  and (t.partition_bound or "").upper() == "DEFAULT"), None) \
        if snapshot else None
    return found.qualified if found else None


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
