"""Plan rules about LIMIT: a sort of a large input for a few rows, and large OFFSETs."""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.advisor.keyset import keyset_rewrite
from pgkeel.advisor.plan import PlanNode
from pgkeel.advisor.plan_rules import _expr
from pgkeel.advisor.plan_rules.base import PlanContext, PlanFinding, PlanRule, human
from pgkeel.report.findings import Severity

__all__ = ["OffsetPagination", "TopNSort"]

#: A top-N sort is reported from this many input rows (proposed) ...
TOP_N_INPUT = 100_000
#: ... when the input is at least this many times the rows kept (proposed).
TOP_N_RATIO = 1_000
#: OFFSET is reported when the rows skipped are at least 10x the rows returned and at
#: least this many (proposed).
OFFSET_FLOOR = 1_000


def _below_limit(node: PlanNode) -> PlanNode | None:
    child = node.children[0] if node.children else None
    while child is not None and child.node_type in ("Gather Merge", "Gather") and \
            child.children:
        child = child.children[0]
    return child


class TopNSort(PlanRule):
    """A small LIMIT sorts a large input to keep a few rows.

    Why
    ---
    `ORDER BY x LIMIT 10` without an index on `x` reads and sorts every row that
    qualifies (a top-N heapsort), to keep ten. From 100,000 input rows and a
    1,000x ratio, an index on the ORDER BY columns (after the equality filter
    columns, when there are some) lets the scan stop after the first rows.

    Bad
    ---
    ```sql
    CREATE TABLE post (id int PRIMARY KEY, score int);
    INSERT INTO post SELECT g, (g * 7919) % 100000 FROM generate_series(1, 200000) g;
    ANALYZE post;
    SELECT * FROM post ORDER BY score DESC LIMIT 10;
    ```

    Good
    ----
    ```sql
    CREATE TABLE post (id int PRIMARY KEY, score int);
    INSERT INTO post SELECT g, (g * 7919) % 100000 FROM generate_series(1, 200000) g;
    CREATE INDEX ON post (score DESC);
    ANALYZE post;
    SELECT * FROM post ORDER BY score DESC LIMIT 10;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The suggested index is printed when the sort keys are
    plain columns of the one table scanned below the sort without a filter;
    otherwise the message names the columns.

    References
    ----------
    - PostgreSQL docs §11.4 "Indexes and ORDER BY" and §7.6 "LIMIT and OFFSET".
    """

    id = "top-n-sort"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/indexes-ordering.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            sort = _below_limit(node) if node.node_type == "Limit" else None
            if sort is None or sort.node_type != "Sort" or not sort.children:
                continue
            source = sort.children[0]
            kept = max(node.actual_rows, 1.0)
            if source.actual_rows < TOP_N_INPUT or source.actual_rows / kept < TOP_N_RATIO:
                continue
            if not ctx.significant(sort, inclusive=True):
                continue
            keys = [str(k) for k in sort.data.get("Sort Key", ())]
            elements = _expr.sort_columns(keys)
            facts = ctx.facts(source)
            fix = None
            if elements and facts is not None and "Filter" not in source.data:
                fix = f"CREATE INDEX CONCURRENTLY ON {facts.sql_name} ({', '.join(elements)});"
            yield self.at(sort, f"{sort.label} sorts {human(source.actual_rows)} rows to keep "
                          f"{human(node.actual_rows)} (Sort Key: {', '.join(keys)}); an index "
                          "in that order lets the scan stop early", fix=fix,
                          object=facts.sql_name if facts else None,
                          saving_ms=sort.inclusive_ms * 0.9)


class OffsetPagination(PlanRule):
    """A large OFFSET computes and throws away rows for every page.

    Why
    ---
    `LIMIT 20 OFFSET 50000` makes the server produce 50,020 rows and return the last
    20; every further page costs more. Keyset pagination remembers the last row's
    sort key and asks for what follows (`WHERE id > $1 ORDER BY id LIMIT 20`), which
    an index answers by reading 20 rows, whatever the page. Reported when the rows
    skipped are at least 10x those returned, and at least 1,000. The finding prints
    the keyset form of the query when its ORDER BY keys are plain columns sorted one
    way. From the workload, the same rule reports statements of pg_stat_statements
    or a query log with a large constant OFFSET.

    Bad
    ---
    ```sql
    CREATE TABLE article (id int PRIMARY KEY, title text);
    INSERT INTO article SELECT g, 'title ' || g FROM generate_series(1, 100000) g;
    ANALYZE article;
    SELECT id, title FROM article ORDER BY id LIMIT 20 OFFSET 50000;
    ```

    Good
    ----
    ```sql
    CREATE TABLE article (id int PRIMARY KEY, title text);
    INSERT INTO article SELECT g, 'title ' || g FROM generate_series(1, 100000) g;
    ANALYZE article;
    SELECT id, title FROM article WHERE id > 50000 ORDER BY id LIMIT 20;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE` (the rows skipped are the Limit's input minus its output).
    The keyset form is exact when the ORDER BY keys are unique together: end ORDER BY
    with the primary key.

    References
    ----------
    - PostgreSQL docs §7.6 "LIMIT and OFFSET" ("The rows skipped by an OFFSET clause
      still have to be computed inside the server") and §9.24.5 "Row Constructor
      Comparison".
    - The skill's "Query Optimization" step: cursor (keyset) pagination over OFFSET.
    """

    id = "offset-pagination"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/queries-limit.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.node_type != "Limit" or not node.children:
                continue
            returned = node.actual_rows
            skipped = node.children[0].actual_rows - returned
            if skipped < OFFSET_FLOOR or skipped < 10 * returned or \
                    not ctx.significant(node, inclusive=True):
                continue
            statement = ctx.statement
            rewrite = keyset_rewrite(statement.text, statement.params) if statement else None
            message = (f"{node.label} skips {human(skipped)} rows to return "
                       f"{human(returned)}: OFFSET pagination gets slower with every page")
            if rewrite is not None:
                message += (f"; use keyset pagination, passing the last row's "
                            f"{', '.join(rewrite.keys)}")
            yield self.at(node, message, fix=rewrite.sql if rewrite else None,
                          saving_ms=node.inclusive_ms * skipped / (skipped + returned))
