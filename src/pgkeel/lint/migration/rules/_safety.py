"""What the section-A (lock, rewrite, scan) rules share: the current transaction's
statements, sizes in messages, catalog look-ups by qualified name, validated CHECKs.

Kept apart from the rule modules so none of them imports another (rules are
stateless; the registry sees only the rule classes).
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

__all__ = ["AT", "CT", "alter_cmds", "catalog_index", "check_expression", "column_names",
           "column_of", "conjuncts", "current_transaction", "dotted", "new_relation",
           "not_null_known", "proves_not_null", "scaled", "table_of_index",
           "validated_checks"]


def dotted(names: tuple[ast.Node, ...] | None) -> str:
    """``a.b`` from a pglast name list (``String`` nodes)."""
    return ".".join(n.sval or "" for n in names or () if isinstance(n, ast.String))


def alter_cmds(node: ast.AlterTableStmt) -> Iterator[ast.AlterTableCmd]:
    """The ``AlterTableCmd``s of an ALTER TABLE statement."""
    yield from (c for c in node.cmds or () if isinstance(c, ast.AlterTableCmd))


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
    """Whether ``table.column`` is already NOT NULL when this statement runs: True when
    the catalog or this file says so (declared NOT NULL, SET NOT NULL, part of a primary
    key), False when the catalog says it is nullable, None when unknown (offline)."""
    for statement in ctx.earlier:
        node = statement.node
        if isinstance(node, ast.CreateStmt) and ctx.qualify(node.relation) == table:
            for element in node.tableElts or ():
                if isinstance(element, ast.ColumnDef) and element.colname == column:
                    return _declared_not_null(element)
        if isinstance(node, ast.AlterTableStmt) and ctx.qualify(node.relation) == table:
            for cmd in alter_cmds(node):
                if cmd.subtype == AT.AT_SetNotNull and cmd.name == column:
                    return True
                if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef) \
                        and cmd.def_.colname == column:
                    return _declared_not_null(cmd.def_)
    live = ctx.catalog.table(table) if ctx.catalog else None
    if live is None:
        return None
    found = next((c for c in live.columns if c.name == column), None)
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
