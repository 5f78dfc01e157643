"""What the section-A (lock, rewrite, scan) rules share: the current transaction's
statements, sizes in messages, catalog look-ups by qualified name, validated CHECKs.

Kept apart from the rule modules so none of them imports another (rules are
stateless; the registry sees only the rule classes).

Version gates (``ctx.target_version`` None when unknown): an unknown target is taken
as the oldest release the PostgreSQL project still supports, 14, so the gates of 11,
12 and 14 count as passed, the 14.0-14.3 minors as not affected, and 18's features as
absent (the fixes then give the recipe every release runs).
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError

from pgkeel.catalog.model import CheckConstraint, Index, Table
from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.source import Statement
from pgkeel.report.findings import Severity

AT = enums.AlterTableType
CT = enums.ConstrType
TK = enums.TransactionStmtKind

__all__ = [
    "ALTER_DOCS",
    "AT",
    "CT",
    "NO_TRANSACTION",
    "alter_cmds",
    "catalog_index",
    "check_expression",
    "column_names",
    "column_of",
    "concurrent_reindex",
    "conjuncts",
    "constrained_domain",
    "current_transaction",
    "default_partition",
    "dotted",
    "new_relation",
    "not_null_known",
    "proves_not_null",
    "scaled",
    "table_of_index",
    "touches",
    "validated_checks",
]


#: The ALTER TABLE reference page, which most section A rules cite.
ALTER_DOCS = "https://www.postgresql.org/docs/current/sql-altertable.html"
#: Where a fix sends a statement that must not run in a transaction block.
NO_TRANSACTION = "a migration of its own whose marker says '-- migrate:up transaction:false'"


def dotted(names: tuple[ast.Node, ...] | None) -> str:
    """``a.b`` from a pglast name list (``String`` nodes)."""
    return ".".join(n.sval or "" for n in names or () if isinstance(n, ast.String))


def alter_cmds(node: ast.AlterTableStmt) -> Iterator[ast.AlterTableCmd]:
    """The ``AlterTableCmd``s of an ALTER TABLE statement."""
    yield from (c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd))


def touches(node: ast.AlterTableStmt, *subtypes: enums.AlterTableType) -> bool:
    """True when ``node`` has a subcommand of one of ``subtypes`` (a cheap first test,
    before resolving names)."""
    return any(c.subtype in subtypes for c in alter_cmds(node))


def new_relation(ctx: MigrationContext, relation: ast.RangeVar | None) -> bool:
    """True when ``relation`` was created earlier in this file (empty, unseen by other
    sessions until the file commits), so lock, rewrite and scan rules exempt it."""
    return relation is not None and ctx.is_new(relation)


def scaled(ctx: MigrationContext, severity: Severity,
           table: str) -> tuple[Severity, str]:
    """``ctx.scaled`` with its size words ready to append to a message (" (…)").

    A partitioned table holds no rows itself: it is sized by its largest partition.
    """
    snapshot = ctx.catalog.snapshot if ctx.catalog else None
    live = ctx.catalog.table(table) if ctx.catalog else None
    if snapshot is not None and live is not None and live.kind == "partitioned":
        parts = [t for t in snapshot.tables if t.partition_of == table]
        if parts:
            table = max(parts, key=lambda t: t.size_bytes).qualified
    severity, words = ctx.scaled(severity, table)
    return severity, f" ({words})" if words else ""


def current_transaction(ctx: MigrationContext) -> tuple[Statement, ...]:
    """The statements before this one that run in the same transaction, oldest first;
    ``()`` when this statement runs on its own (autocommit).

    A wrapped section is one transaction until an explicit COMMIT/ROLLBACK; in an
    unwrapped one the transaction starts at the last ``BEGIN``.
    """
    if not ctx.in_transaction:
        return ()
    found: list[Statement] = []
    for statement in reversed(ctx.earlier):
        node = statement.node
        if isinstance(node, ast.TransactionStmt):
            if node.kind in (TK.TRANS_STMT_COMMIT, TK.TRANS_STMT_ROLLBACK,
                             TK.TRANS_STMT_PREPARE):
                break
            if node.kind in (TK.TRANS_STMT_BEGIN, TK.TRANS_STMT_START) \
                    and not ctx.section.wrapped:
                break
            continue
        found.append(statement)
    return tuple(reversed(found))


def catalog_index(ctx: MigrationContext, name: str) -> tuple[Table, Index] | None:
    """The live table and index named ``name`` (qualified), None offline or unknown."""
    if ctx.catalog is None:
        return None
    schema, _, index = name.partition(".")
    for table in ctx.catalog.snapshot.tables:
        if table.schema == schema:
            for found in table.indexes:
                if found.name == index:
                    return table, found
    return None


def column_names(nodes: tuple[ast.Node, ...] | None) -> tuple[str, ...]:
    """Column names of a constraint's ``keys`` (``String`` nodes)."""
    return tuple(n.sval or "" for n in nodes or () if isinstance(n, ast.String))


def check_expression(check: CheckConstraint) -> ast.Node | None:
    """The parse tree of a catalog CHECK constraint's expression (``pg_get_constraintdef``
    text, ``CHECK ((d >= ...))``), or None when it does not parse."""
    text = check.expression.strip()
    if text.upper().startswith("CHECK"):
        text = text[5:]
    text = text.removesuffix(" NOT VALID")
    try:
        stmt = parse_sql(f"SELECT {text}")[0].stmt
    except ParseError:
        return None
    assert isinstance(stmt, ast.SelectStmt)
    target = stmt.targetList[0] if stmt.targetList else None
    return target.val if isinstance(target, ast.ResTarget) else None


def validated_checks(ctx: MigrationContext, table: str) -> list[ast.Node]:
    """The expressions of the CHECK constraints on ``table`` that are validated by the
    time this statement runs: added valid or validated earlier in this file, or valid
    in the live catalog, or NOT VALID in the catalog and validated earlier in this file
    (the "next migration" half of the NOT VALID recipe)."""
    added: dict[str, ast.Node] = {}
    valid: list[ast.Node] = []
    validated: set[str] = set()
    for statement in ctx.earlier:
        node = statement.node
        if not isinstance(node, ast.AlterTableStmt) or ctx.qualify(node.relation) != table:
            continue
        for cmd in alter_cmds(node):
            constraint = cmd.def_
            if cmd.subtype == AT.AT_AddConstraint and isinstance(constraint, ast.Constraint) \
                    and constraint.contype == CT.CONSTR_CHECK and constraint.raw_expr:
                if not constraint.skip_validation:
                    valid.append(constraint.raw_expr)
                elif constraint.conname:
                    added[constraint.conname] = constraint.raw_expr
            elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name:
                validated.add(cmd.name)
    valid += [expr for name, expr in added.items() if name in validated]
    live = ctx.catalog.table(table) if ctx.catalog else None
    for check in live.check_constraints if live else ():
        if check.validated or check.name in validated:
            expr = check_expression(check)
            if expr is not None:
                valid.append(expr)
    return valid


def conjuncts(expr: ast.Node) -> Iterator[ast.Node]:
    """The AND-ed parts of ``expr`` (itself when it is no AND)."""
    if isinstance(expr, ast.BoolExpr) and expr.boolop == enums.BoolExprType.AND_EXPR:
        for arg in expr.args or ():
            yield from conjuncts(arg)
    else:
        yield expr


def column_of(expr: ast.Node | None) -> str | None:
    """The column name of a bare column reference (``a`` or ``t.a``), else None."""
    if isinstance(expr, ast.TypeCast):
        expr = expr.arg
    if isinstance(expr, ast.ColumnRef) and expr.fields and \
            isinstance(expr.fields[-1], ast.String):
        return expr.fields[-1].sval
    return None


def proves_not_null(expr: ast.Node, column: str) -> bool:
    """True when the CHECK expression ``expr`` has a conjunct ``column IS NOT NULL``."""
    return any(isinstance(part, ast.NullTest)
               and part.nulltesttype == enums.NullTestType.IS_NOT_NULL
               and column_of(part.arg) == column for part in conjuncts(expr))


def not_null_known(ctx: MigrationContext, table: str, column: str) -> bool | None:
    """Whether ``table.column`` is already NOT NULL, proven, when this statement runs.

    True when this file made it so last (declared NOT NULL or PRIMARY KEY, SET NOT
    NULL, a PostgreSQL 18 ``ADD CONSTRAINT ... NOT NULL col`` validated) or, the file
    saying nothing, the catalog has it NOT NULL; False when the file left it nullable
    (DROP NOT NULL, or a NOT NULL constraint still ``NOT VALID``, which SET NOT NULL
    would scan to validate: measured on 18) or the catalog has it nullable; None when
    unknown (offline).
    """
    state: bool | None = None
    pending: set[str] = set()
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.CreateStmt) and ctx.qualify(node.relation) == table:
            for element in node.tableElts or ():
                if isinstance(element, ast.ColumnDef) and element.colname == column:
                    state = _declared_not_null(element)
        if not isinstance(node, ast.AlterTableStmt) or ctx.qualify(node.relation) != table:
            continue
        for cmd in alter_cmds(node):
            constraint = cmd.def_ if isinstance(cmd.def_, ast.Constraint) else None
            if cmd.subtype in (AT.AT_SetNotNull, AT.AT_DropNotNull) and cmd.name == column:
                state = cmd.subtype == AT.AT_SetNotNull
            elif cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef) \
                    and cmd.def_.colname == column:
                state = _declared_not_null(cmd.def_)
            elif cmd.subtype == AT.AT_AddConstraint and constraint is not None \
                    and constraint.contype in (CT.CONSTR_NOTNULL, CT.CONSTR_PRIMARY) \
                    and column in column_names(constraint.keys):
                state = not constraint.skip_validation
                if constraint.skip_validation and constraint.conname:
                    pending.add(constraint.conname)
            elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name in pending:
                state = True
    if state is not None:
        return state
    live = ctx.catalog.table(table) if ctx.catalog else None
    found = next((c for c in live.columns if c.name == column), None) if live else None
    return None if found is None else not found.nullable


def _declared_not_null(column: ast.ColumnDef) -> bool:
    return any(isinstance(c, ast.Constraint) and c.contype in (CT.CONSTR_NOTNULL,
                                                              CT.CONSTR_PRIMARY)
               for c in column.constraints or ())


def table_of_index(ctx: MigrationContext, index: str) -> str | None:
    """The qualified table an index (qualified name) belongs to: from a CREATE INDEX
    earlier in this file, else the live catalog; None when unknown."""
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.IndexStmt) and node.idxname and qualified(
                node.relation.schemaname, node.idxname, ctx.search_path) == index:
            return ctx.qualify(node.relation)
    found = catalog_index(ctx, index)
    return found[0].qualified if found else None


def concurrent_reindex(node: ast.ReindexStmt) -> bool:
    """True for ``REINDEX ... CONCURRENTLY`` (a ``concurrently`` option not set false)."""
    return any(isinstance(p, ast.DefElem) and p.defname == "concurrently"
               and (p.arg is None or getattr(p.arg, "boolval", True))
               for p in node.params or ())


def constrained_domain(name: str, ctx: MigrationContext) -> str | None:
    """The domain ``name`` (as written, maybe qualified) when it carries a CHECK or NOT
    NULL, from a CREATE DOMAIN earlier in the file or the live catalog; else None.
    Writing such a type checks every value, which PostgreSQL does by rewriting."""
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


def default_partition(ctx: MigrationContext, parent: str) -> str | None:
    """The live default partition of ``parent`` (qualified), None offline or if none."""
    snapshot = ctx.catalog.snapshot if ctx.catalog else None
    found = next((t for t in snapshot.tables if t.partition_of == parent
                  and (t.partition_bound or "").upper() == "DEFAULT"), None) \
        if snapshot else None
    return found.qualified if found else None
