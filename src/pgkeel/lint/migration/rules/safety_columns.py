"""Migration rules, catalogue section A: column changes and table moves that rewrite.

A rewrite copies the table and rebuilds every index while ACCESS EXCLUSIVE blocks all
reads and writes (PostgreSQL docs, "ALTER TABLE", Notes). Which statements rewrite was
measured on PostgreSQL 15 from ``pg_class.relfilenode`` before and after (and is proved
again by this module's tests): volatile defaults, serial/identity/stored generated
columns, constrained domains, most type changes, SET LOGGED/UNLOGGED, SET TABLESPACE and
SET ACCESS METHOD.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import ClassVar

from pglast import ast
from pglast.visitors import Visitor

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._safety import (
    AT,
    CT,
    alter_cmds,
    column_of,
    dotted,
    new_relation,
    scaled,
    table_of_index,
)
from pgkeel.lint.migration.rules._types import WIDENING_TARGETS, ColumnType, rewrites
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

_ALTER = "https://www.postgresql.org/docs/current/sql-altertable.html"
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
    "pg_current_xact_id", "txid_current", "statement_timestamp_volatile",
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


class _Calls(Visitor):
    """Collects the function names an expression calls."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def visit_FuncCall(self, ancestors: object, node: ast.FuncCall) -> None:
        self.names.append(dotted(node.funcname))


def volatility(expr: ast.Node, ctx: MigrationContext) -> tuple[str, str | None]:
    """``("volatile" | "unknown" | "stable", function)`` for a DEFAULT expression: the
    worst of the functions it calls, and which one decided it.

    A function's volatility comes from a CREATE FUNCTION earlier in the file (no
    volatility clause means VOLATILE), else the live catalog's ``pg_proc.provolatile``
    (any overload volatile counts), else :data:`VOLATILE_BUILTINS`; a function in a
    non-catalog schema that is none of these is "unknown" offline. Constants,
    ``CURRENT_TIMESTAMP`` and operators are not volatile.
    """
    calls = _Calls()
    calls(expr)
    worst: tuple[str, str | None] = ("stable", None)
    for name in calls.names:
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
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:adding-field-with-default",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
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
    domain = _constrained_domain(dotted(column.typeName.names) if column.typeName else "",
                                 ctx)
    if domain:
        return f"domain {domain} carries constraints, checked by writing every row"
    return None


def _constrained_domain(name: str, ctx: MigrationContext) -> str | None:
    schema, _, bare = name.rpartition(".")
    if schema == "pg_catalog" or not bare:
        return None
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.CreateDomainStmt) and \
                dotted(node.domainname).rpartition(".")[2] == bare:
            return bare if node.constraints else None
    snapshot = ctx.catalog.snapshot if ctx.catalog else None
    for domain in snapshot.domains if snapshot else ():
        if domain.name == bare and (not schema or domain.schema == schema) \
                and (domain.checks or not domain.nullable):
            return domain.qualified
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
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:adding-field-with-default",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
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
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-ADD-COLUMN"
    upstream = ("squawk:adding-required-field",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
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


def _timezone(ctx: MigrationContext, rule_id: str) -> str | None:
    """The session TimeZone: the last ``SET timezone`` earlier in the file, else the
    rule's ``timezone`` option, else None (unknown)."""
    for statement in reversed(ctx.earlier):
        node = statement.node
        if isinstance(node, ast.VariableSetStmt) and (node.name or "").lower() == "timezone":
            arg = node.args[0] if node.args else None
            value = getattr(getattr(arg, "val", None), "sval", None) \
                or getattr(getattr(arg, "val", None), "ival", None)
            return str(value) if value is not None else None
    value = ctx.option(rule_id, "timezone")
    return str(value) if value else None


#: Zones whose offset is always zero, where timestamp <-> timestamptz needs no rewrite.
_UTC_ZONES = {"utc", "uct", "gmt", "zulu", "universal", "greenwich", "etc/utc", "etc/uct",
              "etc/gmt", "etc/zulu", "etc/universal", "etc/greenwich", "gmt0", "etc/gmt0",
              "etc/gmt+0", "etc/gmt-0", "0", "+00:00", "z"}


def _old_type(ctx: MigrationContext, table: str, column: str) -> ColumnType | None:
    """The column's type before this statement: from this file, else the catalog."""
    for statement in reversed(ctx.earlier):
        node = statement.node
        if isinstance(node, ast.AlterTableStmt) and ctx.qualify(node.relation) == table:
            for cmd in alter_cmds(node):
                defined = cmd.def_ if isinstance(cmd.def_, ast.ColumnDef) else None
                if defined is not None and defined.typeName is not None and (
                        (cmd.subtype == AT.AT_AddColumn and defined.colname == column)
                        or (cmd.subtype == AT.AT_AlterColumnType and cmd.name == column)):
                    return type_of(defined.typeName)
    live = ctx.catalog.table(table) if ctx.catalog else None
    found = next((c for c in live.columns if c.name == column), None) if live else None
    return ColumnType.parse(found.type_name, found.type) if found else None


def type_of(name: ast.TypeName) -> ColumnType:
    """A pglast ``TypeName`` as a :class:`ColumnType`."""
    base = dotted(name.names).rpartition(".")[2]
    mods = tuple(getattr(m.val, "ival", -1) for m in name.typmods or ()
                 if isinstance(m, ast.A_Const))
    return ColumnType(ColumnType.parse(base, "").name, mods, bool(name.arrayBounds))


class ChangeColumnTypeRewrite(MigrationRule):
    """ALTER COLUMN ... TYPE rewrites the table unless the change is binary-coercible.

    Why
    ---
    A type change rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE,
    unless PostgreSQL can keep every stored value as it is: a binary-coercible cast
    (``pg_cast.castmethod = 'b'``: varchar -> text, text -> varchar, cidr -> inet),
    a modifier that only relaxes (varchar(n) -> varchar(m >= n), numeric(p,s) ->
    numeric(p' >= p, s), a larger time precision), or timestamp <-> timestamptz when
    the session TimeZone is UTC (PostgreSQL 12+); and USING, if any, is the bare
    column (PostgreSQL docs, "ALTER TABLE", Notes; measured by ``relfilenode``:
    int -> bigint, varchar(10) -> varchar(5), text -> varchar(50), a numeric scale
    change and ``USING a + 0`` rewrite).

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN a TYPE bigint;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ALTER COLUMN v TYPE text;
    ```

    Notes
    -----
    The old type comes from the live catalog or from this file; offline, a change to a
    type that some other type reaches without a rewrite (text, varchar, numeric,
    timestamps, inet, citext, ...) cannot be judged and is not reported, while any
    other target is. The TimeZone is the file's ``SET timezone``, else the rule's
    ``timezone`` option; unknown, timestamp <-> timestamptz is reported as "rewrites
    unless TimeZone is UTC". squawk's changing-column-type flags every type change.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES
    - https://www.postgresql.org/docs/current/catalog-pg-cast.html
    - squawk: changing-column-type
    """

    id = "change-column-type-rewrite"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:changing-column-type",)
    options: ClassVar[dict[str, RuleOption]] = {
        "timezone": RuleOption(str, "the TimeZone the migrations run with (e.g. UTC)", None)}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        table = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            defined = cmd.def_
            if cmd.subtype != AT.AT_AlterColumnType or not isinstance(defined, ast.ColumnDef) \
                    or defined.typeName is None or not cmd.name:
                continue
            verdict = self._judge(ctx, table, cmd.name, defined)
            if verdict is None:
                continue
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{verdict}: {table} and its indexes are rewritten under ACCESS "
                          f"EXCLUSIVE, no read or write meanwhile{size}",
                          object=f"{table}.{cmd.name}", severity=severity,
                          fix="add a new column of the new type, keep it in step with a "
                          "trigger, backfill in batches, then swap the columns")

    def _judge(self, ctx: MigrationContext, table: str, column: str,
               defined: ast.ColumnDef) -> str | None:
        assert defined.typeName is not None  # checked by the caller
        new = type_of(defined.typeName)
        using = defined.raw_default
        if using is not None and not _identity_using(using, column):
            return f"USING on {column} is not the bare column, so every value is recomputed"
        domain = _constrained_domain(dotted(defined.typeName.names), ctx)
        if domain:
            return f"{domain} carries constraints, checked by rewriting every row"
        old = _old_type(ctx, table, column)
        if old is None:
            if new.name in WIDENING_TARGETS and not new.array:
                return None
            return f"changing {column} to {new.name} rewrites unless it already is one"
        zone = _timezone(ctx, self.id)
        utc = None if zone is None else zone.strip().lower() in _UTC_ZONES
        verdict = rewrites(old, new, utc=utc, version=ctx.target_version)
        if verdict is False:
            return None
        change = f"{_show(old)} -> {_show(new)}"
        if verdict is None:
            return (f"{column} {change} rewrites unless the session TimeZone is UTC (set "
                    "it in the file or the rule's timezone option)")
        if {old.name, new.name} == {"timestamp", "timestamptz"} and zone:
            return f"{column} {change} with TimeZone {zone} recomputes every value"
        return f"{column} {change} is not binary-coercible"


def _show(kind: ColumnType) -> str:
    mods = f"({','.join(map(str, kind.mods))})" if kind.mods else ""
    return f"{kind.name}{mods}{'[]' if kind.array else ''}"


def _identity_using(expr: ast.Node, column: str) -> bool:
    """True for ``USING col`` or ``USING col::type`` (the cast PostgreSQL applies anyway)."""
    if isinstance(expr, ast.TypeCast) and isinstance(expr.arg, ast.ColumnRef):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and column_of(expr) == column


class _Columns(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def visit_ColumnRef(self, ancestors: object, node: ast.ColumnRef) -> None:
        name = column_of(node)
        if name:
            self.names.add(name)


class TypeChangeUsingOtherColumn(MigrationRule):
    """ALTER COLUMN x TYPE ... USING an expression that never mentions x.

    Why
    ---
    The USING expression computes the column's new value from the old row; one that
    does not reference the column being converted overwrites it with other data
    (another column, a constant), nearly always a copy-paste mistake that destroys the
    column's contents (PostgreSQL docs, "ALTER TABLE", ``SET DATA TYPE``).

    Bad
    ---
    ```sql
    ALTER TABLE t ALTER COLUMN a TYPE bigint USING owner_id::bigint;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-DATA-TYPE
    - pgrubic: US030
    """

    id = "type-change-using-other-column"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-SET-DATA-TYPE"
    upstream = ("pgrubic:US030",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            defined = cmd.def_
            if cmd.subtype != AT.AT_AlterColumnType or not isinstance(defined, ast.ColumnDef) \
                    or defined.raw_default is None or not cmd.name:
                continue
            seen = _Columns()
            seen(defined.raw_default)
            if cmd.name in seen.names:
                continue
            others = ", ".join(sorted(seen.names)) or "no column"
            yield self.at(statement, ctx,
                          f"USING for {table}.{cmd.name} reads {others}, never {cmd.name}: "
                          f"every value of {cmd.name} is replaced",
                          object=f"{table}.{cmd.name}",
                          fix=f"reference {cmd.name} in USING (e.g. USING {cmd.name}::<type>)")


class _TableRewrite(MigrationRule, abstract=True):
    """An ALTER TABLE subcommand that always rewrites the relation."""

    subtypes: ClassVar[dict[int, str]]
    fix_words: ClassVar[str]

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if new_relation(ctx, node.relation):
            return
        target = ctx.qualify(node.relation)
        for cmd in alter_cmds(node):
            words = self.subtypes.get(cmd.subtype) if cmd.subtype is not None else None
            if words is None:
                continue
            if ctx.created_here("index", target):
                return
            table = table_of_index(ctx, target) or target
            severity, size = scaled(ctx, self.severity, table)
            yield self.at(statement, ctx,
                          f"{words.format(name=cmd.name)} rewrites {target} under ACCESS "
                          f"EXCLUSIVE on {table}: no read or write until the copy ends{size}",
                          object=target, severity=severity, fix=self.fix_words)


class SetLoggedUnloggedRewrite(_TableRewrite):
    """ALTER TABLE ... SET LOGGED / SET UNLOGGED rewrites the table.

    Why
    ---
    Changing a table's persistence writes a new copy of it and its indexes (to or
    from the WAL) while ACCESS EXCLUSIVE is held (measured by ``relfilenode``). An
    UNLOGGED table is also emptied after a crash and is not replicated (PostgreSQL
    docs, "ALTER TABLE", ``SET { LOGGED | UNLOGGED }``; "CREATE TABLE", UNLOGGED).

    Bad
    ---
    ```sql
    ALTER TABLE t SET UNLOGGED;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t SET (fillfactor = 90);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-LOGGED-UNLOGGED
    - Atlas: PG307
    """

    id = "set-logged-unlogged-rewrite"
    severity = Severity.WARNING
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-SET-LOGGED-UNLOGGED"
    upstream = ("atlas:PG307",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)
    subtypes: ClassVar[dict[int, str]] = {AT.AT_SetLogged: "SET LOGGED",
                                          AT.AT_SetUnLogged: "SET UNLOGGED (which also "
                                          "gives up crash safety and replication)"}
    fix_words = ("create a new table with the wanted persistence, copy the rows in "
                 "batches and swap; or run it in a maintenance window")


class TablespaceMoveRewrite(_TableRewrite):
    """ALTER TABLE/INDEX ... SET TABLESPACE copies the relation under ACCESS EXCLUSIVE.

    Why
    ---
    Moving a table or index to another tablespace copies every block of it while
    ACCESS EXCLUSIVE is held: no read or write of the table meanwhile (PostgreSQL docs,
    "ALTER TABLE", ``SET TABLESPACE``). ``ALTER ... ALL IN TABLESPACE`` does it to
    every relation there.

    Bad
    ---
    ```sql
    ALTER INDEX t_a_idx SET TABLESPACE pg_default;
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b) TABLESPACE pg_default;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-TABLESPACE
    - pgrubic: US017, US018, US023, US024
    """

    id = "tablespace-move-rewrite"
    severity = Severity.WARNING
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-SET-TABLESPACE"
    upstream = ("pgrubic:US017",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,
                                                   ast.AlterTableMoveAllStmt)
    subtypes: ClassVar[dict[int, str]] = {AT.AT_SetTableSpace: "SET TABLESPACE {name}"}
    fix_words = ("pg_repack --tablespace (online), or build a new index CONCURRENTLY in "
                 "the target tablespace and drop the old one; else a maintenance window")

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        if isinstance(node, ast.AlterTableMoveAllStmt):
            yield self.at(statement, ctx,
                          f"ALL IN TABLESPACE {node.orig_tablespacename} SET TABLESPACE "
                          f"{node.new_tablespacename} copies every relation there, each under "
                          "ACCESS EXCLUSIVE", fix=self.fix_words)
            return
        yield from super().check(statement, ctx)


class SetAccessMethodRewrite(_TableRewrite):
    """ALTER TABLE ... SET ACCESS METHOD rewrites the table (PostgreSQL 15+).

    Why
    ---
    Changing the table access method writes the whole table in the new format while
    ACCESS EXCLUSIVE is held (PostgreSQL docs, "ALTER TABLE", ``SET ACCESS METHOD``).

    Bad
    ---
    ```sql
    ALTER TABLE t SET ACCESS METHOD heap;
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int) USING heap;
    ```

    Notes
    -----
    Naming the access method the table already has does nothing (measured on 15 and
    18: ``relfilenode`` unchanged). ``heap`` is the only table access method PostgreSQL
    ships and the default, so ``SET ACCESS METHOD heap`` is reported as info, saying it
    rewrites only a table on another access method; Atlas's PG311 reports it as a
    rewrite.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-DESC-SET-ACCESS-METHOD
    - Atlas: PG311
    """

    id = "set-access-method-rewrite"
    severity = Severity.WARNING
    docs_url = f"{_ALTER}#SQL-ALTERTABLE-DESC-SET-ACCESS-METHOD"
    upstream = ("atlas:PG311",)
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)
    subtypes: ClassVar[dict[int, str]] = {AT.AT_SetAccessMethod: "SET ACCESS METHOD {name}"}
    fix_words = "create a new table with the access method, copy the rows and swap"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for finding in super().check(statement, ctx):
            node = statement.node
            assert isinstance(node, ast.AlterTableStmt)
            method = next((c.name for c in alter_cmds(node)
                           if c.subtype == AT.AT_SetAccessMethod), None)
            if method in (None, "heap"):  # None: SET ACCESS METHOD DEFAULT (PG 17+)
                finding = replace(
                    finding, severity=Severity.INFO,
                    message=finding.message.replace(
                        " rewrites ", " rewrites (only if it is not heap already: PostgreSQL "
                        "skips a change to the current access method) ", 1))
            yield finding
