"""Normalisation (1NF to 3NF), from the schema and the rows.

The skill's checklist item "Schema follows 3NF normalization", answered from
evidence (DESIGN.md principle 7): numbered columns in the catalog, and what a bounded
sample of each table's rows shows (lists packed into one value, one non-key column
determining another, totals that repeat their child rows). Rules that need rows stay
silent when there are none (``check --no-data``); a table whose sample PostgreSQL
refuses to read (timeout, permission) is skipped. No rule here prints a fix: each
finding is a design change (a new table, rows moved into it), and the message names
the table to create.

Thresholds are ``[check]`` options of each rule (``ctx.option``); the defaults were
tuned on Northwind, Chinook and Pagila (tests/lint/test_normalization.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from pgkeel.catalog.model import Column, Table
from pgkeel.lint import checklist as checklist_items
from pgkeel.lint.context import CheckContext, DataProbe, ProbeFailed
from pgkeel.lint.options import RuleOption
from pgkeel.lint.rules._catalog import (
    object_name,
    own_tables,
    partitions_of,
    quote_ident,
    table_name,
)
from pgkeel.lint.rules._dependencies import (
    Determinant,
    comparable,
    dependencies,
    determinants,
    key_columns,
    numeric,
    profile,
    totals,
)
from pgkeel.lint.rules._non_atomic import Kind, Lists, count_lists, kind_of, list_items
from pgkeel.lint.rules._repeating import fill_counts, numbered_groups
from pgkeel.lint.rules.base import SchemaRule
from pgkeel.report.findings import Finding, Severity

__all__ = ["DerivedColumn", "NonAtomicColumn", "RepeatingColumnGroup", "TransitiveDependency"]

#: Stems of postal-address lines: ordered parts of one address, not repeated facts.
ADDRESS_STEMS = ("address", "address_line", "addr", "line", "street")


def _sample_note(rows: int) -> str:
    return f"in a sample of {rows} row{'s' if rows != 1 else ''}"


class RepeatingColumnGroup(SchemaRule):
    """Move numbered columns (`phone1`, `phone2`, `phone3`) to a child table.

    A table is reported once per group of two or more columns that share a stem and
    a type and differ only by a number `1, 2, ...` (or `0, 1, ...`) at the end
    (`phone1`, `phone_2`). The numbers must run without a gap from 0 or 1, so
    `sha1`/`sha256` or `ipv4`/`ipv6` are not a group; the stem must have two letters
    or more. With rows at hand the finding says how many sampled rows fill each
    column.

    Why
    ---
    A repeating group breaks first normal form: the table allows exactly as many
    phones as it has columns, a query for "this phone number" must test every
    column, nothing stops the same value sitting in `phone1` and `phone2`, and a
    fourth phone means an `ALTER TABLE`. A child table with one row per value has
    none of these limits and can be indexed and constrained. Severity `warning`.

    Bad
    ---
    ```sql
    CREATE TABLE contacts (
      id bigint PRIMARY KEY,
      name text NOT NULL,
      phone1 text,
      phone2 text,
      phone3 text
    );
    ```

    Good
    ----
    ```sql
    CREATE TABLE contacts (id bigint PRIMARY KEY, name text NOT NULL);
    CREATE TABLE contact_phones (
      contact_id bigint NOT NULL REFERENCES contacts,
      position smallint NOT NULL,
      phone text NOT NULL,
      PRIMARY KEY (contact_id, position)
    );
    ```

    Notes
    -----
    Lines of a postal address (`address_line1`, `address_line2`, `address1`/
    `address2`, `street1`/`street2`) are not reported: they are ordered parts of one
    address whose number of lines postal formats fix, not repeated values of one
    fact, and a child table would add a join without adding integrity. The stems
    left out are the option `ignore_stems` (default `address`, `address_line`,
    `addr`, `line`, `street`). No fix is printed: moving the values is a design
    change (create the child table, copy the rows, move readers and writers, then
    drop the columns); the message names the table to create.

    References
    ----------
    - E. F. Codd, "Further Normalization of the Data Base Relational Model" (1971),
      first normal form.
    - pg-index-health `tables_with_incrementing_columns`; SchemaCrawler lint
      `LinterTableWithIncrementingColumns`; reference/lint-rules.md
      `incrementing-columns`.
    """

    id = "repeating-column-group"
    options: ClassVar[dict[str, RuleOption]] = {
        "ignore_stems": RuleOption(
            list[str], "column stems never reported as a group",
            list(ADDRESS_STEMS)),
    }
    uses_data = True
    severity = Severity.WARNING
    checklist = checklist_items.NORMALIZATION
    object_kind = "column"
    docs_url = "https://en.wikipedia.org/wiki/First_normal_form"
    upstream = ("pg-index-health:tables_with_incrementing_columns",)

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        ignore = set(ctx.option(self.id, "ignore_stems", ADDRESS_STEMS))
        for table in own_tables(ctx.snapshot):
            for stem, group in numbered_groups(table, ignore):
                yield self._finding(ctx, table, stem, group)

    def _finding(self, ctx: CheckContext, table: Table, stem: str,
                 group: list[Column]) -> Finding:
        names = ", ".join(quote_ident(c.name) for c in group)
        child = f"{table.name}_{stem}"
        if table.primary_key is not None:
            key = table.primary_key.columns
            ref = ", ".join(quote_ident(c) for c in key)
            typed = ", ".join(f"{quote_ident(c)} {col.type}" for c in key
                              if (col := table.column(c)) is not None)
            shape = (f"({typed}, position smallint, {quote_ident(stem)} {group[0].type}, "
                     f"PRIMARY KEY ({ref}, position), FOREIGN KEY ({ref}) REFERENCES "
                     f"{table_name(table)})")
        else:
            shape = (f"(one row per value, referencing {quote_ident(table.name)}; give "
                     f"{quote_ident(table.name)} a primary key first)")
        message = (f"{table_name(table)} numbers one attribute in {len(group)} columns "
                   f"({names}, {group[0].type}): a repeating group (first normal form); "
                   f"{fill_counts(ctx.data, table, group)}move the values to a child table "
                   f"such as {object_name(table.schema, child)} {shape}")
        return self.finding(message, object=object_name(table.schema, table.name,
                                                        group[0].name))


class TransitiveDependency(SchemaRule):
    """Move a non-key column that another non-key column determines to its own table.

    Tables with at least `min_rows` sampled rows (default 100) are read. The
    columns considered are at most `max_columns` (default 16, in column order) that
    are not part of a key (primary key, unique constraint or unique index), not a
    foreign key, hold scalar values of average width at most `max_width` bytes
    (default 64) and at least `min_distinct` distinct values (default 5) in the
    sample. A column `A` determines a column `B` when every sampled row with the
    same value of `A` has the same value of `B`; `A` must repeat each of its values
    on average at least `min_repeat` times (default 2), so a candidate key (unique
    values) is never a determinant and the rows really test the dependency. Columns
    that determine each other are one determinant, reported once, and only when
    they determine some other column too (a pair that is one to one and nothing
    more, such as a code and its label, is reported with the option `one_to_one =
    true`); a determinant that another one determines is nested in that one's
    finding (`postal_code` determines `city`, `city` determines `country`: one
    finding).

    Why
    ---
    Third normal form: every non-key column depends on the key, the whole key and
    nothing but the key. When `postal_code` determines `city` in an orders table,
    each order repeats the city of its postal code: an update must change every copy
    or the copies disagree, and a postal code cannot be recorded without an order.
    A table keyed by `postal_code` holds the fact once. Severity `warning`: the
    evidence is a sample, and a dependency that holds today may be a coincidence.

    Bad
    ---
    ```sql
    CREATE TABLE shipments (
      id bigint PRIMARY KEY,
      postal_code text NOT NULL,
      city text NOT NULL,
      weight_kg numeric NOT NULL
    );
    -- 20 postal codes in 10 cities
    INSERT INTO shipments
    SELECT i, 'P' || (i % 20), 'City ' || (i % 10), i
    FROM generate_series(1, 200) AS i;
    ```

    Good
    ----
    ```sql
    CREATE TABLE postal_codes (postal_code text PRIMARY KEY, city text NOT NULL);
    CREATE TABLE shipments (
      id bigint PRIMARY KEY,
      postal_code text NOT NULL REFERENCES postal_codes,
      weight_kg numeric NOT NULL
    );
    INSERT INTO postal_codes SELECT 'P' || i, 'City ' || (i % 10)
    FROM generate_series(0, 19) AS i;
    INSERT INTO shipments SELECT i, 'P' || (i % 20), i FROM generate_series(1, 200) AS i;
    ```

    Notes
    -----
    Foreign key columns are left out: the table a foreign key references already
    holds its attributes, and a copy of them next to the key (an order's shipping
    address, a line's unit price) is usually a deliberate snapshot of the value at
    that time. A column with fewer than `min_distinct` values is left out as a
    dependent too: a flag or a two-price column follows a many-valued column by
    chance (Chinook's `track.unit_price` follows `composer` in every row). Each
    table costs two queries over its sample (`sample_rows`): one profiles the
    columns, one tests every candidate pair at once by comparing `count(DISTINCT a)`
    with `count(DISTINCT (a, b))` (the test of TANE). A sample proves a dependency
    only for the rows read; the finding says how many. No fix is printed:
    extracting the table is a design change.

    References
    ----------
    - E. F. Codd, "Further Normalization of the Data Base Relational Model" (1971),
      third normal form.
    - Y. Huhtala et al., "TANE: An Efficient Algorithm for Discovering Functional and
      Approximate Dependencies", The Computer Journal 42(2), 1999.
    """

    id = "transitive-dependency"
    options: ClassVar[dict[str, RuleOption]] = {
        "max_columns": RuleOption(int, "most columns profiled per table", 16),
        "min_rows": RuleOption(int, "fewest sampled rows before a table is judged", 100),
        "max_width": RuleOption(
            float, "widest average value (bytes) a profiled column may have",
            64.0),
        "min_repeat": RuleOption(
            float, "times each determinant value repeats on average, at least",
            2.0),
        "min_distinct": RuleOption(int, "fewest distinct values on each side of a dependency", 5),
        "one_to_one": RuleOption(bool, "also report columns that determine each other", False),
    }
    uses_data = True
    severity = Severity.WARNING
    checklist = checklist_items.NORMALIZATION
    object_kind = "column"
    docs_url = "https://en.wikipedia.org/wiki/Third_normal_form"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.data is None:
            return
        for table in own_tables(ctx.snapshot):
            yield from self._table(ctx, ctx.data, table)

    def _table(self, ctx: CheckContext, probe: DataProbe, table: Table) -> Iterator[Finding]:
        opt = ctx.option
        keys = key_columns(table)
        # a partitioned table's foreign keys may be declared on its partitions only
        foreign = {c for t in (table, *partitions_of(ctx.snapshot, table))
                   for fk in t.foreign_keys for c in fk.columns}
        columns = [c.name for c in table.columns if c.name not in keys
                   and c.name not in foreign and comparable(ctx.snapshot, c)]
        columns = columns[:int(opt(self.id, "max_columns", 16))]
        if len(columns) < 2:
            return
        try:
            rows, prof = profile(probe, table, columns)
        except ProbeFailed:
            return
        if rows < int(opt(self.id, "min_rows", 100)):
            return
        width = float(opt(self.id, "max_width", 64))
        repeat = float(opt(self.id, "min_repeat", 2))
        least = int(opt(self.id, "min_distinct", 5))
        usable = [c for c in columns if prof[c].width <= width and prof[c].distinct >= least]
        sources = [a for a in usable if prof[a].filled >= repeat * prof[a].distinct]
        pairs = [(a, b) for a in sources for b in usable if a != b
                 and (prof[b].distinct <= prof[a].distinct or prof[a].filled < rows)]
        try:
            held = dependencies(probe, table, pairs)
        except ProbeFailed:
            return
        filled = frozenset(c for c in columns if prof[c].filled == rows)
        one_to_one = bool(opt(self.id, "one_to_one", False))
        for group in determinants(held, columns, filled):
            if group.determines or one_to_one:
                yield self._finding(table, group, rows)

    def _finding(self, table: Table, group: Determinant, rows: int) -> Finding:
        a = quote_ident(group.column)
        names = ", ".join
        what = f"{a} ({group.distinct} distinct values)"
        if group.same:
            what += f" and {names(quote_ident(b) for b in group.same)}, one to one with it,"
        if group.determines:
            what += " determine" + ("" if group.same else "s") + " " + names(
                quote_ident(b) for b in group.determines)
        else:
            what += " determine each other"
        for d, cols in group.nested:
            what += f"; {quote_ident(d)} determines {names(quote_ident(c) for c in cols)}"
        columns = names(quote_ident(c) for c in (group.column, *group.same, *group.determines))
        message = (f"{_sample_note(rows)} of {table_name(table)}, {what}: every row with the "
                   f"same {a} repeats the same values, a dependency on a non-key column "
                   f"(third normal form); move ({columns}) to a table keyed by {a}, such as "
                   f"{object_name(table.schema, f'{table.name}_{group.column}')}, and keep "
                   f"only {a} here, referencing it")
        return self.finding(message, object=object_name(table.schema, table.name,
                                                        group.column))


class NonAtomicColumn(SchemaRule):
    """Store a list as rows of a child table, not packed into one column.

    Tables with at least `min_rows` sampled rows (default 20) are read; a column
    that is not part of a key is reported when, in the sample, at least
    `min_lists` values (default 10) and at least `min_share` of its non-null values
    (default 0.1) are lists, and the items of its *distinct* list values repeat
    (items at least `min_repeat` times the distinct items, default 1.5): the items
    are values of something, not free text. Distinct values, so an address copied
    onto every order does not pass for a vocabulary. A list is:

    - in a text column, a value of two or more items of 1 to 40 characters separated
      by `,` or `;` (`Angus Young, Malcolm Young, Brian Johnson`);
    - in an array column, an array of two elements or more;
    - in a `json`/`jsonb` column, an array of two objects or more (then the objects
      must share one set of keys: rows of a hidden table).

    Why
    ---
    First normal form: one value per column. A list in a column cannot be
    constrained (no foreign key reaches an item), is searched with pattern matches
    that no B-tree serves, and changes by rewriting the whole value, so two writers
    lose each other's items. One row per item in a child table (with a lookup table
    when the items come from a vocabulary) makes each item a value PostgreSQL can
    index, join and constrain. Severity `info`: arrays and JSON are sometimes the
    right design (a short ordered set read and written whole).

    Bad
    ---
    ```sql
    CREATE TABLE songs (id bigint PRIMARY KEY, title text NOT NULL, composers text);
    INSERT INTO songs
    SELECT i, 'Song ' || i, 'Writer ' || (i % 7) || ', Writer ' || (i % 5)
    FROM generate_series(1, 100) AS i;
    ```

    Good
    ----
    ```sql
    CREATE TABLE songs (id bigint PRIMARY KEY, title text NOT NULL);
    CREATE TABLE song_composers (
      song_id bigint NOT NULL REFERENCES songs,
      composer text NOT NULL,
      PRIMARY KEY (song_id, composer)
    );
    INSERT INTO songs SELECT i, 'Song ' || i FROM generate_series(1, 100) AS i;
    INSERT INTO song_composers SELECT i, 'Writer ' || (i % 7) FROM generate_series(1, 100) AS i;
    ```

    Notes
    -----
    Commas in prose or addresses do not make a list: items longer than 40
    characters are not items, and the parts of addresses (`Rua do Paço, 67` in
    Northwind's `orders.ship_address`) rarely repeat from one distinct address to
    the next (1.2 times there, against 1.6 for Chinook's `track.composer`). One
    query counts the lists of every candidate column of a table; one more per
    column that passes reads its items. No fix is printed: moving the items to rows
    is a design change.

    References
    ----------
    - E. F. Codd, "A Relational Model of Data for Large Shared Data Banks" (1970),
      normalisation of nonsimple domains; PostgreSQL docs, "Arrays" (8.15.4:
      "Arrays are not sets; searching for specific array elements can be a sign of
      database misdesign").
    """

    id = "non-atomic-column"
    options: ClassVar[dict[str, RuleOption]] = {
        "min_rows": RuleOption(int, "fewest sampled rows before a column is judged", 20),
        "min_lists": RuleOption(int, "fewest list values before a column is reported", 10),
        "min_share": RuleOption(float, "share of non-null values that must be lists", 0.1),
        "min_repeat": RuleOption(float, "times list items repeat on average, at least", 1.5),
    }
    uses_data = True
    severity = Severity.INFO
    checklist = checklist_items.NORMALIZATION
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/arrays.html#ARRAYS-SEARCHING"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.data is None:
            return
        for table in own_tables(ctx.snapshot):
            yield from self._table(ctx, ctx.data, table)

    def _table(self, ctx: CheckContext, probe: DataProbe, table: Table) -> Iterator[Finding]:
        opt = ctx.option
        keys = key_columns(table)
        columns = {c.name: (c, kind) for c in table.columns
                   if c.name not in keys and c.generated is None
                   and (kind := kind_of(c)) is not None}
        if not columns:
            return
        try:
            rows, counts = count_lists(probe, table, [(n, k) for n, (_, k) in columns.items()])
        except ProbeFailed:
            return
        if rows < int(opt(self.id, "min_rows", 20)):
            return
        for name, (column, kind) in columns.items():
            found = counts[name]
            if (found.lists < int(opt(self.id, "min_lists", 10))
                    or found.lists < float(opt(self.id, "min_share", 0.1)) * found.filled):
                continue
            try:
                items, distinct = list_items(probe, table, name, kind)
            except ProbeFailed:
                continue
            if items < float(opt(self.id, "min_repeat", 1.5)) * distinct or (
                    kind == "json" and distinct != 1):
                continue
            yield self._finding(table, column, kind, rows, found, items, distinct)

    def _finding(self, table: Table, column: Column, kind: Kind, rows: int, found: Lists,
                 items: int, distinct: int) -> Finding:
        name = object_name(table.schema, table.name, column.name)
        child = object_name(table.schema, f"{table.name}_{column.name}")
        how = {"text": "separated by , or ;", "array": "as array elements",
               "json": "as JSON arrays of objects"}[kind]
        if kind == "json":
            what = f"{items} objects in its distinct lists, all with one set of keys"
        else:
            what = f"{items} items in its distinct lists, {distinct} distinct"
        lookup = kind != "json" and distinct * 4 <= items
        message = (f"{name} ({column.type}) packs lists into one value: "
                   f"{_sample_note(rows)}, {found.lists} of {found.filled} values hold "
                   f"two or more items {how} ({what}); store one row per item in a "
                   f"child table such as {child} referencing {table_name(table)}"
                   + (", with a lookup table of the items" if lookup else ""))
        return self.finding(message, object=name)


class DerivedColumn(SchemaRule):
    """A stored total that equals a sum over its child rows is derived data.

    For each foreign key, the referenced (parent) table's sample of at least
    `min_rows` rows (default 20) is joined to the aggregates of the child rows that
    reference each parent row. A numeric parent column that is not a key or a
    foreign key is reported when, on every sampled parent row, it equals (a parent
    without children counting as 0) one of: `sum(x * y)` over two numeric child
    columns, `sum(x)`, or `count(*)` (integer columns), and it holds at least
    `min_distinct` distinct values (default 5), so a column of zeros is not a
    total. At most `max_columns` (default 6) numeric columns of each side are tried,
    in column order.

    Why
    ---
    A total stored beside the rows it sums is a second copy of the same fact: an
    update of a child row that does not also update the total leaves the two
    disagreeing, and nothing in the schema says which one is right. Computing it
    (a view, or a query) keeps one source of truth; when the stored copy is kept for
    speed or as a record of what was billed, a trigger or the application must keep
    it in step. Severity `info`: often deliberate.

    Bad
    ---
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(12,2) NOT NULL);
    CREATE TABLE order_lines (
      order_id bigint NOT NULL REFERENCES orders,
      line smallint NOT NULL,
      quantity integer NOT NULL,
      price numeric(12,2) NOT NULL,
      PRIMARY KEY (order_id, line)
    );
    -- each order's lines: quantities 1, 2 and 3 at price o, so the total is 6 * o
    INSERT INTO orders SELECT o, 6 * o FROM generate_series(1, 50) AS o;
    INSERT INTO order_lines SELECT o, l, l, o FROM generate_series(1, 50) AS o,
      generate_series(1, 3) AS l;
    ```

    Good
    ----
    ```sql
    CREATE TABLE orders (id bigint PRIMARY KEY, placed_on date NOT NULL);
    CREATE TABLE order_lines (
      order_id bigint NOT NULL REFERENCES orders,
      line smallint NOT NULL,
      quantity integer NOT NULL,
      price numeric(12,2) NOT NULL,
      PRIMARY KEY (order_id, line)
    );
    INSERT INTO orders SELECT o, date '2024-01-01' + o FROM generate_series(1, 50) AS o;
    INSERT INTO order_lines SELECT o, l, l, o FROM generate_series(1, 50) AS o,
      generate_series(1, 3) AS l;
    CREATE VIEW order_totals AS
      SELECT order_id, sum(quantity * price) AS total FROM order_lines GROUP BY order_id;
    ```

    Notes
    -----
    One query per foreign key: the parent's sample, the child rows that reference it
    (found through the foreign key's index when there is one; otherwise PostgreSQL
    scans the child, bounded by `statement_timeout_ms`). A rounded or discounted
    total (`sum(quantity * price * (1 - discount))`) is not recognised. No fix is
    printed: dropping the column would lose what it records.

    References
    ----------
    - E. F. Codd, "Further Normalization of the Data Base Relational Model" (1971);
      C. J. Date, "An Introduction to Database Systems", derived data and
      controlled redundancy.
    """

    id = "derived-column"
    options: ClassVar[dict[str, RuleOption]] = {
        "max_columns": RuleOption(int, "most numeric columns compared per foreign key", 6),
        "min_distinct": RuleOption(int, "fewest distinct totals before a column is judged", 5),
        "min_rows": RuleOption(int, "fewest sampled parent rows before a column is judged", 20),
    }
    uses_data = True
    severity = Severity.INFO
    checklist = checklist_items.NORMALIZATION
    object_kind = "column"
    docs_url = "https://www.postgresql.org/docs/current/tutorial-views.html"

    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        if ctx.data is None:
            return
        seen: set[str] = set()
        for child in own_tables(ctx.snapshot):
            for fk in child.foreign_keys:
                parent = ctx.snapshot.table(f"{fk.ref_schema}.{fk.ref_table}")
                if parent is None:
                    continue
                for finding in self._pair(ctx, ctx.data, parent, child, fk.ref_columns,
                                          fk.columns):
                    if finding.object not in seen:
                        seen.add(finding.object or "")
                        yield finding

    def _pair(self, ctx: CheckContext, probe: DataProbe, parent: Table, child: Table,
              parent_key: tuple[str, ...], child_key: tuple[str, ...]) -> Iterator[Finding]:
        cap = int(ctx.option(self.id, "max_columns", 6))
        candidates = _measures(parent)[:cap]
        measures = _measures(child)[:cap]
        if not measures:  # only count(*) to compare with: integer columns only
            candidates = [c for c in candidates if c.type_name in ("int2", "int4", "int8")]
        if not candidates:
            return
        try:
            found = totals(probe, parent, parent_key, candidates, child, child_key, measures)
        except ProbeFailed:
            return
        least = int(ctx.option(self.id, "min_distinct", 5))
        for total in found:
            if total.rows < int(ctx.option(self.id, "min_rows", 20)) or total.distinct < least:
                continue
            name = object_name(parent.schema, parent.name, total.column)
            message = (f"{name} equals {total.expression} over its {table_name(child)} rows "
                       f"on every row {_sample_note(total.rows)} ({total.distinct} distinct "
                       "values): a stored copy of derived data; compute it in a view or "
                       "query, or keep it in step with a trigger if it must be stored")
            yield self.finding(message, object=name)


def _measures(table: Table) -> list[Column]:
    """Numeric columns of ``table`` that are neither keys nor foreign keys."""
    skip = key_columns(table) | {c for fk in table.foreign_keys for c in fk.columns}
    return [c for c in table.columns if numeric(c) and c.name not in skip]
