"""Migration rules, catalogue section B (compatibility): renames, enum labels, dropped
guarantees and unique keys that break running application versions or fail on the data.

Objects created earlier in the same file are exempt: nothing outside the migration can
be using them yet; a down section may drop what the file's up section created and rename
back what it renamed. Drops and truncates are in :mod:`.destructive`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    created_in_file,
    dotted,
    new_in_file,
    qualify_dotted,
    statement_nodes,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
OT = enums.ObjectType


def _undoes_up_rename(ctx: MigrationContext, node: ast.RenameStmt) -> bool:
    """True when ``node``, in a down section, renames back what the file's up section
    renamed (the down section restores the name clients used before the up)."""
    if ctx.section.direction != "down":
        return False
    current = node.relation.relname if node.renameType == OT.OBJECT_TABLE \
        and node.relation is not None else node.subname
    table = ctx.qualify(node.relation) if node.relation is not None else ""
    for section in ctx.source.sections:
        for statement in section.statements if section.direction == "up" else ():
            up = statement.node
            if isinstance(up, ast.RenameStmt) and up.renameType == node.renameType \
                    and up.newname == current and (
                        node.renameType != OT.OBJECT_COLUMN or up.relation is None
                        or ctx.qualify(up.relation) == table):
                return True
    return False


def _undoes_up_set(ctx: MigrationContext, table: str, column: str | None,
                   subtype: enums.AlterTableType) -> bool:
    """True when, in a down section, the file's up section ran ``subtype`` (SET NOT NULL,
    or SET DEFAULT with a value) on ``table``.``column``: dropping it restores the column
    the up section found, so running code from before the up never relied on it."""
    if ctx.section.direction != "down":
        return False
    for section in ctx.source.sections:
        for statement in section.statements if section.direction == "up" else ():
            up = statement.node
            if isinstance(up, ast.AlterTableStmt) and up.relation is not None \
                    and ctx.qualify(up.relation) == table \
                    and any(isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == subtype
                            and cmd.name == column
                            and (subtype != AT.AT_ColumnDefault or cmd.def_ is not None)
                            for cmd in up.cmds or ()):
                return True
    return False


class RenamingColumn(MigrationRule):
    """RENAME COLUMN breaks application versions that still use the old name.

    Why
    ---
    The rename is instant (ACCESS EXCLUSIVE, no rewrite), but every query of the
    running application that names the old column fails until all instances run the
    new code.

    Bad
    ---
    ```sql
    ALTER TABLE t RENAME COLUMN b TO label;
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int);
    ALTER TABLE n RENAME COLUMN x TO y;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - squawk: renaming-column; Atlas: BC102
    """

    id = "renaming-column"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("squawk:renaming-column",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.RenameStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.RenameStmt)
        if node.renameType != OT.OBJECT_COLUMN or node.relation is None \
                or new_in_file(ctx, node.relation) or _undoes_up_rename(ctx, node):
            return
        table = ctx.qualify(node.relation)
        yield self.at(statement, ctx, f"renaming {table}.{node.subname} to {node.newname} "
                      "breaks running application versions that use the old name",
                      object=f"{table}.{node.subname}",
                      fix="keep the column name (map it in the ORM), or add a new column "
                      "with dual writes and drop the old one later")


class RenamingTable(MigrationRule):
    """ALTER TABLE ... RENAME TO breaks clients that use the old name.

    Why
    ---
    Queries naming the old table fail with "relation does not exist" until every
    client is redeployed. A view with the old name, created in the same migration,
    keeps them working (simple views are updatable: "CREATE VIEW", Updatable Views).

    Bad
    ---
    ```sql
    ALTER TABLE t RENAME TO items;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t RENAME TO items;
    CREATE VIEW t AS SELECT * FROM items;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - squawk: renaming-table; Atlas: BC101
    """

    id = "renaming-table"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("squawk:renaming-table",)

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.RenameStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        # Judged at the end of the section: a compatibility view may follow the rename.
        statements = ctx.earlier
        for i, statement in enumerate(statements):
            node = statement.node
            if not (isinstance(node, ast.RenameStmt) and node.renameType == OT.OBJECT_TABLE
                    and node.relation is not None):
                continue
            old = ctx.qualify(node.relation)
            if (ctx.created_here("table", old) and not _existed(ctx, old, i)) \
                    or _undoes_up_rename(ctx, node):
                continue
            if any(isinstance(s.node, ast.ViewStmt) and ctx.qualify(s.node.view) == old
                   for s in statements[i + 1:]):
                continue
            yield self.at(statement, ctx, f"renaming {old} to {node.newname} breaks clients "
                          "that still use the old name", object=old,
                          fix=f"in the same migration, CREATE VIEW {old} AS SELECT * FROM "
                          f"the renamed table, until every client uses the new name")


def _existed(ctx: MigrationContext, name: str, index: int) -> bool:
    """False when ``name`` was created by one of the section's first ``index``
    statements (a rename of a table made in the same file is harmless)."""
    for statement in ctx.earlier[:index]:
        node = statement.node
        if isinstance(node, ast.CreateStmt) and ctx.qualify(node.relation) == name:
            return False
    return True


class RenamingSchema(MigrationRule):
    """ALTER SCHEMA ... RENAME TO breaks every schema-qualified reference.

    Why
    ---
    Every query, function body and search_path setting that names the old schema
    fails after the rename.

    Bad
    ---
    ```sql
    ALTER SCHEMA app RENAME TO core;
    ```

    Good
    ----
    ```sql
    CREATE SCHEMA core;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-alterschema.html
    - strong_migrations: renaming a schema
    """

    id = "renaming-schema"
    severity = Severity.WARNING
    object_kind = "schema"
    docs_url = "https://www.postgresql.org/docs/current/sql-alterschema.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.RenameStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.RenameStmt)
        schema = node.subname or ""
        if node.renameType != OT.OBJECT_SCHEMA or created_in_file(ctx, "schema", schema) \
                or _undoes_up_rename(ctx, node):
            return
        yield self.at(statement, ctx, f"renaming schema {node.subname} to {node.newname} breaks "
                      "every reference qualified with the old name", object=node.subname,
                      fix="create the new schema, move objects, and leave compatibility views")


class EnumRenameValue(MigrationRule):
    """ALTER TYPE ... RENAME VALUE breaks clients that send or compare the old label.

    Why
    ---
    Stored rows follow the rename, but running application code that writes the old
    label fails with "invalid input value for enum", and comparisons with it stop
    matching.

    Bad
    ---
    ```sql
    ALTER TYPE status RENAME VALUE 'done' TO 'completed';
    ```

    Good
    ----
    ```sql
    ALTER TYPE status ADD VALUE 'completed' AFTER 'done';
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertype.html
    - strong_migrations: renaming an enum value
    """

    id = "enum-rename-value"
    severity = Severity.WARNING
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertype.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterEnumStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterEnumStmt)
        if not node.oldVal:
            return
        name = dotted(node.typeName)
        yield self.at(statement, ctx, f"renaming label '{node.oldVal}' of {name} to "
                      f"'{node.newVal}' breaks clients that still send the old label",
                      object=name, fix="add the new label, handle both in the application, "
                      "backfill, and stop using the old one")


class RequireEnumValueOrdering(MigrationRule):
    """ALTER TYPE ... ADD VALUE without BEFORE/AFTER puts the label last.

    Why
    ---
    Enum labels sort in declaration order ("Enumerated Types", Ordering): a new label
    sorts after every existing one, so range comparisons such as ``s < 'approved'``
    may change meaning. Say where it goes.

    Bad
    ---
    ```sql
    ALTER TYPE status ADD VALUE 'rejected';
    ```

    Good
    ----
    ```sql
    ALTER TYPE status ADD VALUE 'in_review' BEFORE 'approved';
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-enum.html
    - squawk: require-enum-value-ordering
    """

    id = "require-enum-value-ordering"
    severity = Severity.INFO
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/datatype-enum.html"
    upstream = ("squawk:require-enum-value-ordering",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterEnumStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterEnumStmt)
        name = qualify_dotted(dotted(node.typeName), ctx)
        if node.oldVal or not node.newVal or node.newValNeighbor \
                or ctx.created_here("type", name):
            return
        yield self.at(statement, ctx, f"label '{node.newVal}' is added last to {name}, so it "
                      "sorts after every existing label", object=name,
                      fix=f"ALTER TYPE {name} ADD VALUE '{node.newVal}' BEFORE (or AFTER) "
                      "the label it belongs next to")


class EnumValueUsedInSameTransaction(MigrationRule):
    """A label added with ADD VALUE cannot be used before its transaction commits.

    Why
    ---
    Since PostgreSQL 12, ``ALTER TYPE ... ADD VALUE`` may run in a transaction block,
    but the new label cannot be used until that transaction commits: PostgreSQL
    raises "unsafe use of new value". Before 12 the ADD VALUE itself is refused
    inside a transaction block ("ALTER TYPE", Notes).

    Bad
    ---
    ```sql
    BEGIN;
    ALTER TYPE status ADD VALUE 'archived';
    UPDATE t SET s = 'archived' WHERE id = 1;
    COMMIT;
    ```

    ```sql
    -- example: target-version=110000
    ALTER TYPE status ADD VALUE 'archived';
    ```

    Good
    ----
    ```sql
    ALTER TYPE status ADD VALUE 'archived';
    ```

    ```sql
    UPDATE t SET s = 'archived' WHERE id = 1;
    ```

    Notes
    -----
    A label is recognised as a string constant equal to it anywhere in a later
    statement of the same transaction, whatever the column.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES
    """

    id = "enum-value-used-in-same-transaction"
    severity = Severity.ERROR
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertype.html#SQL-ALTERTYPE-NOTES"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        version = ctx.target_version
        if isinstance(node, ast.AlterEnumStmt) and node.newVal and not node.oldVal \
                and ctx.in_transaction and version is not None and version < 120000:
            yield self.at(statement, ctx, f"ALTER TYPE ... ADD VALUE cannot run inside a "
                          f"transaction block on PostgreSQL {version} (before 12)",
                          object=dotted(node.typeName),
                          fix="put it alone in a migration marked transaction:false")
            return
        labels = {label for _, label in ctx.enum_labels_added}
        if not labels or not ctx.in_transaction:
            return
        used = sorted({n.val.sval for n in statement_nodes(node, ast.A_Const)
                       if isinstance(n, ast.A_Const) and isinstance(n.val, ast.String)
                       and n.val.sval in labels and n.val.sval})
        for label in used:
            yield self.at(statement, ctx, f"enum label '{label}' was added in this transaction: "
                          "PostgreSQL refuses to use it before commit (unsafe use of new value)",
                          fix="add the label in its own migration and use it in a later one")


class BanDropNotNull(MigrationRule):
    """DROP NOT NULL lets NULLs into a column code relies on never being NULL.

    Why
    ---
    Application and PL/pgSQL code written against the NOT NULL guarantee meets NULLs
    it does not handle; reversing the change later needs a full scan.

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN id DROP NOT NULL;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ALTER COLUMN a SET DEFAULT 0;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - squawk: ban-drop-not-null
    """

    id = "ban-drop-not-null"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("squawk:ban-drop-not-null",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_DropNotNull \
                    and not created_in_file(ctx, "column", f"{table}.{cmd.name}") \
                    and not _undoes_up_set(ctx, table, cmd.name, AT.AT_SetNotNull):
                yield self.at(statement, ctx, f"DROP NOT NULL on {table}.{cmd.name}: code that "
                              "relies on the column never being NULL will meet NULLs",
                              object=f"{table}.{cmd.name}",
                              fix="keep NOT NULL; use a sentinel value or a new column")


class DropConstraint(MigrationRule):
    """DROP CONSTRAINT removes an integrity guarantee.

    Why
    ---
    Without the foreign key, CHECK, primary key or unique constraint, orphans and bad
    rows accumulate and nothing says so. The one drop that loses nothing is the helper
    ``CHECK (col IS NOT NULL)`` of the SET NOT NULL recipe, once the column is NOT
    NULL.

    Bad
    ---
    ```sql
    ALTER TABLE b DROP CONSTRAINT b_a_id_fkey;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t VALIDATE CONSTRAINT t_a_nn;
    ALTER TABLE t ALTER COLUMN a SET NOT NULL;
    ALTER TABLE t DROP CONSTRAINT t_a_nn;
    ```

    Notes
    -----
    The helper is recognised when the column was set NOT NULL earlier in the section
    and the constraint is a ``CHECK (col IS NOT NULL)`` (from the file or the live
    catalog) or, offline, was validated earlier in the section.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - Atlas: CD101
    """

    id = "drop-constraint"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype != AT.AT_DropConstraint or new_in_file(ctx, node.relation) \
                    or created_in_file(ctx, "constraint", f"{table}.{cmd.name}") \
                    or _not_null_helper(ctx, table, cmd.name):
                continue
            yield self.at(statement, ctx, f"dropping constraint {cmd.name} on {table} removes an "
                          "integrity guarantee: rows that break it are accepted from now on",
                          object=f"{table}.{cmd.name}",
                          fix="replace the constraint rather than drop it, and say why in the "
                          "migration")


def _not_null_helper(ctx: MigrationContext, table: str, name: str) -> bool:
    """True when ``name`` is the CHECK (col IS NOT NULL) of the SET NOT NULL recipe and
    its column has been set NOT NULL earlier in the section."""
    set_not_null: set[str] = set()
    validated = False
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.AlterTableStmt) and ctx.qualify(node.relation) == table:
            for cmd in node.cmds or ():
                if cmd.subtype == AT.AT_SetNotNull:
                    set_not_null.add(cmd.name)
                elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name == name:
                    validated = True
    if not set_not_null:
        return False
    found = ctx.catalog.table(table) if ctx.catalog else None
    check = next((c for c in found.check_constraints if c.name == name), None) if found else None
    if check is not None:
        return any(ctx.has_not_null_check(table, col) and col in check.expression
                   for col in set_not_null)
    return validated or any((table, col) in ctx.not_null_checks for col in set_not_null)


class UniqueIndexDataDependent(MigrationRule):
    """A unique index or constraint over existing rows fails if they hold duplicates.

    Why
    ---
    ``CREATE UNIQUE INDEX`` and ``ADD UNIQUE``/``PRIMARY KEY`` fail when the rows
    already hold duplicates, and a failed ``CONCURRENTLY`` build leaves an INVALID
    index behind that still slows every write ("CREATE INDEX", Building Indexes
    Concurrently). Check for duplicates first.

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE UNIQUE INDEX CONCURRENTLY t_v_uidx ON t (v);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int);
    CREATE UNIQUE INDEX n_x_uidx ON n (x);
    ```

    Notes
    -----
    With a database an empty table is exempt. The fix holds the duplicate query.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
    - Atlas: MF101, MF102
    """

    id = "unique-index-data-dependent"
    severity = Severity.INFO
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt | ast.AlterTableStmt)
        relation = node.relation
        if relation is None or new_in_file(ctx, relation):
            return
        table = ctx.qualify(relation)
        found = ctx.catalog.table(table) if ctx.catalog else None
        if found is not None and found.row_estimate == 0:
            return
        keys: list[tuple[str, ...]] = []
        if isinstance(node, ast.IndexStmt) and node.unique:
            names = [p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem)]
            cols = tuple(n for n in names if n)
            if cols and len(cols) == len(names):  # expression keys: no simple check query
                keys.append(cols)
        elif isinstance(node, ast.AlterTableStmt):
            for cmd in node.cmds or ():
                con = cmd.def_
                if cmd.subtype == AT.AT_AddConstraint and isinstance(con, ast.Constraint) \
                        and con.contype in (enums.ConstrType.CONSTR_UNIQUE,
                                            enums.ConstrType.CONSTR_PRIMARY) \
                        and not con.indexname:
                    keys.append(tuple(k.sval or "" for k in con.keys or ()))
        for cols in keys:
            listed = ", ".join(cols)
            yield self.at(statement, ctx, f"a unique key on {table} ({listed}) fails if existing "
                          "rows hold duplicates (a failed CONCURRENTLY build leaves an invalid "
                          "index)", object=table,
                          fix=f"check first: SELECT {listed}, count(*) FROM {table} GROUP BY "
                          f"{listed} HAVING count(*) > 1")


class BanDropDefault(MigrationRule):
    """ALTER COLUMN ... DROP DEFAULT breaks inserts that rely on the default.

    Why
    ---
    Running application versions that omit the column now store NULL, or fail when the
    column is NOT NULL.

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN a DROP DEFAULT;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ALTER COLUMN a SET DEFAULT 0;
    ```

    Notes
    -----
    squawk 2's ``ban-drop-default``; not in the rule catalogue's snapshot of squawk.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - squawk: ban-drop-default
    """

    id = "ban-drop-default"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    upstream = ("squawk:ban-drop-default",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_ColumnDefault and cmd.def_ is None \
                    and not created_in_file(ctx, "column", f"{table}.{cmd.name}") \
                    and not _undoes_up_set(ctx, table, cmd.name, AT.AT_ColumnDefault):
                yield self.at(statement, ctx, f"DROP DEFAULT on {table}.{cmd.name}: inserts that "
                              "omit the column now store NULL, or fail if it is NOT NULL",
                              object=f"{table}.{cmd.name}",
                              fix="keep the default until no running code relies on it")
