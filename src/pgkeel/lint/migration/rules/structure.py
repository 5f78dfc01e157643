"""Migration rules, catalogue section D (structure): keys, inheritance, rules, foreign
keys, partitioning and databases chosen in DDL.

The column-type rules of the same section are in :mod:`.design` and
:mod:`.key_types`, index and column shapes in :mod:`.shapes`. Types of columns the
statement does not define come from earlier statements of the file, else from the live
catalog (:func:`._ddl.column_type_known`); a rule that needs one and cannot know it
stays silent rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    ColumnType,
    column_type_known,
    constraints_of,
    new_columns,
    table_constraints,
    type_of,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
CT = enums.ConstrType

_SERIALS = {"serial": "int4", "bigserial": "int8", "smallserial": "int2"}
_ACTIONS = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL",
            "d": "SET DEFAULT"}


def _is_plain_table(node: ast.CreateStmt) -> bool:
    """A permanent table that is not a partition (partitions get their keys from the
    parent) nor a typed table."""
    return node.partbound is None and node.relation is not None \
        and node.relation.relpersistence != "t" \
        and node.ofTypename is None


def _has_primary_key(node: ast.Node) -> bool:
    cols = [c for new in (node.tableElts or ()) if isinstance(new, ast.ColumnDef)
            for c in constraints_of(new)] if isinstance(node, ast.CreateStmt) else []
    return any(c.contype == CT.CONSTR_PRIMARY for c in cols) or any(
        c.contype == CT.CONSTR_PRIMARY for c in table_constraints(node))


class RequirePrimaryKey(MigrationRule):
    """A new table has no primary key.

    Why
    ---
    Without a primary key rows have no identity: logical replication cannot publish
    their UPDATEs and DELETEs ("Logical Replication", Publication: REPLICA IDENTITY),
    duplicates creep in, and ORMs struggle.

    Bad
    ---
    ```sql
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, x int);
    ```

    ```sql
    CREATE TABLE n (id bigint NOT NULL, x int);
    ALTER TABLE n ADD CONSTRAINT n_pkey PRIMARY KEY (id);
    ```

    Notes
    -----
    A primary key added later in the same file counts. Partitions, temporary and typed
    tables, and ``LIKE`` copies (which may include the source's key) are exempt. The
    schema linter's ``missing-primary-key`` judges existing tables.

    References
    ----------
    - https://www.postgresql.org/docs/current/logical-replication-publication.html
    - splinter: 0004 no_primary_key
    """

    id = "require-primary-key"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/logical-replication-publication.html"
    upstream = ("splinter:no_primary_key",)

    # Judged in finish(); check() runs only where a finding can start.
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        return iter(())

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        statements = ctx.earlier
        for i, statement in enumerate(statements):
            node = statement.node
            if not isinstance(node, ast.CreateStmt) or not _is_plain_table(node) \
                    or _has_primary_key(node) or any(
                        isinstance(e, ast.TableLikeClause) for e in node.tableElts or ()):
                continue  # LIKE ... INCLUDING copies the source's key: not judged here
            table = ctx.qualify(node.relation)
            if any(isinstance(s.node, ast.AlterTableStmt) and ctx.qualify(s.node.relation) == table
                   and _has_primary_key(s.node) for s in statements[i + 1:]):
                continue
            yield self.at(statement, ctx, f"table {table} has no primary key: rows have no "
                          "identity, and logical replication cannot publish their updates",
                          object=table,
                          fix="add id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")


class MandatoryColumns(MigrationRule):
    """A new table lacks the columns every table must have (or a migration drops one).

    Why
    ---
    Conventions such as ``created_at``/``updated_at`` on every table (option
    ``columns``) only hold if each new table has them and no migration drops them.

    Bad
    ---
    ```sql
    CREATE TABLE n (id bigint PRIMARY KEY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(),
                    updated_at timestamptz NOT NULL DEFAULT now());
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-default.html
    - schemalint: mandatory-columns; pgrubic: GN011, GN012, GN013
    """

    id = "mandatory-columns"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/ddl-default.html"
    options: ClassVar = {"columns": RuleOption(list[str], "columns every table must have",
                                               ["created_at", "updated_at"])}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateStmt | ast.AlterTableStmt)
        wanted = list(ctx.option(self.id, "columns", ["created_at", "updated_at"]))
        table = ctx.qualify(node.relation)
        if isinstance(node, ast.CreateStmt):
            if not _is_plain_table(node) or node.inhRelations:
                return
            have = {new.column.colname for new in new_columns(node, ctx)}
            missing = [c for c in wanted if c not in have]
            if missing:
                yield self.at(statement, ctx, f"table {table} lacks the mandatory columns "
                              f"{', '.join(missing)}", object=table,
                              fix=f"add {', '.join(missing)} to the table")
            return
        for cmd in node.cmds or ():
            if cmd.subtype == AT.AT_DropColumn and cmd.name in wanted:
                yield self.at(statement, ctx, f"dropping {table}.{cmd.name}, a mandatory column",
                              object=f"{table}.{cmd.name}", fix="keep the column")


class TableInheritance(MigrationRule):
    """INHERITS: indexes, unique constraints and foreign keys do not span children.

    Why
    ---
    With table inheritance, a parent's unique constraint does not cover its children
    and foreign keys cannot reference the hierarchy ("Inheritance", Caveats).
    Declarative partitioning replaced it.

    Bad
    ---
    ```sql
    CREATE TABLE child () INHERITS (u);
    ```

    Good
    ----
    ```sql
    CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-inherit.html#DDL-INHERIT-CAVEATS
    - pgrubic: GN001
    """

    id = "table-inheritance"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/ddl-inherit.html#DDL-INHERIT-CAVEATS"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateStmt)
        if node.inhRelations and node.partbound is None:
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"{table} uses table inheritance: unique constraints "
                          "and foreign keys do not span the hierarchy", object=table,
                          fix="declarative partitioning, or a foreign key to a shared table")


class BanRules(MigrationRule):
    """CREATE RULE rewrites queries in surprising ways.

    Why
    ---
    Rules rewrite the query rather than act per row: volatile expressions run more
    than once and RETURNING behaves unexpectedly ("Rules Versus Triggers").

    Bad
    ---
    ```sql
    CREATE RULE t_no_delete AS ON DELETE TO t DO INSTEAD NOTHING;
    ```

    Good
    ----
    ```sql
    CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/rules-triggers.html
    - pgrubic: GN002
    """

    id = "ban-rules"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/rules-triggers.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.RuleStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.RuleStmt)
        table = ctx.qualify(node.relation)
        yield self.at(statement, ctx, f"rule {node.rulename} on {table} rewrites queries "
                      "(multiple evaluation, surprising RETURNING)", object=table,
                      fix="use a trigger")


class UnloggedTable(MigrationRule):
    """CREATE UNLOGGED TABLE: emptied after a crash and never replicated.

    Why
    ---
    Unlogged tables skip the WAL: after a crash they are truncated, and standbys do
    not have their data ("CREATE TABLE", UNLOGGED).

    Bad
    ---
    ```sql
    CREATE UNLOGGED TABLE n (x int);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (x int);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-UNLOGGED
    - pgrubic: GN019
    """

    id = "unlogged-table"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-UNLOGGED"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateStmt)
        if node.relation is not None and node.relation.relpersistence == "u":
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"{table} is UNLOGGED: emptied after a crash and not "
                          "replicated", object=table,
                          fix="a logged table, unless the data is disposable")


def _foreign_keys(node: ast.Node, ctx: MigrationContext
                  ) -> Iterator[tuple[str, tuple[str, ...], ast.Constraint]]:
    """``(table, columns, constraint)`` of each foreign key a statement adds."""
    for new in new_columns(node, ctx):
        for con in constraints_of(new.column):
            if con.contype == CT.CONSTR_FOREIGN:
                yield new.table, (new.column.colname or "",), con
    if isinstance(node, ast.CreateStmt | ast.AlterTableStmt):
        table = ctx.qualify(node.relation)
        for con in table_constraints(node):
            if con.contype == CT.CONSTR_FOREIGN:
                yield table, tuple(k.sval for k in con.fk_attrs or ()), con


class FkActionPolicy(MigrationRule):
    """A foreign key's ON DELETE / ON UPDATE action is outside the team's policy.

    Why
    ---
    ``ON DELETE CASCADE`` deletes whole graphs of rows implicitly, under row locks,
    from one innocent DELETE. Option ``forbidden`` lists the actions to refuse
    (default CASCADE).

    Bad
    ---
    ```sql
    CREATE TABLE n (u_id bigint REFERENCES u ON DELETE CASCADE);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (u_id bigint REFERENCES u ON DELETE RESTRICT);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
    - schemalint: reference-actions; pgrubic: CT001, CT002
    """

    id = "fk-action-policy"
    severity = Severity.WARNING
    opt_in = True
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK"
    options: ClassVar = {"forbidden": RuleOption(list[str], "referential actions to refuse",
                                                 ["CASCADE"])}
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        forbidden = {a.upper() for a in ctx.option(self.id, "forbidden", ["CASCADE"])}
        for table, cols, con in _foreign_keys(statement.node, ctx):
            for event, code in (("DELETE", con.fk_del_action), ("UPDATE", con.fk_upd_action)):
                action = _ACTIONS.get(code or "a", "NO ACTION")
                if action in forbidden:
                    yield self.at(statement, ctx, f"foreign key on {table} ({', '.join(cols)}) "
                                  f"has ON {event} {action}, which the policy forbids",
                                  object=table, fix="use the action the team's policy names")


def _primary_key(ctx: MigrationContext, table: str, node: ast.Node) -> tuple[str, ...]:
    """Columns of ``table``'s primary key: from this statement, earlier ones, or the
    catalog; empty when unknown."""
    for candidate in (node, *(s.node for s in reversed(ctx.earlier))):
        if isinstance(candidate, ast.CreateStmt) and ctx.qualify(candidate.relation) == table:
            for new in new_columns(candidate, ctx):
                if any(c.contype == CT.CONSTR_PRIMARY for c in constraints_of(new.column)):
                    return (new.column.colname or "",)
            for con in table_constraints(candidate):
                if con.contype == CT.CONSTR_PRIMARY:
                    return tuple(k.sval for k in con.keys or ())
    found = ctx.catalog.table(table) if ctx.catalog else None
    return found.primary_key.columns if found and found.primary_key else ()


def _base(ctype: ColumnType | None) -> tuple[str, bool] | None:
    return (_SERIALS.get(ctype.name, ctype.name), ctype.array) if ctype else None


class FkTypeMismatch(MigrationRule):
    """A foreign-key column's type differs from the column it references.

    Why
    ---
    Every check casts, and an ``int`` column referencing a ``bigint`` key overflows
    once the parent passes 2^31 (pg-index-health: foreign_keys_with_unmatched_column_type).

    Bad
    ---
    ```sql
    CREATE TABLE p (id bigint PRIMARY KEY);
    CREATE TABLE n (p_id int REFERENCES p (id));
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (u_id bigint REFERENCES u (id));
    ```

    Notes
    -----
    The referenced column's type comes from the file or the live catalog; with neither
    the rule says nothing (``u_id int REFERENCES u (id)`` is found with a database).

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
    - pg-index-health: foreign_keys_with_unmatched_column_type
    """

    id = "fk-type-mismatch"
    severity = Severity.WARNING
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt, ast.AlterTableStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        here = {(n.table, n.column.colname): type_of(n.column.typeName)
                for n in new_columns(node, ctx)}
        for table, cols, con in _foreign_keys(node, ctx):
            parent = ctx.qualify(con.pktable)
            refs = tuple(k.sval for k in con.pk_attrs or ()) or _primary_key(ctx, parent, node)
            for col, ref in zip(cols, refs, strict=False):
                mine = here.get((table, col)) or column_type_known(ctx, table, col)
                theirs = here.get((parent, ref)) or column_type_known(ctx, parent, ref)
                if mine is not None and theirs is not None and _base(mine) != _base(theirs):
                    yield self.at(statement, ctx, f"{table}.{col} ({mine.name}) references "
                                  f"{parent}.{ref} ({theirs.name}): every check casts, and "
                                  "the narrower side overflows first", object=f"{table}.{col}",
                                  fix=f"declare {col} as {theirs.name}")


class SqlAsciiEncoding(MigrationRule):
    """A database created with SQL_ASCII does not validate encodings.

    Why
    ---
    With ``SQL_ASCII`` the server stores bytes as given: one column ends up holding
    several encodings that no client can read back reliably ("Character Set
    Support").

    Bad
    ---
    ```sql
    -- example: plain
    CREATE DATABASE legacy ENCODING 'SQL_ASCII' TEMPLATE template0;
    ```

    Good
    ----
    ```sql
    -- example: plain
    CREATE DATABASE modern ENCODING 'UTF8' TEMPLATE template0;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/multibyte.html
    - pgrubic: GN003
    """

    id = "sql-ascii-encoding"
    severity = Severity.ERROR
    object_kind = "database"
    docs_url = "https://www.postgresql.org/docs/current/multibyte.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreatedbStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreatedbStmt)
        for option in node.options or ():
            value = getattr(option.arg, "sval", None)
            if option.defname == "encoding" and str(value).upper().replace("-", "_") == "SQL_ASCII":
                yield self.at(statement, ctx, f"database {node.dbname} uses SQL_ASCII: encodings "
                              "are never validated", object=node.dbname, fix="ENCODING 'UTF8'")


class MultiColumnPartitioning(MigrationRule):
    """PARTITION BY with several key columns prunes worse than expected.

    Why
    ---
    Range partitioning on ``(a, b)`` prunes on ``b`` only when ``a`` is fixed
    ("Table Partitioning", Partition Pruning); one key column is easier to reason
    about.

    Bad
    ---
    ```sql
    CREATE TABLE m (a int, b int) PARTITION BY RANGE (a, b);
    ```

    Good
    ----
    ```sql
    CREATE TABLE m (a int, b int) PARTITION BY RANGE (a);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITION-PRUNING
    - pgrubic: GN018
    """

    id = "multi-column-partitioning"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/ddl-partitioning.html#DDL-PARTITION-PRUNING"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateStmt)
        if node.partspec is not None and len(node.partspec.partParams or ()) > 1:
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"{table} is partitioned by "
                          f"{len(node.partspec.partParams or ())} key columns", object=table,
                          fix="partition by one key column")


class TypedTable(MigrationRule):
    """CREATE TABLE ... OF type ties the table's shape to a composite type.

    Why
    ---
    Columns of a typed table cannot be added or dropped on the table itself, only
    through the type ("CREATE TABLE", OF type_name).

    Bad
    ---
    ```sql
    CREATE TYPE pair AS (x int, y int);
    CREATE TABLE pairs OF pair;
    ```

    Good
    ----
    ```sql
    CREATE TABLE pairs (x int, y int);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createtable.html
    - pgrubic: GN034
    """

    id = "typed-table"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-createtable.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateStmt)
        if node.ofTypename is not None:
            table = ctx.qualify(node.relation)
            yield self.at(statement, ctx, f"{table} is a typed table: its columns follow the "
                          "composite type", object=table, fix="declare plain columns")
