"""Migration rules, catalogue section A: adding constraints to existing tables.

Adding a CHECK or FOREIGN KEY checks every row under the statement's lock unless it is
added ``NOT VALID`` and validated later under a weaker lock; UNIQUE, PRIMARY KEY and
EXCLUDE constraints build their index under ACCESS EXCLUSIVE (PostgreSQL docs, "ALTER
TABLE", Notes; each measured on PostgreSQL 15 with ``pg_locks`` and the table's scan
count).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.rules._safety import (
    ALTER_DOCS,
    AT,
    CT,
    alter_cmds,
    catalog_index,
    column_names,
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
        if not touches(node, AT.AT_AddConstraint):
            return
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
        if not touches(node, AT.AT_AddConstraint, AT.AT_AddColumn):
            return
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
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("squawk:disallowed-unique-constraint",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddConstraint, AT.AT_AddColumn):
            return
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
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("squawk:adding-serial-primary-key-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddConstraint, AT.AT_AddColumn):
            return
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
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-ADD-TABLE-CONSTRAINT-USING-INDEX"
    upstream = ("atlas:PG304",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddConstraint, AT.AT_AddColumn):
            return
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
    docs_url = ALTER_DOCS
    upstream = ("eugene:E8",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddConstraint):
            return
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
