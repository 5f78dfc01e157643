"""Migration rules, catalogue section D (types): column types chosen in DDL.

Each rule looks at the columns ``CREATE TABLE`` and ``ALTER TABLE ... ADD COLUMN``
define and at ``ALTER COLUMN ... TYPE``. The schema linter judges the same types in a
live catalog; where its rule id is taken, the migration rule's id ends in ``-ddl``.
Structure rules (keys, inheritance, indexes) are in :mod:`.structure`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._ddl import (
    ColumnType,
    constraints_of,
    key_columns,
    once_per_statement,
    type_of,
)
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

AT = enums.AlterTableType
CT = enums.ConstrType


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


class _ColumnTypeRule(MigrationRule, abstract=True):
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
                yield self.at(statement, ctx, f"{table}.{col.colname} is {_spell(ctype)}: "
                              f"{self.problem}", object=f"{table}.{col.colname}",
                              fix=self.remedy)


def _spell(ctype: ColumnType) -> str:
    mods = f"({','.join(map(str, ctype.typmods))})" if ctype.typmods else ""
    return f"{ctype.name}{mods}{'[]' if ctype.array else ''}"


class PreferTimestamptz(_ColumnTypeRule):
    """timestamp (without time zone) stores wall-clock time with no offset.

    Why
    ---
    A ``timestamp`` value does not say which zone it was in: arithmetic across zones
    and daylight-saving changes goes wrong, and the same instant reads differently per
    session. ``timestamptz`` stores an absolute instant ("Date/Time Types").

    Bad
    ---
    ```sql
    CREATE TABLE n (created_at timestamp);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (created_at timestamptz);
    ```

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29
    - squawk: prefer-timestamptz
    """

    id = "prefer-timestamptz"
    severity = Severity.WARNING
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp_.28without_time_zone.29"
    upstream = ("squawk:prefer-timestamptz",)
    types = frozenset({"timestamp"})
    problem = "it stores wall-clock time without an offset"
    remedy = "use timestamptz"


class BanTimetz(_ColumnTypeRule):
    """time with time zone holds an offset without a date, which cannot follow DST.

    Why
    ---
    PostgreSQL's own documentation calls ``timetz`` of questionable usefulness: an
    offset without a date cannot tell summer from winter time.

    Bad
    ---
    ```sql
    CREATE TABLE n (opens timetz);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (opens time);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-datetime.html#DATATYPE-TIMEZONES
    - pgrubic: TP002
    """

    id = "ban-timetz"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/datatype-datetime.html#DATATYPE-TIMEZONES"
    types = frozenset({"timetz"})
    problem = "an offset without a date cannot handle daylight-saving time"
    remedy = "use timestamptz, or time plus a time-zone column"


class TimestampPrecisionZero(_ColumnTypeRule):
    """timestamp(0)/timestamptz(0) rounds, so values can lie in the future.

    Why
    ---
    A precision below 6 rounds the fractional seconds rather than truncating them
    ("Date/Time Types"): ``now()`` stored as ``timestamptz(0)`` can be up to half a
    second later than the real time.

    Bad
    ---
    ```sql
    CREATE TABLE n (at timestamptz(0));
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (at timestamptz);
    ```

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp.280.29_or_timestamptz.280.29
    - pgrubic: TP003
    """

    id = "timestamp-precision-zero"
    severity = Severity.INFO
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_timestamp.280.29_or_timestamptz.280.29"
    problem = "a precision below 6 rounds, so stored values can be in the future"
    remedy = "keep full precision; truncate with date_trunc when reading"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return ctype.name in ("timestamp", "timestamptz") and bool(ctype.typmods) \
            and ctype.typmods[0] < 6


class BanCharField(_ColumnTypeRule):
    """char(n) pads with blanks and is no faster than text.

    Why
    ---
    ``character(n)`` pads values with spaces, compares ignoring them, takes more
    storage, and has no speed advantage in PostgreSQL ("Character Types", Tip).

    Bad
    ---
    ```sql
    CREATE TABLE n (code char(3));
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (code text CHECK (length(code) = 3));
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-character.html
    - squawk: ban-char-field
    """

    id = "ban-char-field"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/datatype-character.html"
    upstream = ("squawk:ban-char-field",)
    types = frozenset({"bpchar"})
    problem = "blank-padded, more storage, and no faster than text"
    remedy = "use text with a CHECK on its length"


class PreferTextField(_ColumnTypeRule):
    """varchar(n) sets an arbitrary limit that is costly to lower later.

    Why
    ---
    The limit is rarely a real rule of the data. Raising it later is metadata-only,
    but lowering it, or moving from text to varchar(n), rewrites the table under
    ACCESS EXCLUSIVE (measured on PostgreSQL 15). A CHECK on ``length()`` says the
    same and can be changed with NOT VALID and VALIDATE.

    Bad
    ---
    ```sql
    CREATE TABLE n (email varchar(255));
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (email text);
    ```

    Notes
    -----
    squawk says that changing the size locks the table; measured, only lowering it
    rewrites.

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-character.html
    - squawk: prefer-text-field
    """

    id = "prefer-text-field"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/datatype-character.html"
    upstream = ("squawk:prefer-text-field",)
    problem = "the length limit is arbitrary, and lowering it later rewrites the table"
    remedy = "use text with CHECK (length(col) <= n) added NOT VALID"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return ctype.name == "varchar" and bool(ctype.typmods)


class BanMoney(_ColumnTypeRule):
    """money depends on lc_monetary and has fixed fractional digits.

    Why
    ---
    Input and output of ``money`` follow the server's ``lc_monetary`` setting, so a
    dump restored elsewhere may read differently, and the fractional precision is
    fixed ("Monetary Types").

    Bad
    ---
    ```sql
    CREATE TABLE n (price money);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (price_cents bigint);
    ```

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_money
    - pgrubic: TP006
    """

    id = "ban-money"
    severity = Severity.WARNING
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_money"
    types = frozenset({"money"})
    problem = "its format depends on lc_monetary and its fraction is fixed"
    remedy = "use numeric, or integer minor units (cents)"


class PreferIdentityDdl(_ColumnTypeRule):
    """serial/bigserial/smallserial: prefer an identity column.

    Why
    ---
    A serial column is a default over a separately owned sequence: grants, copying the
    table (``LIKE``) and ownership changes each need the sequence handled too. Identity
    columns are standard SQL and keep the sequence an internal detail ("CREATE TABLE",
    GENERATED AS IDENTITY).

    Bad
    ---
    ```sql
    CREATE TABLE n (id bigserial PRIMARY KEY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    ```

    Notes
    -----
    The schema linter's ``prefer-identity`` judges existing serial columns; this is
    its migration side.

    References
    ----------
    - https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_serial
    - squawk: prefer-identity
    """

    id = "prefer-identity-ddl"
    severity = Severity.WARNING
    docs_url = "https://wiki.postgresql.org/wiki/Don%27t_Do_This#Don.27t_use_serial"
    upstream = ("squawk:prefer-identity",)
    types = frozenset({"serial", "bigserial", "smallserial"})
    problem = "a serial's sequence needs its own grants and ownership handling"
    remedy = "use bigint GENERATED ALWAYS AS IDENTITY"


class IdentityGeneratedByDefault(_ColumnTypeRule):
    """GENERATED BY DEFAULT AS IDENTITY lets explicit values collide with the sequence.

    Why
    ---
    An INSERT that supplies the id bypasses the sequence; the sequence later hands out
    the same value and the insert fails on the key. ``GENERATED ALWAYS`` refuses such
    inserts unless they say ``OVERRIDING SYSTEM VALUE``.

    Bad
    ---
    ```sql
    CREATE TABLE n (id bigint GENERATED BY DEFAULT AS IDENTITY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-PARMS-GENERATED-IDENTITY
    - pgrubic: CT003
    """

    id = "identity-generated-by-default"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/sql-createtable.html#SQL-CREATETABLE-PARMS-GENERATED-IDENTITY"
    problem = "explicit inserts bypass the sequence and collide with it later"
    remedy = "GENERATED ALWAYS AS IDENTITY (imports use OVERRIDING SYSTEM VALUE)"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return any(c.contype == CT.CONSTR_IDENTITY and c.generated_when == "d"
                   for c in constraints_of(col))


class PreferBigintOverInt(_ColumnTypeRule):
    """integer keys overflow at 2^31; the later move to bigint rewrites the table.

    Why
    ---
    A key fed by a sequence reaches 2,147,483,647 and inserts fail; changing the type
    then rewrites the table and every index under ACCESS EXCLUSIVE. Foreign keys to it
    must change too.

    Bad
    ---
    ```sql
    CREATE TABLE n (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    ```

    Notes
    -----
    Only key columns (primary key, identity, foreign key) and ``serial`` are flagged:
    squawk flags every integer column, which is mostly noise.

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-numeric.html
    - squawk: prefer-bigint-over-int
    """

    id = "prefer-bigint-over-int"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html"
    upstream = ("squawk:prefer-bigint-over-int",)
    problem = "a 4-byte key overflows at 2,147,483,647 and the move to bigint rewrites"
    remedy = "use bigint (and bigint for the foreign keys to it)"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return not ctype.array and (ctype.name == "serial" or (key and ctype.name == "int4"))


class PreferBigintOverSmallint(_ColumnTypeRule):
    """smallint keys overflow at 32,767.

    Why
    ---
    A ``smallint``/``smallserial`` key runs out after 32,767 rows and the change of
    type rewrites the table under ACCESS EXCLUSIVE.

    Bad
    ---
    ```sql
    CREATE TABLE n (id smallserial PRIMARY KEY);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY);
    ```

    Notes
    -----
    Only key columns and ``smallserial`` are flagged (squawk flags every smallint).

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-numeric.html
    - squawk: prefer-bigint-over-smallint
    """

    id = "prefer-bigint-over-smallint"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html"
    upstream = ("squawk:prefer-bigint-over-smallint",)
    problem = "a 2-byte key overflows at 32,767"
    remedy = "use bigint"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return not ctype.array and (ctype.name == "smallserial"
                                    or (key and ctype.name == "int2"))


class PreferJsonb(_ColumnTypeRule):
    """json has no equality operator and is reparsed on every access.

    Why
    ---
    ``json`` keeps the text as given: no equality operator (DISTINCT, GROUP BY, UNION
    fail), no GIN indexing, and every access reparses it ("JSON Types").

    Bad
    ---
    ```sql
    CREATE TABLE n (meta json);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (meta jsonb);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-json.html
    - eugene: E3; strong_migrations: adding a json column
    """

    id = "prefer-jsonb"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/datatype-json.html"
    types = frozenset({"json"})
    problem = "no equality operator, no GIN index, reparsed on every access"
    remedy = "use jsonb"


class BanFloatForExactValues(_ColumnTypeRule):
    """real/double precision are inexact: equality and money arithmetic go wrong.

    Why
    ---
    Floating-point types store approximations ("Floating-Point Types"): ``0.1 + 0.2 <>
    0.3``, and sums of amounts drift.

    Bad
    ---
    ```sql
    CREATE TABLE n (amount double precision);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (amount numeric);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-FLOAT
    - pgrubic: TP011
    """

    id = "ban-float-for-exact-values"
    severity = Severity.INFO
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-FLOAT"
    types = frozenset({"float4", "float8"})
    problem = "floating point is inexact, so equality and sums of amounts go wrong"
    remedy = "use numeric, or integer units"


class NullableBooleanDdl(_ColumnTypeRule):
    """A boolean without NOT NULL has three values.

    Why
    ---
    NULL is neither true nor false: ``WHERE NOT active`` skips the NULL rows, and code
    must handle a third state nobody meant.

    Bad
    ---
    ```sql
    CREATE TABLE n (active boolean);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (active boolean NOT NULL DEFAULT false);
    ```

    Notes
    -----
    The migration side of the schema rule ``nullable-boolean``.

    References
    ----------
    - https://www.postgresql.org/docs/current/functions-comparison.html
    - pgrubic: TP017
    """

    id = "nullable-boolean-ddl"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/functions-comparison.html"
    problem = "without NOT NULL it has a third state, NULL"
    remedy = "boolean NOT NULL DEFAULT false"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return new and ctype.name == "bool" and not ctype.array and not col.is_not_null \
            and not any(c.contype in (CT.CONSTR_NOTNULL, CT.CONSTR_PRIMARY)
                        for c in constraints_of(col))


class NumericWithPrecision(_ColumnTypeRule):
    """numeric(p,s) silently rounds extra fractional digits.

    Why
    ---
    A value with more fractional digits than the scale is rounded on input without an
    error ("Arbitrary Precision Numbers"); widening the scale later rewrites the
    table.

    Bad
    ---
    ```sql
    CREATE TABLE n (rate numeric(5,2));
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (rate numeric);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-NUMERIC-DECIMAL
    - pgrubic: TP016
    """

    id = "numeric-with-precision"
    severity = Severity.INFO
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/datatype-numeric.html#DATATYPE-NUMERIC-DECIMAL"
    problem = "extra fractional digits are rounded silently"
    remedy = "unconstrained numeric plus a CHECK, or keep it deliberately"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return ctype.name == "numeric" and bool(ctype.typmods)


class DisallowedType(_ColumnTypeRule):
    """A column of a type the team's deny-list forbids.

    Why
    ---
    Team policy: option ``types`` lists the forbidden types (default ``xml`` and
    ``hstore``, for which ``jsonb`` is the usual alternative).

    Bad
    ---
    ```sql
    CREATE TABLE n (doc xml);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (doc jsonb);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-json.html
    - pgrubic: TP012, TP013, TP014
    """

    id = "disallowed-type"
    severity = Severity.WARNING
    opt_in = True
    docs_url = "https://www.postgresql.org/docs/current/datatype-json.html"
    options: ClassVar = {"types": RuleOption(list[str], "type names to refuse",
                                             ["xml", "hstore"])}
    problem = "the type is on the configured deny-list"
    remedy = "use the allowed alternative (jsonb for documents)"

    def bad(self, ctype: ColumnType, col: ast.ColumnDef, key: bool, new: bool,
            ctx: MigrationContext) -> bool:
        return ctype.name in {t.lower() for t in ctx.option(self.id, "types", ["xml", "hstore"])}


class RegTypeColumn(_ColumnTypeRule):
    """Columns of reg* OID types block pg_upgrade.

    Why
    ---
    ``regproc``, ``regprocedure``, ``regoper``, ``regoperator``, ``regconfig``,
    ``regdictionary``, ``regnamespace`` and ``regcollation`` store OIDs that
    pg_upgrade cannot carry over, so it refuses the cluster (pg_upgrade, Notes).
    ``regclass``, ``regtype`` and ``regrole`` are fine.

    Bad
    ---
    ```sql
    CREATE TABLE n (fn regproc);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (fn text);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/pgupgrade.html
    - splinter: 0018 unsupported_reg_types
    """

    id = "reg-type-column"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/pgupgrade.html"
    upstream = ("splinter:unsupported_reg_types",)
    types = frozenset({"regproc", "regprocedure", "regoper", "regoperator", "regconfig",
                       "regdictionary", "regnamespace", "regcollation"})
    problem = "stored OIDs of this type make pg_upgrade refuse the cluster"
    remedy = "store the name as text"


class BanCreateEnum(MigrationRule):
    """CREATE TYPE ... AS ENUM: labels can never be removed or reordered.

    Why
    ---
    Enum labels can be added and renamed but not dropped or moved ("Enumerated
    Types"); a lookup table with a foreign key, or text with a CHECK, can change.

    Bad
    ---
    ```sql
    CREATE TYPE mood AS ENUM ('ok', 'sad');
    ```

    Good
    ----
    ```sql
    CREATE TABLE mood (name text PRIMARY KEY);
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/datatype-enum.html
    - eugene: W13; pgrubic: GN006
    """

    id = "ban-create-enum"
    severity = Severity.INFO
    opt_in = True
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/datatype-enum.html"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateEnumStmt,)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        assert isinstance(node, ast.CreateEnumStmt)
        name = ".".join(n.sval for n in node.typeName)
        yield self.at(statement, ctx, f"enum {name}: its labels can never be removed or "
                      "reordered", object=name,
                      fix="a lookup table with a foreign key, or text with a CHECK")


class DomainWithConstraint(MigrationRule):
    """A domain with a constraint makes later changes scan or rewrite every table using it.

    Why
    ---
    ``ALTER DOMAIN ... ADD CONSTRAINT`` checks every column of that domain in every
    table, and adding a column of a constrained domain rewrites the table (measured on
    PostgreSQL 15).

    Bad
    ---
    ```sql
    CREATE DOMAIN posint AS int CHECK (VALUE > 0);
    ```

    Good
    ----
    ```sql
    CREATE DOMAIN label AS text;
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/sql-alterdomain.html
    - squawk: ban-create-domain-with-constraint, ban-alter-domain-with-add-constraint
    """

    id = "domain-with-constraint"
    severity = Severity.WARNING
    object_kind = "type"
    docs_url = "https://www.postgresql.org/docs/current/sql-alterdomain.html"
    upstream = ("squawk:ban-create-domain-with-constraint",
                "squawk:ban-alter-domain-with-add-constraint")
    nodes: ClassVar[tuple[type[ast.Node], ...]] = (ast.CreateDomainStmt, ast.AlterDomainStmt)

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        node = statement.node
        names = node.domainname if isinstance(node, ast.CreateDomainStmt) else node.typeName
        name = ".".join(n.sval for n in names)
        if isinstance(node, ast.CreateDomainStmt):
            if any(isinstance(c, ast.Constraint) and c.contype in (CT.CONSTR_CHECK,
                                                                   CT.CONSTR_NOTNULL)
                   for c in node.constraints or ()):
                yield self.at(statement, ctx, f"domain {name} carries a constraint: changing it "
                              "later checks every column of the domain, and adding such a "
                              "column rewrites the table", object=name,
                              fix="put the constraint on the columns instead")
        elif node.subtype == "C":
            yield self.at(statement, ctx, f"ALTER DOMAIN {name} ADD CONSTRAINT checks every "
                          "column of the domain in every table", object=name,
                          fix="add the constraint to the columns, NOT VALID then VALIDATE")
