"""Migration rules, catalogue section D (types): time, text, JSON, money, OID types,
enums and domains chosen in DDL.

Each column rule looks at the columns ``CREATE TABLE`` and ``ALTER TABLE ... ADD
COLUMN`` define and at ``ALTER COLUMN ... TYPE`` (:mod:`._coltype`). Key and number
types are in :mod:`.key_types`, table structure in :mod:`.structure`, index and
column shapes in :mod:`.shapes`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pglast import ast, enums

from pgkeel.lint.migration.context import MigrationContext
from pgkeel.lint.migration.rules._coltype import ColumnTypeRule
from pgkeel.lint.migration.rules._ddl import ColumnType, dotted, mentions, statement_nodes
from pgkeel.lint.migration.source import Statement
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity

CT = enums.ConstrType


class PreferTimestamptz(ColumnTypeRule):
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


class BanTimetz(ColumnTypeRule):
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


class TimestampPrecisionZero(ColumnTypeRule):
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


class BanCharField(ColumnTypeRule):
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


class PreferTextField(ColumnTypeRule):
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


class BanMoney(ColumnTypeRule):
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


class PreferJsonb(ColumnTypeRule):
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


class RegTypeColumn(ColumnTypeRule):
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
        name = dotted(node.typeName)
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
        assert isinstance(node, ast.CreateDomainStmt | ast.AlterDomainStmt)
        name = dotted(node.domainname if isinstance(node, ast.CreateDomainStmt)
                      else node.typeName)
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


class BanCurrentTime(MigrationRule):
    """CURRENT_TIME returns time with time zone.

    Why
    ---
    ``CURRENT_TIME`` yields ``timetz``, an offset without a date that cannot follow
    daylight-saving changes (see ``ban-timetz``; "Current Date/Time").

    Bad
    ---
    ```sql
    CREATE TABLE n (at timetz DEFAULT CURRENT_TIME);
    ```

    Good
    ----
    ```sql
    CREATE TABLE n (at timestamptz DEFAULT now());
    ```

    References
    ----------
    - https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-CURRENT
    - pgrubic: GN020; Don't Do This: CURRENT_TIME
    """

    id = "ban-current-time"
    severity = Severity.WARNING
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/functions-datetime.html#FUNCTIONS-DATETIME-CURRENT"

    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        ops = (enums.SQLValueFunctionOp.SVFOP_CURRENT_TIME,
               enums.SQLValueFunctionOp.SVFOP_CURRENT_TIME_N)
        if mentions(statement, "current_time") and any(
               isinstance(n, ast.SQLValueFunction) and n.op in ops
               for n in statement_nodes(statement.node, ast.SQLValueFunction)):
            yield self.at(statement, ctx, "CURRENT_TIME returns time with time zone, an offset "
                          "without a date", fix="now() or CURRENT_TIMESTAMP (timestamptz), or "
                          "LOCALTIME")
