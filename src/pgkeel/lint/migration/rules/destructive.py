"""Migration rules, catalogue section B: statements that lose data, fail on some data,
or break the application versions still running while a deploy rolls out.

Objects created earlier in the same file are exempt: nothing outside the migration can
be using them yet. The directory rules of this section (``non-linear-migration``,
``applied-migration-modified``) live with the file-level hygiene rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.rules._ddl import dotted, statement_nodes
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
OT = enums.ObjectType
_CASCADE = enums.DropBehavior.DROP_CASCADE

#: The words DROP uses for the object types the rules below name.
_KIND = {OT.OBJECT_TABLE: "table", OT.OBJECT_VIEW: "view", OT.OBJECT_MATVIEW: "view",
         OT.OBJECT_SCHEMA: "schema", OT.OBJECT_TYPE: "type", OT.OBJECT_DOMAIN: "type",
         OT.OBJECT_FUNCTION: "function", OT.OBJECT_PROCEDURE: "function",
         OT.OBJECT_INDEX: "index", OT.OBJECT_SEQUENCE: "sequence"}


def _dropped(node: ast.DropStmt, ctx: MigrationContext) -> Iterator[str]:
    """Qualified names a DROP names (schemas unqualified; functions by name only)."""
    for obj in node.objects or ():
        if isinstance(obj, ast.String):
            yield obj.sval
        elif isinstance(obj, ast.ObjectWithArgs):
            yield _qualify_dotted(dotted(obj.objname), ctx)
        elif isinstance(obj, ast.TypeName):
            yield _qualify_dotted(dotted(obj.names), ctx)
        elif isinstance(obj, tuple):
            yield _qualify_dotted(dotted(obj), ctx)


def _qualify_dotted(name: str, ctx: MigrationContext) -> str:
    schema, _, rel = name.rpartition(".")
    return qualified(schema or None, rel, ctx.search_path)


def _new(ctx: MigrationContext, kind: str, name: str) -> bool:
    return ctx.created_here(kind, name) or (kind == "table" and ctx.created_here("view", name))


def _referencing(ctx: MigrationContext, tables: set[str]) -> list[str]:
    """Tables whose foreign keys reach ``tables``, transitively (what TRUNCATE CASCADE
    empties besides them), from the live catalog; sorted."""
    if ctx.catalog is None:
        return []
    found: set[str] = set()
    frontier = set(tables)
    while frontier:
        nxt = {f"{t.schema}.{t.name}" for t in ctx.catalog.snapshot.tables
               for fk in t.foreign_keys if f"{fk.ref_schema}.{fk.ref_table}" in frontier}
        frontier = nxt - found - tables
        found |= frontier
    return sorted(found)


def _dependants(ctx: MigrationContext, name: str) -> list[str]:
    """What DROP ... CASCADE of relation ``name`` would also drop, from the live
    catalog: views reading it and the foreign keys pointing at it (pg_depend's
    dependants as the snapshot records them); sorted."""
    if ctx.catalog is None:
        return []
    snap = ctx.catalog.snapshot
    views = {f"view {v.schema}.{v.name}" for v in snap.views
             if any(f"{u.schema}.{u.relation}" == name for u in v.uses)}
    fks = {f"foreign key {fk.name} on {t.schema}.{t.name}" for t in snap.tables
           for fk in t.foreign_keys if f"{fk.ref_schema}.{fk.ref_table}" == name
           and f"{t.schema}.{t.name}" != name}
    return sorted(views | fks)


class BanDropColumn(MigrationRule):
    """DROP COLUMN loses the column's data and breaks code that still uses it.

    Why
    ---
    The values are gone at commit, and application versions still running during the
    deploy keep reading and writing the column: their queries fail with "column does
    not exist" until every instance runs the new code. The statement itself is brief
    (ACCESS EXCLUSIVE, no rewrite: "ALTER TABLE", DROP COLUMN).

    Bad
    ---
    ```sql
    ALTER TABLE t DROP COLUMN b;
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int, y int);
    ALTER TABLE n DROP COLUMN y;
    ```

    Notes
    -----
    Expand and contract: stop using the column (tell the ORM to ignore it), deploy,
    then drop it in a later migration.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-COLUMN
    - squawk: ban-drop-column; Atlas: DS103
    """

    id = "ban-drop-column"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-DROP-COLUMN"
    upstream = ("squawk:ban-drop-column",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype != AT.AT_DropColumn or ctx.created_here("column", f"{table}.{cmd.name}"):
                continue
            yield self.at(statement, ctx,
                          f"DROP COLUMN {cmd.name} deletes the data of {table}.{cmd.name}; "
                          "running application versions that still use it fail",
                          object=f"{table}.{cmd.name}",
                          fix="stop using the column in the application and deploy first; "
                          "drop it in a later migration")


class BanDropTable(MigrationRule):
    """DROP TABLE loses the table's rows and breaks every client that uses it.

    Why
    ---
    The data is gone at commit and queries from application versions still running
    fail with "relation does not exist".

    Bad
    ---
    ```sql
    DROP TABLE ev_2024;
    ```

    Good
    ----
    ```sql
    CREATE TABLE tmp_x (x int);
    DROP TABLE tmp_x;
    ```

    Notes
    -----
    Stop using the table first, back it up, and check it is empty before dropping it.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-droptable.html
    - squawk: ban-drop-table; Atlas: DS102
    """

    id = "ban-drop-table"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-droptable.html"
    upstream = ("squawk:ban-drop-table",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.DropStmt)
        if node.removeType != OT.OBJECT_TABLE:
            return
        for name in _dropped(node, ctx):
            if _new(ctx, "table", name):
                continue
            found = ctx.catalog.table(name) if ctx.catalog else None
            rows = f" (about {max(found.row_estimate, 0):,} rows)" if found else ""
            yield self.at(statement, ctx, f"DROP TABLE deletes {name}{rows} and breaks every "
                          "client still using it", object=name,
                          fix="stop using the table, back it up, check it is empty, then drop "
                          "it in a later migration")


class BanDropSchema(MigrationRule):
    """DROP SCHEMA removes a schema (with CASCADE, everything in it).

    Why
    ---
    ``DROP SCHEMA ... CASCADE`` drops every table, view, function and type inside,
    with their data; without CASCADE it fails as soon as the schema holds anything.

    Bad
    ---
    ```sql
    DROP SCHEMA app CASCADE;
    ```

    Good
    ----
    ```sql
    CREATE SCHEMA scratch;
    DROP SCHEMA scratch;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-dropschema.html
    - Atlas: DS101
    """

    id = "ban-drop-schema"
    severity = Severity.ERROR
    object_kind = "schema"
    docs_url = "https://www.postgresql.org/docs/current/sql-dropschema.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.DropStmt)
        if node.removeType != OT.OBJECT_SCHEMA:
            return
        for name in _dropped(node, ctx):
            if ctx.created_here("schema", name):
                continue
            inside = [t.name for t in ctx.catalog.snapshot.tables if t.schema == name] \
                if ctx.catalog else []
            what = f" with its {len(inside)} tables" if inside else ""
            cascade = " and everything in it" if node.behavior == _CASCADE else ""
            yield self.at(statement, ctx, f"DROP SCHEMA drops {name}{cascade}{what}",
                          object=name, fix="drop the objects inside explicitly, one by one")


class BanDropDatabase(MigrationRule):
    """DROP DATABASE or DROP TABLESPACE has no place in a migration.

    Why
    ---
    A migration runs against every environment in turn; dropping a database or a
    tablespace there loses all of its data.

    Bad
    ---
    ```sql
    -- example: plain
    DROP DATABASE app_prod;
    ```

    Good
    ----
    ```sql
    -- example: plain
    CREATE DATABASE scratch_db;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-dropdatabase.html
    - squawk: ban-drop-database
    """

    id = "ban-drop-database"
    severity = Severity.ERROR
    object_kind = "database"
    docs_url = "https://www.postgresql.org/docs/current/sql-dropdatabase.html"
    upstream = ("squawk:ban-drop-database",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropdbStmt, ast.DropTableSpaceStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        what = f"DATABASE {node.dbname}" if isinstance(node, ast.DropdbStmt) \
            else f"TABLESPACE {node.tablespacename}"
        yield self.at(statement, ctx, f"DROP {what} in a migration destroys all of its data",
                      fix="never drop databases or tablespaces from a migration")


class BanTruncateCascade(MigrationRule):
    """TRUNCATE ... CASCADE also empties every table that references the target.

    Why
    ---
    CASCADE truncates, transitively, every table with a foreign key to a truncated
    table ("TRUNCATE", CASCADE), none of which the statement names. With a database
    the finding lists them.

    Bad
    ---
    ```sql
    TRUNCATE a CASCADE;
    ```

    Good
    ----
    ```sql
    TRUNCATE a, b;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-truncate.html
    - squawk: ban-truncate-cascade
    """

    id = "ban-truncate-cascade"
    severity = Severity.ERROR
    docs_url = "https://www.postgresql.org/docs/current/sql-truncate.html"
    upstream = ("squawk:ban-truncate-cascade",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.TruncateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.TruncateStmt)
        if node.behavior != _CASCADE:
            return
        named = {ctx.qualify(r) for r in node.relations or ()}
        also = _referencing(ctx, named)
        victims = f": it also empties {', '.join(also)}" if also else \
            " (with a database pgkeel lists them)" if ctx.catalog is None else ""
        yield self.at(statement, ctx,
                      "TRUNCATE ... CASCADE empties every table that references "
                      f"{', '.join(sorted(named))}{victims}",
                      object=", ".join(sorted(named)),
                      fix="name every table to empty explicitly: "
                      f"TRUNCATE {', '.join(sorted(named) + also)}")


class BanTruncate(MigrationRule):
    """TRUNCATE in a migration deletes every row under an ACCESS EXCLUSIVE lock.

    Why
    ---
    TRUNCATE takes ACCESS EXCLUSIVE (reads and writes wait) and removes all rows at
    once; in a migration that reaches production it is almost always data loss.

    Bad
    ---
    ```sql
    TRUNCATE t;
    ```

    Good
    ----
    ```sql
    DELETE FROM t WHERE id < 0;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-truncate.html
    - pgrubic: US029
    """

    id = "ban-truncate"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-truncate.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.TruncateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.TruncateStmt)
        for relation in node.relations or ():
            if ctx.is_new(relation):
                continue
            table = ctx.qualify(relation)
            yield self.at(statement, ctx, f"TRUNCATE deletes every row of {table} under an "
                          "ACCESS EXCLUSIVE lock", object=table,
                          fix="delete in batches with a WHERE clause, or drop after a backup")


class DropCascade(MigrationRule):
    """DROP ... CASCADE also drops objects nobody named.

    Why
    ---
    CASCADE drops every dependant recorded in ``pg_depend``: views over a table,
    foreign keys pointing at it, policies, defaults using a function. With a database
    the finding lists the views and foreign keys that would go.

    Bad
    ---
    ```sql
    DROP VIEW IF EXISTS v_old CASCADE;
    ```

    Good
    ----
    ```sql
    DROP VIEW IF EXISTS v_old;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-depend.html
    - pgrubic: GN015
    """

    id = "drop-cascade"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/ddl-depend.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.DropStmt)
        if node.behavior != _CASCADE:
            return
        kind = _KIND.get(node.removeType, "object")
        for name in _dropped(node, ctx):
            if _new(ctx, kind, name):
                continue
            deps = _dependants(ctx, name) if kind in ("table", "view") else []
            also = f": it also drops {', '.join(deps)}" if deps else ""
            yield self.at(statement, ctx, f"DROP ... CASCADE of {name} also drops every object "
                          f"that depends on it{also}", object=name,
                          fix="drop the dependants explicitly first, then drop without CASCADE")


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
                or ctx.is_new(node.relation):
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
            if ctx.created_here("table", old) and not _existed(ctx, old, i):
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
        if node.renameType != OT.OBJECT_SCHEMA or ctx.created_here("schema", node.subname):
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
        name = _qualify_dotted(dotted(node.typeName), ctx)
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
        used = sorted({n.val.sval for n in statement_nodes(node) if isinstance(n, ast.A_Const)
                       and isinstance(n.val, ast.String) and n.val.sval in labels})
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
                    and not ctx.created_here("column", f"{table}.{cmd.name}"):
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
            if cmd.subtype != AT.AT_DropConstraint or ctx.is_new(node.relation) \
                    or ctx.created_here("constraint", f"{table}.{cmd.name}") \
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
        relation = node.relation
        if ctx.is_new(relation):
            return
        table = ctx.qualify(relation)
        found = ctx.catalog.table(table) if ctx.catalog else None
        if found is not None and found.row_estimate == 0:
            return
        keys: list[tuple[str, ...]] = []
        if isinstance(node, ast.IndexStmt) and node.unique:
            cols = tuple(p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem))
            if all(cols):
                keys.append(cols)
        elif isinstance(node, ast.AlterTableStmt):
            for cmd in node.cmds or ():
                con = cmd.def_
                if cmd.subtype == AT.AT_AddConstraint and isinstance(con, ast.Constraint) \
                        and con.contype in (enums.ConstrType.CONSTR_UNIQUE,
                                            enums.ConstrType.CONSTR_PRIMARY) \
                        and not con.indexname:
                    keys.append(tuple(k.sval for k in con.keys or ()))
        for cols in keys:
            listed = ", ".join(cols)
            yield self.at(statement, ctx, f"a unique key on {table} ({listed}) fails if existing "
                          "rows hold duplicates (a failed CONCURRENTLY build leaves an invalid "
                          "index)", object=table,
                          fix=f"check first: SELECT {listed}, count(*) FROM {table} GROUP BY "
                          f"{listed} HAVING count(*) > 1")
