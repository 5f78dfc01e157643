"""What the column-type rules of catalogue section D share: the columns a statement defines
or retypes, and the base class of a rule on one column type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    ColumnType,
    key_columns,
    once_per_statement,
    type_of,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding

__all__ = ["ColumnTypeRule", "spell", "typed_columns"]

AT = enums.AlterTableType


@once_per_statement
def typed_columns(node: ast.Node, ctx: MigrationContext
                  ) -> tuple[tuple[str, ast.ColumnDef, ColumnType, bool], ...]:
    """``(table, definition, type, is_new_column)`` for each column a statement
    defines or retypes (``ALTER COLUMN ... TYPE`` gives ``is_new_column`` False)."""
    return tuple(_typed_columns(node, ctx))


def _typed_columns(node: ast.Node, ctx: MigrationContext
                   ) -> Iterator[tuple[str, ast.ColumnDef, ColumnType, bool]]:
    if isinstance(node, ast.CreateStmt):
        table = ctx.qualify(node.relation)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef) and (ctype := type_of(element.typeName)):
                yield table, element, ctype, True
    elif isinstance(node, ast.AlterTableStmt):
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            col = cmd.def_
            if not isinstance(col, ast.ColumnDef) or not (ctype := type_of(col.typeName)):
                continue
            if cmd.subtype == AT.AT_AddColumn:
                yield table, col, ctype, True
            elif cmd.subtype == AT.AT_AlterColumnType:
                yield table, col if col.colname else _named(col, cmd.name), ctype, False


def _named(col: ast.ColumnDef, name: str) -> ast.ColumnDef:
    return ast.ColumnDef(colname=name, typeName=col.typeName, constraints=col.constraints)


class ColumnTypeRule(MigrationRule, abstract=True):
    """A rule on one column's type: ``types`` (internal names) are bad unless
    :meth:`bad` says otherwise; ``problem`` and ``remedy`` word the finding."""

    object_kind = "column"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)
    types: ClassVar[frozenset[str]] = frozenset()
    problem: ClassVar[str] = ""
    remedy: ClassVar[str] = ""

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        """True when this column breaks the rule (``key``: a primary-key, identity or
        foreign-key column; ``new``: defined here, not retyped)."""
        return ctype.name in self.types

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        keys = key_columns(statement.node, ctx)
        for table, col, ctype, new in typed_columns(statement.node, ctx):
            if self.bad(ctype, col, (table, col.colname) in keys, new, ctx):
                yield self.at(statement, ctx, f"{table}.{col.colname} is {spell(ctype)}: "
                              f"{self.problem}", object=f"{table}.{col.colname}",
                              fix=self.remedy)


def spell(ctype: ColumnType) -> str:
    mods = f"({','.join(map(str, ctype.typmods))})" if ctype.typmods else ""
    return f"{ctype.name}{mods}{'[]' if ctype.array else ''}"

