"""Migration rules, catalogue section A: ``ALTER COLUMN ... TYPE``.

Whether a type change rewrites the table is decided by :mod:`._types` from the old type
(this file, else the live catalog), the new one, USING and the session TimeZone.
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
    alter_cmds,
    column_of,
    constrained_domain,
    dotted,
    new_relation,
    scaled,
    touches,
)
from pgkeel.lint.migration.rules._types import WIDENING_TARGETS, ColumnType, rewrites
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

#: Zones whose offset is always zero, where timestamp <-> timestamptz needs no rewrite.
_UTC_ZONES = {"utc", "uct", "gmt", "zulu", "universal", "greenwich", "etc/utc", "etc/uct",
              "etc/gmt", "etc/zulu", "etc/universal", "etc/greenwich", "gmt0", "etc/gmt0",
              "etc/gmt+0", "etc/gmt-0", "0", "+00:00", "z"}


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
    other target is. text/varchar <-> citext keeps the rows but rebuilds the indexes on
    the column (citext's operator class differs): with a database that is reported,
    naming them. The TimeZone is the file's ``SET timezone``, else the rule's
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
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-NOTES"
    upstream = ("squawk:changing-column-type",)
    options: ClassVar[dict[str, RuleOption]] = {
        "timezone": RuleOption(str | None, "the TimeZone the migrations run with (e.g. UTC)",
                               None)}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt)
        if not touches(node, AT.AT_AlterColumnType):
            return
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
            effect = verdict if verdict.startswith("keeps") else \
                f"{verdict}: {table} and its indexes are rewritten"
            yield self.at(statement, ctx,
                          f"{effect} under ACCESS EXCLUSIVE, no read or write meanwhile{size}",
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
        domain = constrained_domain(dotted(defined.typeName.names), ctx)
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
        change = f"{_show(old)} -> {_show(new)}"
        if verdict is False:
            indexes = _citext_indexes(ctx, table, column, old, new)
            return (f"keeps the rows of {table} but {column} {change} changes the operator "
                    f"class, so {', '.join(indexes)} is rebuilt") if indexes else None
        if verdict is None:
            return (f"{column} {change} rewrites unless the session TimeZone is UTC (set "
                    "it in the file or the rule's timezone option)")
        if {old.name, new.name} == {"timestamp", "timestamptz"} and zone:
            return f"{column} {change} with TimeZone {zone} recomputes every value"
        return f"{column} {change} is not binary-coercible"


def _citext_indexes(ctx: MigrationContext, table: str, column: str, old: ColumnType,
                    new: ColumnType) -> list[str]:
    """The live indexes on ``column`` that a text <-> citext change rebuilds (its rows
    stay; measured on 15 and 18: the table's relfilenode stays, the index's changes)."""
    if "citext" not in (old.name, new.name):
        return []
    live = ctx.catalog.table(table) if ctx.catalog else None
    return [i.name for i in live.indexes if column in i.columns] if live else []


def _show(kind: ColumnType) -> str:
    mods = f"({','.join(map(str, kind.mods))})" if kind.mods else ""
    return f"{kind.name}{mods}{'[]' if kind.array else ''}"


def _identity_using(expr: ast.Node, column: str) -> bool:
    """True for ``USING col`` or ``USING col::type`` (the cast PostgreSQL applies anyway)."""
    if isinstance(expr, ast.TypeCast) and isinstance(expr.arg, ast.ColumnRef):
        expr = expr.arg
    return isinstance(expr, ast.ColumnRef) and column_of(expr) == column


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
    docs_url = f"{ALTER_DOCS}#SQL-ALTERTABLE-DESC-SET-DATA-TYPE"
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
            seen = {name for name in (column_of(n) for n in walk(defined.raw_default)
                                      if isinstance(n, ast.ColumnRef)) if name}
            if cmd.name in seen:
                continue
            others = ", ".join(sorted(seen)) or "no column"
            yield self.at(statement, ctx,
                          f"USING for {table}.{cmd.name} reads {others}, never {cmd.name}: "
                          f"every value of {cmd.name} is replaced",
                          object=f"{table}.{cmd.name}",
                          fix=f"reference {cmd.name} in USING (e.g. USING {cmd.name}::<type>)")
