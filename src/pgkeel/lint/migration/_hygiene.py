"""What the section C rules read from a statement's tree (kept apart from their docs).

Each function answers one question about a pglast statement node, given the
:class:`~pgkeel.lint.migration.context.MigrationContext` before it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pglast import ast, enums
from pglast.parser import ParseError, scan

from pgkeel.lint.migration.context import qualified
from pgkeel.lint.migration.locks import LockMode, locks_taken

if TYPE_CHECKING:
    from pgkeel.lint.migration.context import MigrationContext

__all__ = ["created_schema", "long_identifiers", "robust_problem", "slow_work",
           "strong_locks", "unqualified"]

AT = enums.AlterTableType
CT = enums.ConstrType
OT = enums.ObjectType
#: NAMEDATALEN - 1 (PostgreSQL docs, "Identifiers and Key Words").
MAX_NAME_BYTES = 63


def strong_locks(node: ast.Node, ctx: MigrationContext) -> dict[str, LockMode]:
    """``{relation: mode}`` of the locks of SHARE or stronger that ``node`` takes on
    relations not created earlier in the file: the ones whose wait queues ordinary
    reads or writes (Table 13.2, "Conflicting Lock Modes": SHARE conflicts with ROW
    EXCLUSIVE)."""
    return {name: mode for name, mode in locks_taken(node, ctx.qualify).items()
            if mode >= LockMode.SHARE and not ctx.is_new_name(name)}


_SLOW_ALTER = {
    AT.AT_AlterColumnType: "ALTER COLUMN ... TYPE (a rewrite unless binary-coercible)",
    AT.AT_SetNotNull: "SET NOT NULL (a full scan)",
    AT.AT_ValidateConstraint: "VALIDATE CONSTRAINT (a full scan)",
    AT.AT_SetLogged: "SET LOGGED (a rewrite)",
    AT.AT_SetUnLogged: "SET UNLOGGED (a rewrite)",
    AT.AT_SetTableSpace: "SET TABLESPACE (a copy)",
    AT.AT_SetAccessMethod: "SET ACCESS METHOD (a rewrite)",
}
_SCANNING = (CT.CONSTR_CHECK, CT.CONSTR_FOREIGN, CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE,
             CT.CONSTR_EXCLUSION)
_REWRITING_COLUMN = (CT.CONSTR_GENERATED, CT.CONSTR_IDENTITY, CT.CONSTR_PRIMARY,
                     CT.CONSTR_UNIQUE)


def slow_work(node: ast.Node, ctx: MigrationContext) -> tuple[str, str] | None:
    """``(relation, what)`` when ``node`` rewrites, scans or rebuilds an existing
    relation while holding its lock (PostgreSQL docs, "ALTER TABLE" Notes), else None.
    ``CREATE INDEX CONCURRENTLY`` is not counted (see require-statement-timeout)."""
    if isinstance(node, ast.AlterTableStmt):
        table = ctx.qualify(node.relation)
        if ctx.is_new_name(table):
            return None
        for cmd in node.cmds or ():
            what = _slow_alter(cmd)
            if what:
                return table, what
        return None
    relation, what = None, ""
    if isinstance(node, ast.IndexStmt) and not node.concurrent:
        relation, what = node.relation, "CREATE INDEX (a build that blocks writes)"
    elif isinstance(node, ast.ClusterStmt) and node.relation is not None:
        relation, what = node.relation, "CLUSTER (a rewrite)"
    elif isinstance(node, ast.VacuumStmt) and any(o.defname == "full"
                                                  for o in node.options or ()):
        relation = node.rels[0].relation if node.rels else None
        what = "VACUUM FULL (a rewrite)"
    elif isinstance(node, ast.RefreshMatViewStmt):
        relation, what = node.relation, "REFRESH MATERIALIZED VIEW (a full recompute)"
    elif isinstance(node, ast.UpdateStmt | ast.DeleteStmt) and node.whereClause is None:
        relation, what = node.relation, "an UPDATE/DELETE of every row"
    if relation is None:
        return None
    name = ctx.qualify(relation)
    return None if ctx.is_new_name(name) else (name, what)


def _slow_alter(cmd: ast.Node) -> str | None:
    if not isinstance(cmd, ast.AlterTableCmd):
        return None
    if cmd.subtype in _SLOW_ALTER:
        return _SLOW_ALTER[cmd.subtype]
    definition = cmd.def_
    if cmd.subtype == AT.AT_AddConstraint and isinstance(definition, ast.Constraint) \
            and definition.contype in _SCANNING and not definition.skip_validation \
            and not definition.indexname:
        return "ADD CONSTRAINT (a validating scan or an index build)"
    if cmd.subtype == AT.AT_AddColumn and isinstance(definition, ast.ColumnDef):
        for constraint in definition.constraints or ():
            if constraint.contype in _REWRITING_COLUMN:
                return "ADD COLUMN with a generated, identity or keyed column (a rewrite)"
    return None


_DROP_KINDS = {OT.OBJECT_TABLE: "DROP TABLE", OT.OBJECT_INDEX: "DROP INDEX",
               OT.OBJECT_VIEW: "DROP VIEW", OT.OBJECT_MATVIEW: "DROP MATERIALIZED VIEW",
               OT.OBJECT_SEQUENCE: "DROP SEQUENCE", OT.OBJECT_TYPE: "DROP TYPE",
               OT.OBJECT_SCHEMA: "DROP SCHEMA", OT.OBJECT_FUNCTION: "DROP FUNCTION",
               OT.OBJECT_TRIGGER: "DROP TRIGGER", OT.OBJECT_POLICY: "DROP POLICY",
               OT.OBJECT_EXTENSION: "DROP EXTENSION", OT.OBJECT_DOMAIN: "DROP DOMAIN"}


def robust_problem(node: ast.Node) -> tuple[str, str] | None:
    """``(what, fix)`` when ``node`` fails if run a second time, else None."""
    if isinstance(node, ast.CreateStmt) and not node.if_not_exists:
        return "CREATE TABLE", "CREATE TABLE IF NOT EXISTS"
    if isinstance(node, ast.IndexStmt) and not node.if_not_exists and not node.concurrent:
        return "CREATE INDEX", "CREATE INDEX IF NOT EXISTS"
    if isinstance(node, ast.CreateSchemaStmt) and not node.if_not_exists:
        return "CREATE SCHEMA", "CREATE SCHEMA IF NOT EXISTS"
    if isinstance(node, ast.CreateSeqStmt) and not node.if_not_exists:
        return "CREATE SEQUENCE", "CREATE SEQUENCE IF NOT EXISTS"
    if isinstance(node, ast.CreateExtensionStmt) and not node.if_not_exists:
        return "CREATE EXTENSION", "CREATE EXTENSION IF NOT EXISTS"
    if isinstance(node, ast.DropStmt) and not node.missing_ok \
            and node.removeType in _DROP_KINDS:
        verb = _DROP_KINDS[node.removeType]
        return verb, f"{verb} IF EXISTS"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd) or cmd.missing_ok:
                continue
            if cmd.subtype == AT.AT_AddColumn:
                return "ADD COLUMN", "ADD COLUMN IF NOT EXISTS"
            if cmd.subtype == AT.AT_DropColumn:
                return "DROP COLUMN", "DROP COLUMN IF EXISTS"
            if cmd.subtype == AT.AT_DropConstraint:
                return "DROP CONSTRAINT", "DROP CONSTRAINT IF EXISTS"
    return None


def unqualified(node: ast.Node) -> list[str]:
    """Names of relations and functions ``node`` creates, alters or drops without a
    schema (temporary relations excluded: they live in pg_temp)."""
    relations: list[ast.RangeVar | None] = []
    if isinstance(node, ast.CreateStmt):
        relations.append(node.relation)
    elif isinstance(node, ast.AlterTableStmt | ast.IndexStmt | ast.RenameStmt
                    | ast.CreateTrigStmt | ast.TruncateStmt):
        relations += node.relations if isinstance(node, ast.TruncateStmt) \
            else [node.relation]
    elif isinstance(node, ast.ViewStmt):
        relations.append(node.view)
    elif isinstance(node, ast.CreateSeqStmt):
        relations.append(node.sequence)
    elif isinstance(node, ast.CreateTableAsStmt):
        relations.append(node.into.rel)
    names = [r.relname for r in relations
             if r is not None and not r.schemaname and r.relpersistence != "t"]
    if isinstance(node, ast.CreateFunctionStmt) and len(node.funcname) == 1:
        names.append(node.funcname[0].sval)
    if isinstance(node, ast.DropStmt) and node.removeType in (
            OT.OBJECT_TABLE, OT.OBJECT_VIEW, OT.OBJECT_MATVIEW, OT.OBJECT_SEQUENCE,
            OT.OBJECT_INDEX):
        names += [o[0].sval for o in node.objects or ()
                  if isinstance(o, tuple) and len(o) == 1]
    return names


def created_schema(node: ast.Node, ctx: MigrationContext) -> tuple[str, str] | None:
    """``(schema, schema.name)`` of the object ``node`` creates (tables, views,
    sequences, functions, types), resolved with the file's search_path; else None."""
    relation = None
    if isinstance(node, ast.CreateStmt):
        relation = node.relation
    elif isinstance(node, ast.ViewStmt):
        relation = node.view
    elif isinstance(node, ast.CreateSeqStmt):
        relation = node.sequence
    elif isinstance(node, ast.CreateTableAsStmt):
        relation = node.into.rel
    elif isinstance(node, ast.CompositeTypeStmt):
        relation = node.typevar
    if relation is not None:
        if relation.relpersistence == "t":
            return None
        name = ctx.qualify(relation)
        return name.split(".", 1)[0], name
    parts: tuple[ast.Node, ...] = ()
    if isinstance(node, ast.CreateFunctionStmt):
        parts = node.funcname
    elif isinstance(node, ast.CreateEnumStmt | ast.CreateDomainStmt):
        parts = node.typeName
    names = [p.sval for p in parts if isinstance(p, ast.String)]
    if not names:
        return None
    name = qualified(names[-2] if len(names) > 1 else None, names[-1], ctx.search_path)
    return name.split(".", 1)[0], name


# A run of 64 name characters starting at a boundary (the lookbehind keeps the search
# linear: without it every position of a long word would start a new attempt).
_LONG_WORD = re.compile(r'(?<![^\s(),;."])[^\s(),;."]{64}|"[^"]{64}')


def long_identifiers(sql: str, node: ast.Node,
                     ctx: MigrationContext) -> list[tuple[str, bool]]:
    """``(name, generated)`` for each identifier over 63 bytes in ``sql`` (as written:
    the parser has already truncated the tree's names) and each name PostgreSQL would
    generate over 63 bytes for an unnamed index or constraint of ``node``."""
    found: list[tuple[str, bool]] = []
    # Cheap test first: a run of 64 characters, or any non-ASCII (bytes > characters).
    if _LONG_WORD.search(sql) or not sql.isascii():
        try:
            tokens = scan(sql)
        except ParseError:
            tokens = []
        for token in tokens:  # positions are characters, end inclusive
            if token.name != "IDENT":
                continue
            text = sql[token.start:token.end + 1]
            name = text[1:-1].replace('""', '"') if text.startswith('"') else text.lower()
            if len(name.encode()) > MAX_NAME_BYTES:
                found.append((name, False))
    found += [(name, True) for name in _generated_names(node)
              if len(name.encode()) > MAX_NAME_BYTES]
    return found


def _generated_names(node: ast.Node) -> list[str]:
    """The names PostgreSQL would choose for unnamed indexes and key constraints of
    ``node``, before it shortens them (``ChooseIndexName``/``ChooseConstraintName`` in
    src/backend/commands/indexcmds.c: table, columns, then ``idx``, ``key``, ``pkey``,
    ``fkey``, ``check``)."""
    if not isinstance(node, ast.IndexStmt | ast.CreateStmt | ast.AlterTableStmt):
        return []
    names: list[str] = []
    if isinstance(node, ast.IndexStmt) and not node.idxname:
        columns = [p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem)
                   and p.name]
        names.append("_".join([node.relation.relname, *(columns or ["expr"]), "idx"]))
    constraints: list[tuple[str, ast.Constraint]] = []
    table = ""
    if isinstance(node, ast.CreateStmt):
        table = node.relation.relname
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                constraints += [(element.colname, c) for c in element.constraints or ()]
            elif isinstance(element, ast.Constraint):
                constraints.append(("", element))
    elif isinstance(node, ast.AlterTableStmt):
        table = node.relation.relname
        for cmd in node.cmds or ():
            if isinstance(cmd.def_, ast.Constraint):
                constraints.append(("", cmd.def_))
    suffix = {CT.CONSTR_PRIMARY: "pkey", CT.CONSTR_UNIQUE: "key", CT.CONSTR_FOREIGN: "fkey",
              CT.CONSTR_CHECK: "check"}
    for column, constraint in constraints:
        if constraint.conname or constraint.contype not in suffix:
            continue
        if constraint.contype == CT.CONSTR_PRIMARY:
            names.append(f"{table}_pkey")
            continue
        keys = constraint.fk_attrs if constraint.contype == CT.CONSTR_FOREIGN \
            else constraint.keys
        columns = [k.sval for k in keys or () if isinstance(k, ast.String)] or \
            ([column] if column else [])
        names.append("_".join([table, *columns, suffix[constraint.contype]]))
    return names


#: The oldest PostgreSQL release still supported by the PostgreSQL project on
#: 2026-12-07 (14 reached end of life in November 2026; "Versioning Policy",
#: https://www.postgresql.org/support/versioning/): what version gates assume when the
#: target is unknown.
OLDEST_SUPPORTED = 150000


def newer_syntax(node: ast.Node) -> list[tuple[str, int]]:
    """``(feature, server_version_num that introduced it)`` for syntax in ``node`` that
    pglast (PostgreSQL 18's grammar) accepts but older servers reject; release notes
    of each version (E.1 of PostgreSQL 12, 14, 15 and 18)."""
    found: list[tuple[str, int]] = []
    constraints: list[ast.Constraint] = []
    if isinstance(node, ast.CreateStmt):
        for element in node.tableElts or ():
            if isinstance(element, ast.ColumnDef):
                constraints += element.constraints or ()
            elif isinstance(element, ast.Constraint):
                constraints.append(element)
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            definition = cmd.def_ if isinstance(cmd, ast.AlterTableCmd) else None
            if isinstance(definition, ast.ColumnDef):
                constraints += definition.constraints or ()
            elif isinstance(definition, ast.Constraint):
                constraints.append(definition)
            elif isinstance(definition, ast.PartitionCmd) and definition.concurrent:
                found.append(("DETACH PARTITION ... CONCURRENTLY", 140000))
            if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == AT.AT_SetAccessMethod:
                found.append(("ALTER TABLE ... SET ACCESS METHOD", 150000))
    elif isinstance(node, ast.ViewStmt):
        if any(isinstance(o, ast.DefElem) and o.defname == "security_invoker"
               for o in node.options or ()):
            found.append(("a security_invoker view", 150000))
    elif isinstance(node, ast.ReindexStmt):
        if any(p.defname == "concurrently" for p in node.params or ()):
            found.append(("REINDEX ... CONCURRENTLY", 120000))
    elif isinstance(node, ast.MergeStmt):
        found.append(("MERGE", 150000))
    elif isinstance(node, ast.IndexStmt) and node.nulls_not_distinct:
        found.append(("NULLS NOT DISTINCT", 150000))
    elif isinstance(node, ast.CreateTrigStmt) and node.replace:
        found.append(("CREATE OR REPLACE TRIGGER", 140000))
    for constraint in constraints:
        if constraint.contype == CT.CONSTR_GENERATED and constraint.generated_kind == "v":
            found.append(("a VIRTUAL generated column (the default without STORED)", 180000))
        elif constraint.contype == CT.CONSTR_NOTNULL and constraint.skip_validation:
            found.append(("NOT NULL ... NOT VALID", 180000))
        elif constraint.contype == CT.CONSTR_UNIQUE and constraint.nulls_not_distinct:
            found.append(("NULLS NOT DISTINCT", 150000))
        elif constraint.without_overlaps or constraint.fk_with_period:
            found.append(("WITHOUT OVERLAPS / PERIOD", 180000))
    return found
