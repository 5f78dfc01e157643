"""Migration rules, catalogue section B (data loss): drops and truncates.

Objects created earlier in the same file are exempt: nothing outside the migration can
be using them yet. For a down section that includes what the file's up section created
(the down section exists to undo it; ``_ddl.created_in_file``). Renames, enum labels
and dropped guarantees are in :mod:`.compatibility`; the directory rules of this
section (``non-linear-migration``, ``applied-migration-modified``) live with the
file-level hygiene rules.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import created_in_file, dotted, new_in_file, qualify_dotted
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
OT = enums.ObjectType
_CASCADE = enums.DropBehavior.DROP_CASCADE

#: The words DROP uses for the object types the rules below name.
_KIND: dict[object, str] = {
    OT.OBJECT_TABLE: "table", OT.OBJECT_VIEW: "view", OT.OBJECT_MATVIEW: "view",
    OT.OBJECT_SCHEMA: "schema", OT.OBJECT_TYPE: "type", OT.OBJECT_DOMAIN: "type",
    OT.OBJECT_FUNCTION: "function", OT.OBJECT_PROCEDURE: "function",
    OT.OBJECT_ROUTINE: "function", OT.OBJECT_INDEX: "index", OT.OBJECT_SEQUENCE: "sequence"}


def _dropped(node: ast.DropStmt, ctx: MigrationContext) -> Iterator[str]:
    """Qualified names a DROP names (schemas unqualified; functions by name only)."""
    for obj in node.objects or ():
        if isinstance(obj, ast.String):
            yield obj.sval or ""
        elif isinstance(obj, ast.ObjectWithArgs):
            yield qualify_dotted(dotted(obj.objname), ctx)
        elif isinstance(obj, ast.TypeName):
            yield qualify_dotted(dotted(obj.names), ctx)
        elif isinstance(obj, tuple):
            yield qualify_dotted(dotted(obj), ctx)


def _new(ctx: MigrationContext, kind: str, name: str) -> bool:
    # The context records functions by the name as written (maybe unqualified).
    return created_in_file(ctx, kind, name) \
        or (kind == "table" and created_in_file(ctx, "view", name)) \
        or (kind == "function" and created_in_file(ctx, kind, name.partition(".")[2]))


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
            if cmd.subtype != AT.AT_DropColumn \
                    or created_in_file(ctx, "column", f"{table}.{cmd.name}"):
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
            if created_in_file(ctx, "schema", name):
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
        assert isinstance(node, ast.DropdbStmt | ast.DropTableSpaceStmt)
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
                      fix="name every table to empty explicitly: TRUNCATE "
                      + ", ".join(sorted(named) + (also or (
                          ["<each table that references it>"] if ctx.catalog is None else []))))


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
            if new_in_file(ctx, relation):
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


class _BanDropObject(MigrationRule, abstract=True):
    """DROP of an object of ``kinds`` (``DropStmt.removeType``) not created in the file."""

    kinds: ClassVar[frozenset[enums.ObjectType]] = frozenset()
    word: ClassVar[str] = ""
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.DropStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.DropStmt)
        if node.removeType not in self.kinds:
            return
        for name in _dropped(node, ctx):
            if _new(ctx, _KIND.get(node.removeType, "object"), name):
                continue
            users = self.users(ctx, name)
            also = f"; {users}" if users else ""
            yield self.at(statement, ctx, f"DROP {self.word.upper()} {name} breaks the clients and "
                          f"database code that still use it{also}", object=name,
                          fix=f"stop using the {self.word} first, then drop it in a later "
                          "migration")

    def users(self, ctx: MigrationContext, name: str) -> str:
        """What the live catalog says uses ``name`` (words; "" when nothing or offline)."""
        return ""


class BanDropView(_BanDropObject):
    """DROP VIEW breaks the clients that query the view.

    Why
    ---
    No row is lost, but every query, view and function that reads the view fails with
    "relation does not exist" (and DROP refuses while other views depend on it).

    Bad
    ---
    ```sql
    DROP MATERIALIZED VIEW mv;
    ```

    Good
    ----
    ```sql
    CREATE VIEW v_tmp AS SELECT 1 AS one;
    DROP VIEW v_tmp;
    ```

    Notes
    -----
    squawk 2's ``ban-drop-view``; not in the rule catalogue's snapshot of squawk.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-dropview.html
    - squawk: ban-drop-view
    """

    id = "ban-drop-view"
    severity = Severity.WARNING
    object_kind = "view"
    docs_url = "https://www.postgresql.org/docs/current/sql-dropview.html"
    upstream = ("squawk:ban-drop-view",)
    kinds = frozenset({OT.OBJECT_VIEW, OT.OBJECT_MATVIEW})
    word = "view"

    def users(self, ctx: MigrationContext, name: str) -> str:
        deps = [d for d in _dependants(ctx, name) if d.startswith("view ")]
        return f"views reading it: {', '.join(deps)}" if deps else ""


class BanDropFunction(_BanDropObject):
    """DROP FUNCTION/PROCEDURE breaks callers, defaults, triggers and policies using it.

    Why
    ---
    Application calls fail with "function does not exist"; defaults, triggers, views
    and policies that use it make the DROP fail unless CASCADE drops them too.

    Bad
    ---
    ```sql
    DROP FUNCTION touch();
    ```

    Good
    ----
    ```sql
    CREATE FUNCTION app.tmp() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
    DROP FUNCTION app.tmp();
    ```

    Notes
    -----
    squawk 2's ``ban-drop-function``; not in the rule catalogue's snapshot of squawk.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-dropfunction.html
    - squawk: ban-drop-function
    """

    id = "ban-drop-function"
    severity = Severity.WARNING
    object_kind = "function"
    docs_url = "https://www.postgresql.org/docs/current/sql-dropfunction.html"
    upstream = ("squawk:ban-drop-function",)
    kinds = frozenset({OT.OBJECT_FUNCTION, OT.OBJECT_PROCEDURE, OT.OBJECT_ROUTINE})
    word = "function"


class BanDropType(_BanDropObject):
    """DROP TYPE/DOMAIN breaks code that uses the type, and fails while columns have it.

    Why
    ---
    Columns of the type make the DROP fail (or, with CASCADE, drop those columns and
    their data); casts and function signatures in application code break. With a
    database the finding names the columns.

    Bad
    ---
    ```sql
    DROP TYPE status;
    ```

    Good
    ----
    ```sql
    CREATE TYPE mood AS ENUM ('ok', 'sad');
    DROP TYPE mood;
    ```

    Notes
    -----
    squawk 2's ``ban-drop-type``; not in the rule catalogue's snapshot of squawk.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-droptype.html
    - squawk: ban-drop-type
    """

    id = "ban-drop-type"
    severity = Severity.WARNING
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/sql-droptype.html"
    upstream = ("squawk:ban-drop-type",)
    kinds = frozenset({OT.OBJECT_TYPE, OT.OBJECT_DOMAIN})
    word = "type"

    def users(self, ctx: MigrationContext, name: str) -> str:
        if ctx.catalog is None:
            return ""
        bare = name.partition(".")[2]
        cols = [f"{t.schema}.{t.name}.{c.name}" for t in ctx.catalog.snapshot.tables
                for c in t.columns
                if c.type.removesuffix("[]") in (bare, name, f'"{bare}"')]
        return f"columns of this type: {', '.join(sorted(cols))}" if cols else ""
