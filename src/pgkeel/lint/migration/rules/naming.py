"""Migration rules, catalogue section G: the names DDL gives new objects.

Every rule judges the names a statement creates (tables, columns, indexes,
constraints, schemas, sequences, types, views, functions, triggers, policies) or a
RENAME gives, as PostgreSQL stores them: unquoted identifiers arrive folded to lower
case, quoted ones as written. Most are opt-in, as the catalogue advises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from pglast import ast, enums
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    ColumnType,
    new_columns,
    once_per_statement,
    table_constraints,
    type_of,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

CT = enums.ConstrType
OT = enums.ObjectType

_RENAMED = {OT.OBJECT_TABLE: "table", OT.OBJECT_COLUMN: "column", OT.OBJECT_INDEX: "index",
            OT.OBJECT_TABCONSTRAINT: "constraint", OT.OBJECT_SCHEMA: "schema",
            OT.OBJECT_VIEW: "view", OT.OBJECT_MATVIEW: "view", OT.OBJECT_SEQUENCE: "sequence",
            OT.OBJECT_TYPE: "type", OT.OBJECT_FUNCTION: "function", OT.OBJECT_TRIGGER: "trigger",
            OT.OBJECT_POLICY: "policy"}


@dataclass(frozen=True, slots=True)
class Name:
    """A name a statement gives: its ``kind``, the ``name`` itself, the ``table`` it
    belongs to (columns, constraints, indexes; else "") and a column's ``type``."""

    kind: str
    name: str
    table: str = ""
    type: ColumnType | None = None


def _last(names: tuple[ast.Node, ...] | None) -> str:
    last = names[-1] if names else None
    return (last.sval or "") if isinstance(last, ast.String) else ""


def _rel(relation: ast.RangeVar | None) -> str:
    return (relation.relname or "") if relation is not None else ""


@once_per_statement
def names_given(node: ast.Node, ctx: MigrationContext) -> tuple[Name, ...]:
    """Every :class:`Name` ``node`` creates or renames to."""
    return tuple(_names_given(node, ctx))


def _names_given(node: ast.Node, ctx: MigrationContext) -> Iterator[Name]:
    if isinstance(node, ast.CreateStmt | ast.AlterTableStmt):
        table = _rel(node.relation)
        if isinstance(node, ast.CreateStmt):
            yield Name("table", table)
        for new in new_columns(node, ctx):
            yield Name("column", new.column.colname or "", table, type_of(new.column.typeName))
            for con in new.column.constraints or ():
                if isinstance(con, ast.Constraint) and con.conname:
                    yield Name("constraint", con.conname, table)
        for con in table_constraints(node):
            if con.conname:
                yield Name("constraint", con.conname, table)
    elif isinstance(node, ast.IndexStmt) and node.idxname:
        yield Name("index", node.idxname, _rel(node.relation))
    elif isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
        yield Name("schema", node.schemaname)
    elif isinstance(node, ast.CreateSeqStmt):
        yield Name("sequence", _rel(node.sequence))
    elif isinstance(node, ast.CreateEnumStmt):
        yield Name("type", _last(node.typeName))
    elif isinstance(node, ast.CreateDomainStmt):
        yield Name("type", _last(node.domainname))
    elif isinstance(node, ast.CompositeTypeStmt):
        yield Name("type", _rel(node.typevar))
    elif isinstance(node, ast.ViewStmt):
        yield Name("view", _rel(node.view))
    elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
        yield Name("view" if node.objtype == OT.OBJECT_MATVIEW else "table", _rel(node.into.rel))
    elif isinstance(node, ast.CreateFunctionStmt):
        yield Name("function", _last(node.funcname))
    elif isinstance(node, ast.CreateTrigStmt):
        yield Name("trigger", node.trigname or "", _rel(node.relation))
    elif isinstance(node, ast.CreatePolicyStmt):
        yield Name("policy", node.policy_name or "", _rel(node.table))
    elif isinstance(node, ast.RenameStmt) and node.renameType in _RENAMED:
        yield Name(_RENAMED[node.renameType], node.newname or "", _rel(node.relation))


_NAMING_NODES: tuple[type[ast.Node], ...] = (
    ast.CreateStmt, ast.AlterTableStmt, ast.IndexStmt, ast.CreateSchemaStmt, ast.CreateSeqStmt,
    ast.CreateEnumStmt, ast.CreateDomainStmt, ast.CompositeTypeStmt, ast.ViewStmt,
    ast.CreateTableAsStmt, ast.CreateFunctionStmt, ast.CreateTrigStmt, ast.CreatePolicyStmt,
    ast.RenameStmt)


class _NameRule(MigrationRule, abstract=True):
    """A rule on single names: :meth:`problem` returns what is wrong, or None."""

    nodes: ClassVar[tuple[type[ast.Node], ...]] = _NAMING_NODES
    remedy: ClassVar[str] = ""

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        """Why ``name`` breaks the rule, or None."""
        raise NotImplementedError

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        for name in names_given(statement.node, ctx):
            why = self.problem(name, ctx)
            if why:
                where = f"{name.table}.{name.name}" if name.table else name.name
                yield self.at(statement, ctx, f"{name.kind} name {name.name!r}: {why}",
                              object=where, fix=self.remedy)


#: Key words that can only be names when quoted (Appendix C: reserved, and reserved
#: that can be function or type names).
_KEYWORDS = frozenset(RESERVED_KEYWORDS) | frozenset(TYPE_FUNC_NAME_KEYWORDS)

SNAKE_CASE = r"^[a-z_][a-z0-9_]*$"
_DEFAULT_PATTERNS = {"table": SNAKE_CASE, "column": SNAKE_CASE, "constraint": SNAKE_CASE,
                     "index": r"^[a-z_][a-z0-9_]*_(idx|uidx|key|pkey|excl)$"}


class NamingConventionDdl(_NameRule):
    """A new name does not match the team's pattern for its kind.

    Why
    ---
    Predictable names make later ``DROP``/``VALIDATE`` by name and reviews easy.
    Options ``table``, ``column``, ``constraint`` (default snake_case) and ``index``
    (default snake_case ending in ``_idx``, ``_uidx``, ``_key``, ``_pkey`` or
    ``_excl``) are regular expressions.

    Bad
    ---
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY ix1 ON t (b);
    ```

    Good
    ----
    ```sql
    -- migrate:up transaction:false
    CREATE INDEX CONCURRENTLY t_b_idx ON t (b);
    ```

    Notes
    -----
    The schema linter's ``naming-convention`` judges existing names.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
    - Atlas: NM101-NM106; pgrubic: NM001-NM009
    """

    id = "naming-convention-ddl"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS"
    options: ClassVar = {kind: RuleOption(str, f"regular expression {kind} names must match",
                                          pattern)
                         for kind, pattern in _DEFAULT_PATTERNS.items()}
    remedy = "rename it before it ships"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        if name.kind not in _DEFAULT_PATTERNS:
            return None
        pattern = str(ctx.option(self.id, name.kind, _DEFAULT_PATTERNS[name.kind]))
        try:
            matches = re.search(pattern, name.name)
        except re.error:
            return None
        return None if matches else f"does not match the {name.kind} pattern {pattern}"


class ImplicitConstraintName(MigrationRule):
    """A constraint added to a table, or an index, without an explicit name.

    Why
    ---
    PostgreSQL generates the name, and the generated name depends on what already
    exists (a suffix number on collision), so a later ``DROP``/``VALIDATE
    CONSTRAINT`` by name can miss on another environment.

    Bad
    ---
    ```sql
    ALTER TABLE t ADD CHECK (a > 0) NOT VALID;
    ```

    Good
    ----
    ```sql
    ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
    ```

    Notes
    -----
    Only ``ALTER TABLE ... ADD`` and ``CREATE INDEX`` are judged: constraints declared
    inside ``CREATE TABLE`` get their generated names on a table that starts empty of
    other names, so they are the same everywhere.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-altertable.html
    - pgrubic: NM008
    """

    id = "implicit-constraint-name"
    severity = Severity.INFO
    object_kind = "constraint"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.AlterTableStmt, ast.IndexStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.AlterTableStmt | ast.IndexStmt)
        table = ctx.qualify(node.relation)
        if isinstance(node, ast.IndexStmt):
            if not node.idxname:
                yield self.at(statement, ctx, f"index on {table} has no explicit name",
                              object=table, fix="CREATE INDEX <table>_<columns>_idx ON ...")
            return
        named = (CT.CONSTR_CHECK, CT.CONSTR_FOREIGN, CT.CONSTR_UNIQUE, CT.CONSTR_EXCLUSION,
                 CT.CONSTR_PRIMARY)
        unnamed = [c for c in table_constraints(node) if c.contype in named and not c.conname]
        unnamed += [c for new in new_columns(node, ctx) for c in new.column.constraints or ()
                    if isinstance(c, ast.Constraint) and c.contype in named and not c.conname]
        for con in unnamed:
            kind = con.contype.name.removeprefix("CONSTR_").replace("_", " ") \
                if con.contype is not None else "a"
            yield self.at(statement, ctx, f"{kind} constraint on {table} has no explicit name: "
                          "PostgreSQL generates one", object=table,
                          fix="ADD CONSTRAINT <name> ...")


class NonSnakeCaseIdentifier(_NameRule):
    """A name with upper-case letters must be quoted forever.

    Why
    ---
    Unquoted identifiers are folded to lower case ("Identifiers and Key Words"), so
    ``"UserAccounts"`` must be written with quotes in every query.

    Bad
    ---
    ```sql
    CREATE TABLE "UserAccounts" (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE user_accounts (id bigint);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
    - pgrubic: NM010; Don't Do This: upper-case table or column names
    """

    id = "non-snake-case-identifier"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS"
    remedy = "use lower-case snake_case"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "upper case letters need quoting in every query" \
            if name.name != name.name.lower() else None


class KeywordIdentifier(_NameRule):
    """A reserved key word used as a name (user, order).

    Why
    ---
    Reserved key words can only be used as names when quoted ("SQL Key Words",
    Appendix C), and other databases and tools trip over them.

    Bad
    ---
    ```sql
    CREATE TABLE "user" (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE app_user (id bigint);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-keywords-appendix.html
    - pgrubic: NM011
    """

    id = "keyword-identifier"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/sql-keywords-appendix.html"
    remedy = "choose another name"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "a reserved key word, so it must always be quoted" \
            if name.name in _KEYWORDS else None


class SpecialCharacterIdentifier(_NameRule):
    """A name with characters outside letters, digits and underscore.

    Why
    ---
    Hyphens, spaces and other characters force quoting in every query.

    Bad
    ---
    ```sql
    CREATE TABLE "order-items" (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE order_items (id bigint);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
    - pgrubic: NM012
    """

    id = "special-character-identifier"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS"
    remedy = "use only letters, digits and underscores"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        odd = sorted(set(re.findall(r"[^A-Za-z0-9_]", name.name)))
        return f"contains {''.join(odd)!r}, so it must always be quoted" if odd else None


class PgPrefixIdentifier(_NameRule):
    """A name starting with pg_, the prefix of system objects.

    Why
    ---
    ``pg_`` names belong to the system: schemas with the prefix are refused outright
    ("CREATE SCHEMA"), and other objects may collide with future catalogs.

    Bad
    ---
    ```sql
    CREATE TABLE pg_audit_log (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE audit_log (id bigint);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createschema.html
    - pgrubic: NM013
    """

    id = "pg-prefix-identifier"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-createschema.html"
    remedy = "use another prefix"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "pg_ is reserved for system objects" if name.name.lower().startswith("pg_") \
            else None


class SingleLetterIdentifier(_NameRule):
    """A one-character name.

    Why
    ---
    Readability: a name should say what it holds.

    Bad
    ---
    ```sql
    CREATE TABLE n (x int);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (qty int);
    ```

    Notes
    -----
    Table names are not judged (scratch tables such as ``n`` in examples and tests
    are the common case); columns, indexes and every other name are.

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS
    - pgrubic: NM014
    """

    id = "single-letter-identifier"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS"
    remedy = "use a descriptive name"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "one character says nothing" if len(name.name) == 1 \
            and name.kind != "table" else None


class TemporalColumnSuffix(_NameRule):
    """A timestamp or date column without the team's suffix.

    Why
    ---
    Consistency: options ``timestamp_suffix`` (default ``_at``) and ``date_suffix``
    (default ``_date``, ``_on`` also accepted) say what the column holds.

    Bad
    ---
    ```sql
    CREATE TABLE n (created timestamptz);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (created_at timestamptz);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-datetime.html
    - pgrubic: NM015, NM016
    """

    id = "temporal-column-suffix"
    severity = Severity.INFO
    opt_in = True
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/datatype-datetime.html"
    options: ClassVar = {
        "timestamp_suffix": RuleOption(str, "suffix of timestamp columns", "_at"),
        "date_suffix": RuleOption(str, "suffix of date columns", "_date")}
    remedy = "rename the column with the suffix"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        if name.kind != "column" or name.type is None:
            return None
        if name.type.name in ("timestamp", "timestamptz"):
            suffix = str(ctx.option(self.id, "timestamp_suffix", "_at"))
            return None if name.name.endswith(suffix) else f"a timestamp without {suffix}"
        if name.type.name == "date":
            suffix = str(ctx.option(self.id, "date_suffix", "_date"))
            return None if name.name.endswith((suffix, "_on")) else f"a date without {suffix}"
        return None


class GenericIdColumn(_NameRule):
    """A column named just id.

    Why
    ---
    In joins ``id`` is ambiguous; ``<table>_id`` reads the same on both sides of a
    foreign key (an opinion: many conventions prefer ``id``, hence opt-in).

    Bad
    ---
    ```sql
    CREATE TABLE n (id bigint);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (n_id bigint);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/queries-table-expressions.html
    - pgrubic: GN017
    """

    id = "generic-id-column"
    severity = Severity.INFO
    opt_in = True
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/queries-table-expressions.html"
    remedy = "name it <table>_id"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "ambiguous in joins" if name.kind == "column" and name.name == "id" else None


class TableColumnNameConflict(_NameRule):
    """A column named like its table.

    Why
    ---
    ``tag.tag`` makes references and joins confusing to read.

    Bad
    ---
    ```sql
    CREATE TABLE tag (tag text);
    ```

    Good
    ----
    ```sql
    CREATE TABLE tag (name text);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/ddl-basics.html
    - pgrubic: GN010
    """

    id = "table-column-name-conflict"
    severity = Severity.INFO
    opt_in = True
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/ddl-basics.html"
    remedy = "rename the column"

    def problem(self, name: Name, ctx: MigrationContext) -> str | None:
        return "same as its table's name" if name.kind == "column" \
            and name.name == name.table else None
