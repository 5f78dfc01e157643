"""What the rules of families B, D-G read from a statement's parse tree.

pglast gives built-in types normalised (``int`` arrives as ``pg_catalog.int4``, char(n)
as ``pg_catalog.bpchar``) but names written by the user as they were written
(``int4``, ``serial``, ``money`` arrive unqualified): :func:`type_of` folds both to
PostgreSQL's internal type name. Objects are named ``schema.name`` with the file's
search_path (:meth:`MigrationContext.qualify`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext, qualified
from pgkeel.lint.migration.source import Statement

__all__ = [
    "ColumnType",
    "NewColumn",
    "catalog_type",
    "column_type_known",
    "constraints_of",
    "created_in_file",
    "dotted",
    "func_option",
    "function_name",
    "is_ddl",
    "key_columns",
    "language_of",
    "mentions",
    "new_columns",
    "new_in_file",
    "once_per_statement",
    "policies_in",
    "qualify_dotted",
    "role_names",
    "schema_names",
    "search_path_of",
    "statement_nodes",
    "table_constraints",
    "transaction_of",
    "type_of",
    "walk",
]

AT = enums.AlterTableType
T = TypeVar("T")
CT = enums.ConstrType

#: Spellings users write for built-in types, to PostgreSQL's internal names
#: ("Data Types", Table 8.1, the Aliases column).
_ALIASES = {
    "int": "int4", "integer": "int4", "smallint": "int2", "bigint": "int8",
    "serial4": "serial", "serial8": "bigserial", "serial2": "smallserial",
    "real": "float4", "double precision": "float8", "float": "float8",
    "boolean": "bool", "decimal": "numeric", "timestamp without time zone": "timestamp",
    "timestamp with time zone": "timestamptz", "time with time zone": "timetz",
    "time without time zone": "time",
}


@dataclass(frozen=True, slots=True)
class ColumnType:
    """A column's type: PostgreSQL's internal ``name`` (``int4``, ``timestamptz``,
    ``serial``; a user type keeps its written, unqualified name), its ``typmods``
    (``(255,)`` for varchar(255); integers only) and whether it is an ``array``."""

    name: str
    typmods: tuple[int, ...] = ()
    array: bool = False


@dataclass(frozen=True, slots=True)
class NewColumn:
    """A column a statement creates: its ``table`` (qualified), ``column`` definition,
    and whether the table itself is created by the same statement (``in_create``)."""

    table: str
    column: ast.ColumnDef
    in_create: bool


def _child_fields(cls: type) -> tuple[str, ...]:
    """The fields of a pglast node class that can hold nodes or lists of nodes (C
    pointers other than strings), computed once per class."""
    fields = _CHILDREN.get(cls)
    if fields is None:
        slots = getattr(cls, "__slots__", {})
        fields = tuple(name for name, info in slots.items()
                       if getattr(info, "c_type", "").endswith("*")
                       and info.c_type != "char*") if isinstance(slots, dict) else ()
        _CHILDREN[cls] = fields
    return fields


_CHILDREN: dict[type, tuple[str, ...]] = {}


def walk(node: object, prune: tuple[type[ast.Node], ...] = ()) -> Iterator[ast.Node]:
    """Every pglast node under ``node`` (itself included), depth first, leaving out
    the nodes of the ``prune`` classes and everything under them."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, ast.Node) and not isinstance(item, prune):
            yield item
            for name in _child_fields(type(item)):
                value = getattr(item, name, None)
                if value is not None:
                    stack.append(value)


def statement_nodes(node: ast.Node, *kinds: type[ast.Node]) -> tuple[ast.Node, ...]:
    """The nodes of one statement's tree (of the classes ``kinds`` only, when given);
    the tree is walked once for the rules that all look at the same statement in turn
    (rules run one statement at a time)."""
    if _LAST.node is not node:
        by_type: dict[type, list[ast.Node]] = {}
        everything = tuple(walk(node))
        for item in everything:
            by_type.setdefault(type(item), []).append(item)
        _LAST.node, _LAST.nodes, _LAST.by_type = node, everything, by_type
    if not kinds:
        return _LAST.nodes
    return tuple(n for k in kinds for n in _LAST.by_type.get(k, ()))


class _Walked:
    """The last statement :func:`statement_nodes` walked."""

    node: ast.Node | None = None
    nodes: tuple[ast.Node, ...] = ()
    by_type: dict[type, list[ast.Node]] = {}  # noqa: RUF012 - replaced, never mutated


_LAST = _Walked()


def mentions(statement: Statement, *words: str) -> bool:
    """True when the statement's text contains one of ``words`` (lower case): a cheap
    test before walking its tree for nodes only such text can produce."""
    if _TEXT.statement is not statement:
        _TEXT.statement, _TEXT.lower = statement, statement.sql.lower()
    return any(w in _TEXT.lower for w in words)


class _Lowered:
    """The last statement :func:`mentions` read, in lower case."""

    statement: Statement | None = None
    lower: str = ""


_TEXT = _Lowered()


def once_per_statement(fn: Callable[[ast.Node, MigrationContext], T]
                       ) -> Callable[[ast.Node, MigrationContext], T]:
    """Cache ``fn(node, ctx)`` for the statement at hand: the rules of a family call
    the same extraction on the same statement one after another."""
    last: dict[str, tuple[ast.Node, MigrationContext, T]] = {}

    def cached(node: ast.Node, ctx: MigrationContext) -> T:
        hit = last.get("")
        if hit is None or hit[0] is not node or hit[1] is not ctx:
            hit = last[""] = (node, ctx, fn(node, ctx))
        return hit[2]
    return cached


def dotted(names: tuple[ast.Node, ...] | None) -> str:
    """``a.b`` from a tuple of ``String`` nodes (a qualified name as parsed)."""
    return ".".join(n.sval or "" for n in names or () if isinstance(n, ast.String))


def created_in_file(ctx: MigrationContext, kind: str, name: str) -> bool:
    """True when the file made ``name`` (see :meth:`MigrationContext.created_here`):
    earlier in this section, or, for a down section, in the file's up section, which
    the down section exists to undo (dropping what the up section created loses
    nothing the migration did not add)."""
    if ctx.created_here(kind, name):
        return True
    if ctx.section.direction != "down":
        return False
    up = _up_context(ctx)
    return up is not None and up.created_here(kind, name)


def new_in_file(ctx: MigrationContext, relation: ast.RangeVar | None) -> bool:
    """:meth:`MigrationContext.is_new` counting the up section for a down section
    (:func:`created_in_file`); False for no relation."""
    if relation is None:
        return False
    name = ctx.qualify(relation)
    return created_in_file(ctx, "table", name) or created_in_file(ctx, "view", name)


def _up_context(ctx: MigrationContext) -> MigrationContext | None:
    """The state at the end of the up section of ``ctx``'s file, computed once per file."""
    source, state = _UP.get("", (None, None))
    if source is not ctx.source:
        up = next((s for s in ctx.source.sections if s.direction == "up"), None)
        state = None
        if up is not None:
            state = MigrationContext(ctx.source, up, ctx.settings, ctx.catalog)
            for statement in up.statements:
                state.after(statement)
        _UP[""] = (ctx.source, state)
    return state


_UP: dict[str, tuple[object, MigrationContext | None]] = {}


def qualify_dotted(name: str, ctx: MigrationContext) -> str:
    """``schema.name`` of a dotted name as written (``name`` or ``schema.name``),
    resolved with the file's search_path."""
    schema, _, rel = name.rpartition(".")
    return qualified(schema or None, rel, ctx.search_path)


def type_of(type_name: ast.TypeName | None) -> ColumnType | None:
    """The :class:`ColumnType` of a parsed ``TypeName`` (None for none)."""
    if type_name is None or not type_name.names:
        return None
    name = (type_name.names[-1].sval or "").lower()
    name = _ALIASES.get(name, name)
    mods = tuple(m.val.ival or 0 for m in type_name.typmods or ()
                 if isinstance(m, ast.A_Const) and isinstance(m.val, ast.Integer))
    return ColumnType(name, mods, bool(type_name.arrayBounds))


def constraints_of(column: ast.ColumnDef) -> tuple[ast.Constraint, ...]:
    """The column constraints of a column definition."""
    return tuple(c for c in column.constraints or () if isinstance(c, ast.Constraint))


def new_columns(node: ast.Node, ctx: MigrationContext) -> tuple[NewColumn, ...]:
    """The columns ``CREATE TABLE`` or ``ALTER TABLE ... ADD COLUMN`` defines (kept per
    statement: rules ask again about earlier statements)."""
    if not isinstance(node, ast.CreateStmt | ast.AlterTableStmt):
        return ()
    key = (id(node), ctx.search_path)
    hit = _COLUMNS.get(key)
    if hit is None or hit[0] is not node:
        if len(_COLUMNS) > 4096:
            _COLUMNS.clear()
        hit = _COLUMNS[key] = (node, tuple(_new_columns(node, ctx)))
    return hit[1]


_COLUMNS: dict[tuple[int, tuple[str, ...]], tuple[ast.Node, tuple[NewColumn, ...]]] = {}


def _new_columns(node: ast.Node, ctx: MigrationContext) -> Iterator[NewColumn]:
    if isinstance(node, ast.CreateStmt):
        table = ctx.qualify(node.relation)
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                yield NewColumn(table, element, True)
    elif isinstance(node, ast.AlterTableStmt):
        table = ctx.qualify(node.relation)
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                yield NewColumn(table, cmd.def_, False)


def table_constraints(node: ast.Node) -> Iterator[ast.Constraint]:
    """Table-level constraints of ``CREATE TABLE`` and ``ALTER TABLE ... ADD``."""
    if isinstance(node, ast.CreateStmt):
        yield from (e for e in node.tableElts or () if isinstance(e, ast.Constraint))
    elif isinstance(node, ast.AlterTableStmt):
        yield from (c.def_ for c in node.cmds or ()
                    if c.subtype == AT.AT_AddConstraint and isinstance(c.def_, ast.Constraint))


@once_per_statement
def key_columns(node: ast.Node, ctx: MigrationContext) -> set[tuple[str, str]]:
    """``(table, column)`` of the columns a statement makes primary-key, identity or
    foreign-key columns (column constraints and table constraints alike)."""
    keys: set[tuple[str, str]] = set()
    for new in new_columns(node, ctx):
        if any(c.contype in (CT.CONSTR_PRIMARY, CT.CONSTR_IDENTITY, CT.CONSTR_FOREIGN)
               for c in constraints_of(new.column)):
            keys.add((new.table, new.column.colname or ""))
    table = ctx.qualify(node.relation) if isinstance(
        node, ast.CreateStmt | ast.AlterTableStmt) else ""
    for con in table_constraints(node):
        if con.contype == CT.CONSTR_PRIMARY:
            keys |= {(table, k.sval or "") for k in con.keys or () if isinstance(k, ast.String)}
        elif con.contype == CT.CONSTR_FOREIGN:
            keys |= {(table, k.sval or "") for k in con.fk_attrs or ()
                     if isinstance(k, ast.String)}
    return keys


def column_type_known(ctx: MigrationContext, table: str, column: str) -> ColumnType | None:
    """The type of ``table.column`` before the statement: from the earlier statement of
    the file that defines it, else from the live catalog, else None."""
    for earlier in reversed(ctx.earlier):
        for new in new_columns(earlier.node, ctx):
            if new.table == table and new.column.colname == column:
                return type_of(new.column.typeName)
    found = ctx.catalog.table(table) if ctx.catalog else None
    col = next((c for c in found.columns if c.name == column), None) if found else None
    return catalog_type(col.type) if col else None


#: ``format_type()`` spellings of built-in types, to their internal names.
_FORMATTED = {**_ALIASES, "character varying": "varchar", "character": "bpchar",
              "bit varying": "varbit"}


def catalog_type(text: str) -> ColumnType:
    """The :class:`ColumnType` of a catalog ``format_type()`` text
    (``character varying(50)``, ``text[]``, ``app.status``)."""
    array = text.endswith("[]")
    base = text.removesuffix("[]").strip()
    mods = re.search(r"\(([\d, ]+)\)", base)
    typmods = tuple(int(m) for m in mods.group(1).split(",")) if mods else ()
    # format_type puts the precision inside: timestamp(0) with time zone.
    name = re.sub(r"\([\d, ]+\)", "", base).rsplit(".", 1)[-1].strip('"').strip()
    return ColumnType(_FORMATTED.get(name, name), typmods, array)


def func_option(node: ast.CreateFunctionStmt | ast.AlterFunctionStmt, name: str) -> object:
    """The ``arg`` of a function's option ``name`` (``language``, ``security``, ``as``,
    ``set``: the last one given), or None."""
    found = None
    options = node.options if isinstance(node, ast.CreateFunctionStmt) else node.actions
    for option in options or ():
        if isinstance(option, ast.DefElem) and option.defname == name:
            if name == "set" and not (isinstance(option.arg, ast.VariableSetStmt)
                                      and option.arg.name == "search_path"):
                continue
            found = option.arg
    return found


def search_path_of(node: ast.CreateFunctionStmt | ast.AlterFunctionStmt) -> tuple[str, ...] | None:
    """The schemas of a function's ``SET search_path`` clause, None when it has none
    (``FROM CURRENT`` pins the migration's path: an empty tuple)."""
    setting = func_option(node, "set")
    if not isinstance(setting, ast.VariableSetStmt):
        return None
    return tuple(schema_names(setting.args))


def schema_names(args: tuple[ast.Node, ...] | None) -> Iterator[str]:
    """The schema names of a ``search_path`` value list (``''`` for an empty one)."""
    for arg in args or ():
        if isinstance(arg, ast.A_Const) and isinstance(arg.val, ast.String):
            yield from (s.strip().strip('"') for s in (arg.val.sval or "").split(","))


def language_of(node: ast.CreateFunctionStmt) -> str:
    """The function's language, lower case (``sql`` when omitted, PostgreSQL's default
    for a SQL-standard body)."""
    lang = func_option(node, "language")
    return (lang.sval or "").lower() if isinstance(lang, ast.String) else "sql"


def function_name(node: ast.CreateFunctionStmt, ctx: MigrationContext) -> str:
    """``schema.name`` of the function a statement creates."""
    parts = [n.sval or "" for n in node.funcname or () if isinstance(n, ast.String)]
    return qualified(parts[-2] if len(parts) > 1 else None, parts[-1], ctx.search_path)


def policies_in(ctx: MigrationContext
                ) -> Iterator[tuple[int, Statement, ast.CreatePolicyStmt]]:
    """``(index, statement, node)`` of each CREATE POLICY of the section so far."""
    for i, s in enumerate(ctx.earlier):
        if isinstance(s.node, ast.CreatePolicyStmt):
            yield i, s, s.node


def role_names(specs: tuple[ast.RoleSpec, ...] | None) -> set[str]:
    """Role names of a role list; ``public`` for PUBLIC (and for none: the default)."""
    public = enums.RoleSpecType.ROLESPEC_PUBLIC
    return {"public" if r.roletype == public else str(r.rolename) for r in specs or ()} \
        or {"public"}


def is_ddl(node: ast.Node) -> bool:
    """True for a statement that changes structure (not DML, SET, SELECT or
    transaction control)."""
    return not isinstance(node, ast.SelectStmt | ast.InsertStmt | ast.UpdateStmt
                          | ast.DeleteStmt | ast.VariableSetStmt | ast.TransactionStmt
                          | ast.MergeStmt | ast.VariableShowStmt | ast.DoStmt
                          | ast.CopyStmt | ast.CallStmt)


def transaction_of(statement: Statement, statements: tuple[Statement, ...],
                   wrapped: bool) -> tuple[Statement, ...]:
    """The statements that run in the same transaction as ``statement`` (itself
    included): the whole section when the runner wraps it, else those between the
    explicit BEGIN and COMMIT around it (just itself in autocommit)."""
    if wrapped:
        return statements
    kind = enums.TransactionStmtKind
    group: list[Statement] = []
    current: list[Statement] = []
    open_block = False
    for item in statements:
        node = item.node
        if isinstance(node, ast.TransactionStmt) and node.kind in (
                kind.TRANS_STMT_BEGIN, kind.TRANS_STMT_START):
            open_block, current = True, []
            continue
        if isinstance(node, ast.TransactionStmt) and node.kind in (
                kind.TRANS_STMT_COMMIT, kind.TRANS_STMT_ROLLBACK):
            if any(s is statement for s in current):
                group = current
            open_block, current = False, []
            continue
        current = [*current, item] if open_block else [item]
        if not open_block and item is statement:
            group = current
    if not group and any(s is statement for s in current):
        group = current
    return tuple(group) or (statement,)
