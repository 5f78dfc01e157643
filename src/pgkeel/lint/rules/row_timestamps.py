"""Row timestamps: is a change to a row stamped with the time, and is the stamp kept?

Family D (``mandatory-columns``) of ``reference/lint-rules.md`` and the skill's Data
Integrity rule, judged on what the catalog shows a table does (trigger functions'
bodies, column defaults, privileges), not on column names alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext, ProbeFailed
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import (
    SET_UPDATED_AT,
    drop_set_updated_at,
    ident,
    own_tables,
    partitions_of,
    qualified_ident,
    quote_ident,
    table_name,
    updated_at_trigger,
)
from pgkeel.lint.rules._stamps import (
    DATE_TIME_TYPES,
    NOW_DEFAULT,
    blocks_update,
    stamped_columns,
    update_triggers,
)
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["DEFAULT_COLUMNS", "MissingTimestamps", "UpdatedAtNotMaintained"]

#: Default of option ``columns``: names of columns that stamp a row's changes.
DEFAULT_COLUMNS = ("updated_at",)

# Tables whose grants let some role other than the owner INSERT but none UPDATE
# (PostgreSQL docs, "Privileges"; aclexplode, "System Information Functions").
_INSERT_ONLY = """
SELECT n.nspname, c.relname
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) a
              WHERE a.grantee <> c.relowner AND a.privilege_type = 'INSERT')
  AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(c.relacl) a
                  WHERE a.grantee <> c.relowner AND a.privilege_type = 'UPDATE')
"""


def _trigger_name(table: Table) -> str:
    used = {t.name for t in table.triggers}
    return next(n for i in range(len(used) + 1)
                if (n := SET_UPDATED_AT + (f"_{i}" if i else "")) not in used)


def _stamps(snapshot: Snapshot, table: Table) -> dict[str, str]:
    """Date/time columns a BEFORE UPDATE row trigger sets to now: {column: trigger}.

    A trigger whose body cannot be read (see :func:`stamped_columns`) is taken to
    set every date/time column: the rule reports only what it can show.

    A partitioned table counts a column when its own trigger stamps it, or a
    trigger of every partition does.
    """
    def own(t: Table) -> dict[str, str]:
        found: dict[str, str] = {}
        for trigger in update_triggers(t):
            stamped = stamped_columns(snapshot, trigger)
            if stamped is None:  # a body pgkeel cannot read: it may stamp any of them
                stamped = frozenset(c.name for c in t.columns)
            for column in stamped:
                col = t.column(column)
                if col is not None and col.type_name in DATE_TIME_TYPES:
                    found.setdefault(column, trigger.name)
        return found

    stamps = own(table)
    parts = partitions_of(snapshot, table)
    if parts:
        each = [own(p) for p in parts]
        for column in set.intersection(*(set(e) for e in each)):
            stamps.setdefault(column, each[0][column])
    return stamps


def _junction(table: Table) -> bool:
    """A key made of foreign keys, nothing else: every column in a foreign key,
    at least two foreign keys, and a primary key over foreign-key columns."""
    fk_columns = {c for fk in table.foreign_keys for c in fk.columns}
    return (len(table.foreign_keys) >= 2 and table.primary_key is not None
            and all(c.name in fk_columns for c in table.columns))


def _insert_only(ctx: CheckContext) -> set[tuple[str, str]]:
    if ctx.data is None:
        return set()
    try:
        return {(s, t) for s, t in ctx.data.rows(_INSERT_ONLY)}
    except ProbeFailed:
        return set()


def _what_exists(table: Table) -> str:
    """The table's date/time columns and how they are filled, for the message."""
    described = []
    for column in table.columns:
        if column.type_name not in DATE_TIME_TYPES:
            continue
        how = (f" (DEFAULT {column.default})" if column.default
               and NOW_DEFAULT.match(column.default) else "")
        described.append(f"{quote_ident(column.name)} {column.type}{how}")
    if not described:
        return "it has no date/time column"
    return f"it has {', '.join(described)}, but no trigger sets any of them on UPDATE"


class MissingTimestamps(SchemaRule):
    """Stamp every table's rows with when they were created and last changed.

    A table (or partitioned table; partitions have their parent's columns) is
    reported when nothing records when its rows change: no date/time column that
    an enabled BEFORE UPDATE row trigger sets to the current time (read from the
    trigger function's body, e.g. `NEW.last_update = CURRENT_TIMESTAMP`), and no
    column named in option `columns` (default `["updated_at"]`, whose upkeep
    `updated-at-not-maintained` checks). Not reported by default: pure junction
    tables (every column in a foreign key, a primary key over them) and
    append-only tables (a BEFORE UPDATE trigger whose body starts by raising an
    error, or grants that let other roles INSERT but none UPDATE).

    Why
    ---
    The skill's Data Integrity rule: "Ensure all tables have `created_at` and
    `updated_at` timestamps". They answer "when did this row appear, when did it last
    change" in incidents, audits, incremental exports and cache invalidation, and
    they cannot be recovered after the fact. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text);
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      last_update timestamptz NOT NULL DEFAULT now()
    );
    CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.last_update = CURRENT_TIMESTAMP; RETURN NEW; END $$;
    CREATE TRIGGER last_updated BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION stamp();
    ```

    Notes
    -----
    The finding says which date/time columns the table has and how they are
    filled. The fix adds `updated_at` (and `created_at` unless a column already
    takes the clock's time by default) as `timestamptz NOT NULL DEFAULT now()`,
    which does not rewrite the table (PostgreSQL 11+ stores a non-volatile
    default once; existing rows get the time of the ALTER), plus the trigger that
    keeps `updated_at` current. It says `ADD COLUMN IF NOT EXISTS`: with table
    inheritance (`INHERITS`) adding a column to the parent adds it to the
    children, and each child's fix must not fail once the parent's has run.
    `fix_down` drops the trigger and the columns (pgkeel's trigger function stays:
    other tables may use it). A BEFORE UPDATE trigger whose body pgkeel cannot
    read (a C function, a SQL-standard body, an extension's function, a column
    taken from `TG_ARGV`) counts as stamping the table's date/time columns.
    Options: `columns` (names that stamp changes), `junction_tables` and
    `append_only_tables` (true to report those too).

    References
    ----------
    - The skill (seeds/000), "Workflow", Data Integrity.
    - PostgreSQL docs, "ALTER TABLE", Notes (fast defaults); PL/pgSQL "Trigger
      Functions"; "Inheritance"; "Privileges".
    - reference/lint-rules.md `mandatory-columns` (squawk has no equivalent).
    """

    id = "missing-timestamps"
    options: ClassVar[dict[str, RuleOption]] = {
        "columns": RuleOption(
            list[str], "columns that record changes when present",
            list(DEFAULT_COLUMNS)),
        "junction_tables": RuleOption(bool, "also report pure junction tables", False),
        "append_only_tables": RuleOption(bool, "also report append-only tables", False),
    }
    uses_data = True
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/sql-altertable.html#SQL-ALTERTABLE-NOTES"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        named = set(ctx.option(self.id, "columns", DEFAULT_COLUMNS))
        junctions = ctx.option(self.id, "junction_tables", False)
        append_only = ctx.option(self.id, "append_only_tables", False)
        insert_only = None
        for table in own_tables(snapshot):
            if any(table.column(c) is not None for c in named) or _stamps(snapshot, table):
                continue
            if not junctions and _junction(table):
                continue
            if not append_only:
                if blocks_update(snapshot, table) is not None:
                    continue
                if insert_only is None:
                    insert_only = _insert_only(ctx)
                if (table.schema, table.name) in insert_only:
                    continue
            yield self._finding(snapshot, table)

    def _finding(self, snapshot: Snapshot, table: Table) -> Finding:
        created = any(c.type_name in DATE_TIME_TYPES and c.default
                      and NOW_DEFAULT.match(c.default) for c in table.columns)
        adding = ["updated_at"] if created or table.column("created_at") else [
            "created_at", "updated_at"]
        target = qualified_ident(table.schema, table.name)
        adds = ", ".join(f"ADD COLUMN IF NOT EXISTS {ident(c)} timestamptz NOT NULL "
                         "DEFAULT now()" for c in adding)
        trigger = _trigger_name(table)
        drops = ", ".join(f"DROP COLUMN IF EXISTS {ident(c)}" for c in adding)
        return self.finding(
            f"table {table_name(table)} does not record when its rows change: "
            f"{_what_exists(table)}",
            object=table_name(table),
            fix=f"ALTER TABLE {target} {adds};\n{updated_at_trigger(table)}",
            fix_down=f"DROP TRIGGER IF EXISTS {ident(trigger)} ON {target};\n"
                     f"ALTER TABLE {target} {drops};"
                     + drop_set_updated_at(snapshot, table),
        )


class UpdatedAtNotMaintained(SchemaRule):
    """Keep `updated_at` current with a BEFORE UPDATE row trigger that sets it.

    A table with an `updated_at` column (or a column named in option `columns`)
    is reported when no enabled `BEFORE UPDATE ... FOR EACH ROW` trigger sets it to
    the current time — read from the trigger function's body (`NEW.updated_at :=
    now()`, `CURRENT_TIMESTAMP`, `clock_timestamp()`...) or, for contrib's
    `moddatetime`, its argument. For a partitioned table, a trigger on it or on
    every one of its partitions counts.

    Why
    ---
    A `DEFAULT now()` only fills `updated_at` on INSERT. Without a trigger the column
    keeps the insert time unless every writer remembers to set it, so "changed since"
    queries, sync jobs and caches silently miss updates. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE notes (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      body text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      NEW.updated_at := now();
      RETURN NEW;
    END
    $$;
    CREATE TRIGGER notes_set_updated_at BEFORE UPDATE ON notes
      FOR EACH ROW EXECUTE FUNCTION set_updated_at();
    ```

    Notes
    -----
    A trigger whose body pgkeel cannot read (a C function other than
    `moddatetime`, a SQL-standard body, an extension's function, or a body that
    takes the column from `TG_ARGV`) counts as keeping the column: the rule
    reports only what it can show. A trigger limited to `UPDATE OF` other columns,
    or whose `WHEN` condition rarely holds, is taken at its word.

    The fix creates pgkeel's own trigger function, `pgkeel_set_updated_at()` in the
    table's schema (`CREATE OR REPLACE` touches only that name, never a function of
    yours), and a trigger of the same name on the table; `fix_down` drops the
    trigger (the function stays, other tables may use it).

    References
    ----------
    - PostgreSQL docs, PL/pgSQL "Trigger Functions", Triggers on Data Changes;
      "CREATE TRIGGER"; contrib "spi", moddatetime.
    - The skill (seeds/000), "Workflow", Data Integrity.
    """

    id = "updated-at-not-maintained"
    options: ClassVar[dict[str, RuleOption]] = {
        "columns": RuleOption(
            list[str], "columns that must be stamped on UPDATE",
            list(DEFAULT_COLUMNS)),
    }
    severity = Severity.WARNING
    checklist = checklist_items.CONSTRAINTS
    object_kind = "table"
    docs_url = "https://www.postgresql.org/docs/current/plpgsql-trigger.html"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        snapshot = ctx.snapshot
        names = tuple(ctx.option(self.id, "columns", DEFAULT_COLUMNS))
        for table in own_tables(snapshot):
            for name in names:
                if table.column(name) is None or _maintained(snapshot, table, name):
                    continue
                yield self._finding(snapshot, table, name)
                break

    def _finding(self, snapshot: Snapshot, table: Table, name: str) -> Finding:
        target = qualified_ident(table.schema, table.name)
        triggers = list(update_triggers(table))
        if triggers:
            functions = ", ".join(
                f"{quote_ident(t.name)} runs {t.function}()" for t in triggers)
            what = f"its BEFORE UPDATE row triggers never set it ({functions})"
        else:
            what = "no BEFORE UPDATE row trigger is on the table"
        column = table.column(name)
        if name != "updated_at" or (column is not None and column.type_name
                                    not in DATE_TIME_TYPES):
            # pgkeel's function sets updated_at; another name needs the user's own.
            return self.finding(
                f"table {table_name(table)} has {quote_ident(name)} but {what}; no fix: "
                f"write a BEFORE UPDATE trigger that sets NEW.{quote_ident(name)}",
                object=table_name(table))
        trigger = _trigger_name(table)
        return self.finding(
            f"table {table_name(table)} has updated_at but {what}",
            object=table_name(table),
            fix=updated_at_trigger(table),
            fix_down=f"DROP TRIGGER IF EXISTS {ident(trigger)} ON {target};"
                     + drop_set_updated_at(snapshot, table),
        )


def _maintained(snapshot: Snapshot, table: Table, column: str) -> bool:
    """True when a trigger sets ``column`` to now, or one that might is unreadable."""
    def keeps(t: Table) -> bool:
        for trigger in update_triggers(t):
            stamped = stamped_columns(snapshot, trigger)
            if stamped is None or column in stamped:
                return True
        return False

    if keeps(table):
        return True
    parts = partitions_of(snapshot, table)
    return bool(parts) and all(keeps(p) for p in parts)

