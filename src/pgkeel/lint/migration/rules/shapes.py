"""Migration rules, catalogue section D (shapes): index keys, generated columns, column order
and declarations judged in DDL.

Types of columns the statement does not define come from earlier statements of the file,
else from the live catalog (:func:`._ddl.column_type_known`); a rule that needs one and
cannot know it stays silent rather than guess. Table-level rules are in :mod:`.structure`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    column_type_known,
    constraints_of,
    new_columns,
    table_constraints,
    type_of,
    walk,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

CT = enums.ConstrType


class _IndexRule(MigrationRule, abstract=True):
    object_kind = "index"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt,)


def _index_columns(node: ast.IndexStmt) -> list[str | None]:
    return [p.name for p in node.indexParams or () if isinstance(p, ast.IndexElem)]


class BtreeOnArrayOrJsonb(_IndexRule):
    """A B-tree index on an array or jsonb column serves only whole-value equality.

    Why
    ---
    Containment and overlap (``@>``, ``&&``, ``?``) need a GIN index; a B-tree on the
    whole value is rarely what a query can use ("Index Types", GIN).

    Bad
    ---
    ```sql
    CREATE TABLE n (tags text[]);
    CREATE INDEX n_tags_idx ON n (tags);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_tags_idx ON t USING gin (tags);
    ```

    Notes
    -----
    The column's type comes from the file or the live catalog (with a database,
    ``CREATE INDEX ... ON t (tags)`` is found too).

    References
    ----------
    - https://www.postgresql.org/docs/current/indexes-types.html#INDEXES-TYPES-GIN
    - pg-index-health: btree_indexes_on_array_columns
    """

    id = "btree-on-array-or-jsonb"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/indexes-types.html#INDEXES-TYPES-GIN"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt)
        if (node.accessMethod or "btree") != "btree":
            return
        table = ctx.qualify(node.relation)
        for col in _index_columns(node):
            ctype = column_type_known(ctx, table, col) if col else None
            if ctype and (ctype.array or ctype.name == "jsonb"):
                yield self.at(statement, ctx, f"B-tree index on {table}.{col} "
                              f"({ctype.name}{'[]' if ctype.array else ''}) serves only "
                              "whole-value equality, not @>, && or ?", object=table,
                              fix="USING gin")


class IndexTooManyColumns(_IndexRule):
    """A non-unique index with more than three key columns.

    Why
    ---
    Columns past the leading few are rarely used for searching but cost on every
    write; covering columns belong in INCLUDE ("Index-Only Scans and Covering
    Indexes"). Option ``max_columns`` (default 3).

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_w_idx ON t (a, b, u_id, v);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_w_idx ON t (a, b) INCLUDE (u_id, v);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/indexes-index-only-scans.html
    - pgrubic: GN005; strong_migrations: keeping non-unique indexes to three columns
    """

    id = "index-too-many-columns"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/indexes-index-only-scans.html"
    options: ClassVar = {"max_columns": RuleOption(int, "most key columns allowed", 3)}

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.IndexStmt)
        most = int(ctx.option(self.id, "max_columns", 3))
        count = len(node.indexParams or ())
        if not node.unique and count > most:
            yield self.at(statement, ctx, f"index {node.idxname or ''} has {count} key columns "
                          f"(more than {most})", object=ctx.qualify(node.relation),
                          fix="fewer key columns; move covering ones to INCLUDE")


class DuplicateIndexColumn(MigrationRule):
    """The same column twice in one index key or PRIMARY KEY/UNIQUE list.

    Why
    ---
    The second occurrence adds width and write cost and never narrows a search.

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_aa_idx ON t (a, a);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_ab_idx ON t (a, b);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/indexes-multicolumn.html
    - pgrubic: GN032, CT005, CT006
    """

    id = "duplicate-index-column"
    severity = Severity.WARNING
    object_kind = "index"
    docs_url = "https://www.postgresql.org/docs/current/indexes-multicolumn.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.IndexStmt, ast.CreateStmt,
                                                    ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        lists: list[list[str]] = []
        if isinstance(node, ast.IndexStmt):
            lists.append([c for c in _index_columns(node) if c])
        else:
            lists += [[k.sval or "" for k in con.keys or ()] for con in table_constraints(node)
                      if con.contype in (CT.CONSTR_PRIMARY, CT.CONSTR_UNIQUE)]
        assert isinstance(node, ast.IndexStmt | ast.CreateStmt | ast.AlterTableStmt)
        table = ctx.qualify(node.relation)
        for cols in lists:
            for col, n in Counter(cols).items():
                if n > 1:
                    yield self.at(statement, ctx, f"column {col} appears {n} times in one key "
                                  f"on {table}", object=table, fix="list it once")


class ConstantGeneratedColumn(MigrationRule):
    """A generated column whose expression references no column.

    Why
    ---
    It stores the same value in every row: a DEFAULT, or a view, says so without the
    storage.

    Bad
    ---
    ```sql
    CREATE TABLE n (x int, k int GENERATED ALWAYS AS (42) STORED);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int, k int GENERATED ALWAYS AS (x * 2) STORED);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-generated-columns.html
    - pgrubic: GN016
    """

    id = "constant-generated-column"
    severity = Severity.INFO
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/ddl-generated-columns.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for new in new_columns(statement.node, ctx):
            for con in constraints_of(new.column):
                if con.contype == CT.CONSTR_GENERATED and not any(
                        isinstance(n, ast.ColumnRef) for n in walk(con.raw_expr)):
                    yield self.at(statement, ctx, f"{new.table}.{new.column.colname} is generated "
                                  "from a constant: every row stores the same value",
                                  object=f"{new.table}.{new.column.colname}",
                                  fix="use a DEFAULT, or compute it in a view")


#: (length, alignment) of fixed-width built-in types (pg_type.typlen, typalign).
_WIDTH = {"int8": (8, 8), "float8": (8, 8), "timestamp": (8, 8), "timestamptz": (8, 8),
          "time": (8, 8), "money": (8, 8), "bigserial": (8, 8), "interval": (16, 8),
          "int4": (4, 4), "float4": (4, 4), "date": (4, 4), "serial": (4, 4), "oid": (4, 4),
          "int2": (2, 2), "smallserial": (2, 2), "bool": (1, 1), "uuid": (16, 1)}


def _padding(widths: list[tuple[int, int]]) -> int:
    offset = padding = 0
    for length, align in widths:
        gap = -offset % align
        padding += gap
        offset += gap + length
    return padding


class ColumnAlignmentPadding(MigrationRule):
    """CREATE TABLE column order wastes alignment padding on every row.

    Why
    ---
    Each fixed-width value starts at a multiple of its alignment (``pg_type.typalign``),
    so a boolean between two bigints costs 7 padding bytes per row ("Database Page
    Layout"). Ordering 8-byte, 4-byte, 2-byte, 1-byte columns, then variable-length
    ones, removes it.

    Bad
    ---
    ```sql
    CREATE TABLE acct (id bigint, premium boolean, balance bigint, age smallint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE acct (id bigint, balance bigint, age smallint, premium boolean);
    ```

    Notes
    -----
    Only the fixed-width columns before the first variable-length one are judged:
    after it the offsets depend on the data.

    References
    ----------
    - https://www.postgresql.org/docs/current/storage-page-layout.html
    - Atlas: PG110
    """

    id = "column-alignment-padding"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/storage-page-layout.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        widths: list[tuple[int, int]] = []
        for new in new_columns(statement.node, ctx):
            ctype = type_of(new.column.typeName)
            width = _WIDTH.get(ctype.name) if ctype and not ctype.array else None
            if width is None:
                break
            widths.append(width)
        now = _padding(widths)
        best = _padding(sorted(widths, key=lambda w: -w[1]))
        if now > best:
            assert isinstance(statement.node, ast.CreateStmt)
            table = ctx.qualify(statement.node.relation)
            yield self.at(statement, ctx, f"the column order of {table} wastes {now - best} "
                          "bytes of alignment padding per row", object=table,
                          fix="order columns 8-byte, 4-byte, 2-byte, 1-byte, then "
                          "variable-length")


class ExplicitNullConstraint(MigrationRule):
    """A column declared NULL explicitly.

    Why
    ---
    NULL is the default; the keyword is a non-standard no-op that reads like a
    constraint.

    Bad
    ---
    ```sql
    CREATE TABLE n (x int NULL);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createtable.html
    - pgrubic: GN021
    """

    id = "explicit-null-constraint"
    severity = Severity.INFO
    opt_in = True
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/sql-createtable.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for new in new_columns(statement.node, ctx):
            if any(c.contype == CT.CONSTR_NULL for c in constraints_of(new.column)):
                yield self.at(statement, ctx, f"{new.table}.{new.column.colname} is declared NULL "
                              "explicitly (the default)",
                              object=f"{new.table}.{new.column.colname}", fix="omit NULL")

