"""Migration rules, catalogue section A: ADD COLUMN forms that rewrite or fail.

A rewrite copies the table and rebuilds every index while ACCESS EXCLUSIVE blocks all
reads and writes (PostgreSQL docs, "ALTER TABLE", Notes). Which additions rewrite was
measured on PostgreSQL 15 from ``pg_class.relfilenode`` before and after, and is proved
again by this package's tests: volatile defaults, serial, identity, STORED generated and
constrained-domain columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import walk
from pgkeel.lint.migration.rules._safety import (
    ALTER_DOCS,
    AT,
    CT,
    alter_cmds,
    constrained_domain,
    dotted,
    new_relation,
    scaled,
    touches,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

_SERIAL = {"serial", "serial4", "bigserial", "serial8", "smallserial", "serial2"}


#: Volatile functions of pg_catalog a DEFAULT may call (``pg_proc.provolatile = 'v'``
#: on PostgreSQL 15 and 18, minus handlers, large objects and admin functions), and of
#: the contrib modules people use for defaults (uuid-ossp, pgcrypto): not in the
#: catalog snapshot, which holds user functions only.
VOLATILE_BUILTINS = frozenset({
    "clock_timestamp", "timeofday", "random", "random_normal", "gen_random_uuid",
    "uuidv4", "uuidv7", "nextval", "currval", "lastval", "setval", "set_config",
    "txid_status", "array_shuffle", "array_sample", "uuid_generate_v1",
    "uuid_generate_v1mc", "uuid_generate_v4", "gen_random_bytes", "gen_salt",
})


def _column(cmd: ast.AlterTableCmd) -> ast.ColumnDef | None:
    return cmd.def_ if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef) \
        else None


def _constraints(column: ast.ColumnDef) -> list[ast.Constraint]:
    return [c for c in column.constraints or () if isinstance(c, ast.Constraint)]


def _default(column: ast.ColumnDef) -> ast.Node | None:
    """The column's DEFAULT expression, None without one (or ``DEFAULT NULL``)."""
    for constraint in _constraints(column):
        if constraint.contype == CT.CONSTR_DEFAULT:
            expr = constraint.raw_expr
            return None if isinstance(expr, ast.A_Const) and expr.isnull else expr
    return None


def volatility(expr: ast.Node, ctx: MigrationContext) -> tuple[str, str | None]:
    """``("volatile" | "unknown" | "stable", function)`` for a DEFAULT expression: the
    worst of the functions it calls, and which one decided it.

    A function's volatility comes from a CREATE FUNCTION earlier in the file (no
    volatility clause means VOLATILE), else the live catalog's ``pg_proc.provolatile``
    (any overload volatile counts), else :data:`VOLATILE_BUILTINS`; a function in a
    non-catalog schema that is none of these is "unknown" offline. Constants,
    ``CURRENT_TIMESTAMP`` and operators are not volatile.
    """
    # walk, not pglast.visitors: that module imports pglast's printers (start-up time).
    calls = sorted((n for n in walk(expr) if isinstance(n, ast.FuncCall)),
                   key=lambda call: call.location or 0)
    worst: tuple[str, str | None] = ("stable", None)
    for name in (dotted(call.funcname) for call in calls):
        kind = _function_volatility(name, ctx)
        if kind == "volatile":
            return kind, name
        if kind == "unknown":
            worst = (kind, name)
    return worst


def _function_volatility(name: str, ctx: MigrationContext) -> str:
    schema, _, function = name.rpartition(".")
    for statement in reversed(ctx.earlier):
        node = statement.node
        if isinstance(node, ast.CreateFunctionStmt) and \
                dotted(node.funcname).rpartition(".")[2] == function:
            option = next((o for o in node.options or () if isinstance(o, ast.DefElem)
                           and o.defname == "volatility"), None)
            return getattr(option.arg, "sval", "volatile") if option else "volatile"
    if ctx.catalog is not None:
        found = [f for f in ctx.catalog.snapshot.functions if f.name == function
                 and (not schema or f.schema == schema)]
        if found:
            return "volatile" if any(f.volatility == "volatile" for f in found) else "stable"
    if function in VOLATILE_BUILTINS:
        return "volatile"
    if schema and schema != "pg_catalog" and ctx.catalog is None:
        return "unknown"
    return "stable"


class AddColumnVolatileDefault(MigrationRule):
    """ADD COLUMN with a volatile DEFAULT rewrites the table under ACCESS EXCLUSIVE.

    Why
    ---
    Since PostgreSQL 11 a new column's non-volatile default is stored once in the
    catalog and the table is not touched; a volatile one (``clock_timestamp()``,
    ``gen_random_uuid()``, ``random()``, ``nextval()``) must be computed per row, so the
    table and every index are rewritten while ACCESS EXCLUSIVE is held (PostgreSQL
    docs, "ALTER TABLE", Notes; measured: ``clock_timestamp()`` and
    ``gen_random_uuid()`` rewrite, ``now()`` and ``lower('X')`` do not). Before
    PostgreSQL 11 any non-null default rewrites.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN token uuid DEFAULT gen_random_uuid();
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN archived boolean NOT NULL DEFAULT false;
    ```

    ```sql
    ALTER TABLE t ADD COLUMN seen timestamptz DEFAULT now();
    ```

    Notes
    -----
    Volatility is PostgreSQL's own: a function created earlier in the file, the live
    database's ``pg_proc.provolatile`` for user functions, or the volatile functions of
    ``pg_catalog``; squawk's adding-field-with-default guesses from a list of names and
    flags user functions that are IMMUTABLE. Offline, a schema-qualified function pgkeel
    cannot see is reported as "may rewrite".

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - https://www.postgresql.org/docs/current/xfunc-volatility.html
    - squawk: adding-field-with-default
    """

    id = "add-column-volatile-default"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:adding-field-with-default",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddColumn):
            return
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        version = ctx.target_version
        for cmd in alter_cmds(node):
            column = _column(cmd)
            default = _default(column) if column else None
            if column is None or default is None:
                continue
            if version is not None and version < 110000:
                why = f"before PostgreSQL 11 (target {version}) any non-null default"
                will = "rewrites"
            else:
                kind, function = volatility(default, ctx)
                if kind == "stable":
                    continue
                why = f"{function}() is volatile" if kind == "volatile" else \
                    f"{function}() is not known offline and, if volatile,"
                will = "rewrites" if kind == "volatile" else "would rewrite"
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{why}: ADD COLUMN {column.colname} {will} {table} and its indexes "
                          f"under ACCESS EXCLUSIVE, no read or write meanwhile{size}",
                          object=f"{table}.{column.colname}", severity=severity,
                          fix=f"ADD COLUMN {column.colname} without the default; ALTER COLUMN "
                          f"{column.colname} SET DEFAULT ... for new rows; backfill old rows "
                          "in batches")


def _rewriting_addition(column: ast.ColumnDef, ctx: MigrationContext) -> str | None:
    """Why adding ``column`` rewrites the table, or None."""
    type_name = dotted(column.typeName.names).rpartition(".")[2] if column.typeName else ""
    if type_name in _SERIAL:
        return f"a {type_name} column fills every row from a sequence (volatile nextval())"
    for constraint in _constraints(column):
        if constraint.contype == CT.CONSTR_IDENTITY:
            return "an identity column fills every row from its sequence"
        if constraint.contype == CT.CONSTR_GENERATED and constraint.generated_kind == "s":
            return "a STORED generated column is computed and written for every row"
    domain = constrained_domain(dotted(column.typeName.names) if column.typeName else "",
                                 ctx)
    if domain:
        return f"domain {domain} carries constraints, checked by writing every row"
    return None


class AddColumnRewrite(MigrationRule):
    """ADD COLUMN of a serial, identity, STORED generated or constrained-domain column rewrites.

    Why
    ---
    Each of these must write a value (or check a constraint) in every existing row, so
    the table and its indexes are rewritten under ACCESS EXCLUSIVE (all four measured
    on PostgreSQL 15 by ``relfilenode``). PostgreSQL 18's VIRTUAL generated columns
    are computed on read and need no rewrite (PostgreSQL docs, "Generated Columns").

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN seq bigserial;
    ```

    Good
    ----
    ```sql
    -- example: target-version=180000
    ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2) VIRTUAL;
    ```

    Notes
    -----
    A domain counts when it has a CHECK or NOT NULL: from the live catalog, or a CREATE
    DOMAIN earlier in the file.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - https://www.postgresql.org/docs/current/ddl-generated-columns.html
    - squawk: adding-field-with-default
    """

    id = "add-column-rewrite"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:adding-field-with-default",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddColumn):
            return
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            column = _column(cmd)
            why = _rewriting_addition(column, ctx) if column else None
            if column is None or why is None:
                continue
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"ADD COLUMN {column.colname}: {why}, so {table} and its indexes "
                          f"are rewritten under ACCESS EXCLUSIVE{size}",
                          object=f"{table}.{column.colname}", severity=severity,
                          fix="add a plain nullable column, fill new rows with a trigger or "
                          "default, backfill old rows in batches; on PostgreSQL 18 a "
                          "VIRTUAL generated column needs no rewrite")


class AddingRequiredField(MigrationRule):
    """ADD COLUMN ... NOT NULL without a DEFAULT fails on a table with rows.

    Why
    ---
    Existing rows would hold NULL in the new column, so PostgreSQL refuses the
    statement as soon as the table has one row (measured: "column ... contains null
    values"); and application versions still running that do not know the column fail
    on INSERT. Since PostgreSQL 11 a non-volatile DEFAULT makes it instant.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD COLUMN c int NOT NULL;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD COLUMN c int NOT NULL DEFAULT 0;
    ```

    Notes
    -----
    Identity, serial and generated columns fill themselves and are left to
    add-column-rewrite. With a database the message says how many rows the table holds.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-ADD-COLUMN
    - squawk: adding-required-field
    """

    id = "adding-required-field"
    severity = Severity.ERROR
    object_kind = "column"
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-ADD-COLUMN"
    upstream = ("squawk:adding-required-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AddColumn):
            return
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        live = ctx.catalog.table(table) if ctx.catalog else None
        for cmd in alter_cmds(node):
            column = _column(cmd)
            if column is None or _default(column) is not None:
                continue
            kinds = {c.contype for c in _constraints(column)}
            type_name = dotted(column.typeName.names).rpartition(".")[2] \
                if column.typeName else ""
            if not kinds & {CT.CONSTR_NOTNULL, CT.CONSTR_PRIMARY} or type_name in _SERIAL \
                    or kinds & {CT.CONSTR_IDENTITY, CT.CONSTR_GENERATED}:
                continue
            if live is not None and live.row_estimate > 0:
                fails = f"fails: {table} holds about {live.row_estimate:,} rows, which " \
                        "would be NULL"
            else:
                fails = f"fails as soon as {table} has a row, which would be NULL"
            yield self.at(statement, ctx,
                          f"ADD COLUMN {column.colname} NOT NULL without a DEFAULT {fails}; "
                          "running application code that omits the column breaks on INSERT",
                          object=f"{table}.{column.colname}",
                          fix=f"add {column.colname} nullable, backfill, then make it NOT NULL "
                          "with CHECK (... IS NOT NULL) NOT VALID / VALIDATE / SET NOT NULL; "
                          "or give it a non-volatile DEFAULT")
