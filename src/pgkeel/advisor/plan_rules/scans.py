"""Plan rules about how tables are read: filters that discard most rows, lossy
bitmaps, heap fetches of index-only scans, functions on indexed columns."""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.advisor.plan_rules import _expr
from pgkeel.advisor.plan_rules.base import PlanContext, PlanFinding, PlanRule, human
from pgkeel.report.findings import Severity
from pgkeel.sqltext import quote_ident

__all__ = ["IndexOnlyHeapFetches", "IndexScanFilter", "LossyBitmap", "NonSargablePredicate",
           "SeqScanFilter"]

#: pev2's classes for rows removed by a filter: > 50 % and > 90 % (dalibo/pev2).
REMOVED_WARN = 0.5
REMOVED_BAD = 0.9
#: PgHero's floor for a missing-index table (ankane/pghero, ``n_live_tup >= 10000``).
LARGE_TABLE = 10_000
#: Fewer removed rows than this are not worth an index change (proposed).
REMOVED_FLOOR = 1_000


def _removed_share(node_removed: float, returned: float) -> float:
    total = node_removed + returned
    return node_removed / total if total else 0.0


class SeqScanFilter(PlanRule):
    """A sequential scan of a large table discards most of the rows it reads.

    Why
    ---
    A `Seq Scan` reads every row and keeps those its `Filter` accepts. When it throws
    away more than 90 % of a table of 10,000 rows or more, an index on the filter's
    columns would read only the rows wanted. Reported as a warning above 90 %
    removed, as info above 50 % (pev2's classes).

    Bad
    ---
    ```sql
    CREATE TABLE ticket (id int PRIMARY KEY, owner int, body text);
    INSERT INTO ticket SELECT g, g % 1000, 'x' FROM generate_series(1, 100000) g;
    ANALYZE ticket;
    SELECT * FROM ticket WHERE owner = 7;
    ```

    Good
    ----
    ```sql
    CREATE TABLE ticket (id int PRIMARY KEY, owner int, body text);
    INSERT INTO ticket SELECT g, g % 1000, 'x' FROM generate_series(1, 100000) g;
    CREATE INDEX ON ticket (owner);
    ANALYZE ticket;
    SELECT * FROM ticket WHERE owner = 7;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. `pgkeel advise indexes` proposes the index and proves it.

    References
    ----------
    - PostgreSQL docs §11 "Indexes" and §14.1 "Using EXPLAIN".
    - dalibo/pev2 `plan-service.ts` (rows removed by filter > 50 % / > 90 %);
      ankane/pghero missing-index check (tables of 10,000 rows or more).
    """

    id = "seq-scan-filter"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/indexes-intro.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.node_type != "Seq Scan" or "Filter" not in node.data:
                continue
            removed = node.removed("Rows Removed by Filter")
            share = _removed_share(removed, node.actual_rows)
            facts = ctx.facts(node)
            rows = max(facts.reltuples, facts.live_rows) if facts else removed
            if share <= REMOVED_WARN or rows < LARGE_TABLE or not ctx.significant(node):
                continue
            severity = Severity.WARNING if share > REMOVED_BAD else Severity.INFO
            yield self.at(node, f"{node.label} reads {human(removed + node.actual_rows)} rows "
                          f"and discards {share:.0%} of them (Filter: {node.data['Filter']}); "
                          "an index on the filter's columns would read only the rows kept",
                          severity=severity, saving_ms=node.exclusive_ms * share)


class IndexScanFilter(PlanRule):
    """An index scan fetches many rows that its filter then throws away.

    Why
    ---
    The index finds rows by its `Index Cond`; a further `Filter` then removes rows
    the index could not exclude, after they were fetched from the heap. When the
    filter removes more than half of what the index found (and at least 1,000 rows),
    the index is the wrong shape: add the filter's column to it, or make it a partial
    index when the filter is a constant.

    Bad
    ---
    ```sql
    CREATE TABLE invoice (id int PRIMARY KEY, customer int, open bool);
    INSERT INTO invoice SELECT g, g % 20, (g / 20) % 50 = 0 FROM generate_series(1, 100000) g;
    CREATE INDEX ON invoice (customer);
    ANALYZE invoice;
    SELECT * FROM invoice WHERE customer = 3 AND open;
    ```

    Good
    ----
    ```sql
    CREATE TABLE invoice (id int PRIMARY KEY, customer int, open bool);
    INSERT INTO invoice SELECT g, g % 20, (g / 20) % 50 = 0 FROM generate_series(1, 100000) g;
    CREATE INDEX ON invoice (customer) WHERE open;
    ANALYZE invoice;
    SELECT * FROM invoice WHERE customer = 3 AND open;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. Counts rows over every loop.

    References
    ----------
    - PostgreSQL docs §11.3 "Multicolumn Indexes" and §11.8 "Partial Indexes".
    - dalibo/pev2 `plan-service.ts` (rows removed by filter > 50 % / > 90 %);
      pgMustard's "Index Efficiency" tip.
    """

    id = "index-scan-filter"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/indexes-multicolumn.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.node_type not in ("Index Scan", "Index Only Scan", "Bitmap Heap Scan") \
                    or "Filter" not in node.data:
                continue
            removed = node.removed("Rows Removed by Filter")
            share = _removed_share(removed, node.actual_rows)
            if share <= REMOVED_WARN or removed < REMOVED_FLOOR or not ctx.significant(node):
                continue
            yield self.at(node, f"{node.label} fetches {human(removed + node.actual_rows)} "
                          f"rows and its Filter ({node.data['Filter']}) discards {share:.0%}; "
                          "add the filter's columns to the index, or make it partial",
                          saving_ms=node.exclusive_ms * share)


class LossyBitmap(PlanRule):
    """A bitmap heap scan went lossy and rechecks every row of whole pages.

    Why
    ---
    When a bitmap does not fit in `work_mem` it stores whole pages instead of rows
    ("lossy"), and every row of those pages is rechecked against the condition. Any
    lossy block is reported (pganalyze's "Lossy Bitmaps" insight); a warning when 10 %
    or more of the blocks are lossy. Raising `work_mem` for the query keeps the
    bitmap exact.

    Bad
    ---
    ```sql
    CREATE TABLE event (id int, kind int, body text);
    INSERT INTO event SELECT g, (g * 7919) % 10, repeat('x', 100)
        FROM generate_series(1, 200000) g;
    CREATE INDEX ON event (kind);
    ANALYZE event;
    SET work_mem = '64kB';
    SET enable_seqscan = off;
    SET enable_indexscan = off;
    SELECT count(*) FROM event WHERE kind < 5;
    ```

    Good
    ----
    ```sql
    CREATE TABLE event (id int, kind int, body text);
    INSERT INTO event SELECT g, (g * 7919) % 10, repeat('x', 100)
        FROM generate_series(1, 200000) g;
    CREATE INDEX ON event (kind);
    ANALYZE event;
    SET work_mem = '16MB';
    SET enable_seqscan = off;
    SET enable_indexscan = off;
    SELECT count(*) FROM event WHERE kind < 5;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The examples force a bitmap scan with `enable_seqscan`
    and `enable_indexscan` off, and a tiny `work_mem`, to provoke the shape on a
    small table.

    References
    ----------
    - PostgreSQL docs §14.1.2 "EXPLAIN ANALYZE" (exact and lossy heap blocks) and
      §20.4.1 `work_mem`.
    - pganalyze docs, EXPLAIN insight "Lossy Bitmaps".
    """

    id = "lossy-bitmap"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/using-explain.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        for node in ctx.plan.nodes():
            lossy = float(node.data.get("Lossy Heap Blocks", 0) or 0)
            if node.node_type != "Bitmap Heap Scan" or lossy <= 0 or not ctx.significant(node):
                continue
            exact = float(node.data.get("Exact Heap Blocks", 0) or 0)
            share = lossy / (lossy + exact)
            rechecked = node.removed("Rows Removed by Index Recheck")
            yield self.at(node, f"{node.label}: {human(lossy)} of {human(lossy + exact)} heap "
                          f"blocks were lossy ({share:.0%}), {human(rechecked)} rows removed "
                          "by recheck; raise work_mem for this query so the bitmap stays exact",
                          severity=Severity.WARNING if share >= 0.1 else Severity.INFO,
                          saving_ms=node.exclusive_ms * share)


class IndexOnlyHeapFetches(PlanRule):
    """An index-only scan still visits the table for most rows (visibility map not set).

    Why
    ---
    An `Index Only Scan` skips the table only for pages the visibility map marks
    all-visible; VACUUM sets those bits. When more than 40 % of the rows needed a heap
    fetch (pev2's class), the scan is an index scan in disguise: vacuum the table, and
    check autovacuum keeps up with it.

    Bad
    ---
    ```sql
    CREATE TABLE visit (id int PRIMARY KEY, at date) WITH (autovacuum_enabled = off);
    INSERT INTO visit SELECT g, date '2024-01-01' + g % 365 FROM generate_series(1, 100000) g;
    ANALYZE visit;
    SET enable_seqscan = off;
    SET enable_bitmapscan = off;
    SELECT id FROM visit WHERE id < 50000;
    ```

    Good
    ----
    ```sql
    CREATE TABLE visit (id int PRIMARY KEY, at date) WITH (autovacuum_enabled = off);
    INSERT INTO visit SELECT g, date '2024-01-01' + g % 365 FROM generate_series(1, 100000) g;
    VACUUM (ANALYZE) visit;
    SET enable_seqscan = off;
    SET enable_bitmapscan = off;
    SELECT id FROM visit WHERE id < 50000;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The examples turn sequential and bitmap scans off so the
    planner takes the index-only scan even before the table is vacuumed.

    References
    ----------
    - PostgreSQL docs §11.9 "Index-Only Scans and Covering Indexes" and §24.1.4
      "Updating the Visibility Map".
    - dalibo/pev2 `plan-service.ts` (heap fetches > 0 / > 40 % / > 90 %).
    """

    id = "index-only-heap-fetches"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/indexes-index-only-scans.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.node_type != "Index Only Scan":
                continue
            fetches = float(node.data.get("Heap Fetches", 0) or 0)
            rows = node.actual_rows + node.removed("Rows Removed by Filter")
            if not rows or fetches / rows <= 0.4 or not ctx.significant(node):
                continue
            facts = ctx.facts(node)
            yield self.at(node, f"{node.label} fetched {human(fetches)} of {human(rows)} rows "
                          "from the table: its visibility map is not set; vacuum it",
                          fix=f"VACUUM (ANALYZE) {facts.sql_name};" if facts else None,
                          saving_ms=node.exclusive_ms * min(fetches / rows, 1.0) / 2)


class NonSargablePredicate(PlanRule):
    """A condition wraps an indexed column in a function, cast or arithmetic.

    Why
    ---
    An index on `email` cannot serve `lower(email) = $1`: the planner can only match
    an index whose key is the expression itself. The scan then reads the table and
    computes the function for every row. Index the expression (an expression index),
    or rewrite the condition so the bare column is compared (`created >= $1 AND
    created < $1 + 1` instead of `created::date = $1`). Found in plans with or
    without ANALYZE.

    Bad
    ---
    ```sql
    CREATE TABLE member (id int PRIMARY KEY, email text NOT NULL);
    INSERT INTO member SELECT g, 'User' || g || '@example.com' FROM generate_series(1, 50000) g;
    CREATE INDEX ON member (email);
    ANALYZE member;
    SELECT id FROM member WHERE lower(email) = 'user42@example.com';
    ```

    Good
    ----
    ```sql
    CREATE TABLE member (id int PRIMARY KEY, email text NOT NULL);
    INSERT INTO member SELECT g, 'User' || g || '@example.com' FROM generate_series(1, 50000) g;
    CREATE INDEX ON member (lower(email));
    ANALYZE member;
    SELECT id FROM member WHERE lower(email) = 'user42@example.com';
    ```

    Notes
    -----
    The expression index it suggests works only for IMMUTABLE functions (`lower` is;
    `date_trunc` on `timestamptz` is not).

    References
    ----------
    - PostgreSQL docs §11.7 "Indexes on Expressions".
    - ankane/dexter and ankane/pghero both skip such predicates ("Unknown structure"):
      the gap this rule covers.
    """

    id = "non-sargable-predicate"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/indexes-expressional.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        for node in ctx.plan.nodes():
            facts = ctx.facts(node)
            condition = node.data.get("Filter")
            if facts is None or not condition or not ctx.significant(node):
                continue
            for wrapped in _expr.wrapped_columns(str(condition)):
                if wrapped.column not in facts.index_columns:
                    continue
                fix = None
                if wrapped.kind == "function":
                    fix = (f"CREATE INDEX CONCURRENTLY ON {facts.sql_name} "
                           f"(({wrapped.expression}));")
                yield self.at(node, f"{node.label} computes {wrapped.expression} for every "
                              f"row: the index on {quote_ident(wrapped.column)} cannot serve "
                              "it; index the expression or compare the bare column",
                              fix=fix, saving_ms=node.exclusive_ms / 2)
                break
