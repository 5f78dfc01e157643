"""Plan rules about work repeated per outer row: nested loops and correlated sub plans."""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.advisor.plan import PlanNode
from pgkeel.advisor.plan_rules.base import PlanContext, PlanFinding, PlanRule, human
from pgkeel.report.findings import Severity

__all__ = ["NestedLoopSeqScan", "SubplanPerRow"]

#: Inner loops from which a repeated sequential scan is reported (proposed).
INNER_LOOPS = 100
#: Executions from which a correlated sub plan is reported (proposed).
SUBPLAN_LOOPS = 1_000
#: Nodes that pass their single input through on the inner side of a join.
_PASS_THROUGH = ("Limit", "Aggregate", "Memoize", "Result", "Sort", "Unique",
                 "Incremental Sort")


def _inner_seq_scan(node: PlanNode) -> PlanNode | None:
    while node.node_type in _PASS_THROUGH and len(node.children) == 1:
        node = node.children[0]
    return node if node.node_type == "Seq Scan" else None


class NestedLoopSeqScan(PlanRule):
    """A nested loop scans a table sequentially once per outer row.

    Why
    ---
    The inner side of a `Nested Loop` runs once for every outer row. When it is a
    sequential scan (possibly under a `Limit` or an aggregate, as a `LATERAL`
    subquery plans), the whole table is read again and again: 100 outer rows read it
    100 times. An index on the inner table's join column makes each loop a lookup.

    Bad
    ---
    ```sql
    CREATE TABLE customer (id int PRIMARY KEY);
    CREATE TABLE purchase (id int PRIMARY KEY, customer_id int, total int);
    INSERT INTO customer SELECT generate_series(1, 200);
    INSERT INTO purchase SELECT g, g % 200 + 1, g % 97 FROM generate_series(1, 10000) g;
    ANALYZE customer;
    ANALYZE purchase;
    SELECT c.id, p.best FROM customer c CROSS JOIN LATERAL
        (SELECT max(total) AS best FROM purchase WHERE customer_id = c.id) p;
    ```

    Good
    ----
    ```sql
    CREATE TABLE customer (id int PRIMARY KEY);
    CREATE TABLE purchase (id int PRIMARY KEY, customer_id int, total int);
    INSERT INTO customer SELECT generate_series(1, 200);
    INSERT INTO purchase SELECT g, g % 200 + 1, g % 97 FROM generate_series(1, 10000) g;
    CREATE INDEX ON purchase (customer_id);
    ANALYZE customer;
    ANALYZE purchase;
    SELECT c.id, p.best FROM customer c CROSS JOIN LATERAL
        (SELECT max(total) AS best FROM purchase WHERE customer_id = c.id) p;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`; reported from 100 inner loops. A `Materialize` node
    between the loop and the scan means the table is read once, and is not reported.

    References
    ----------
    - PostgreSQL docs §14.1 "Using EXPLAIN" (nested loop, loops) and §51.5
      "Planner/Optimizer" (join methods).
    - ankane/dexter issue #24 (LATERAL joins left without an index).
    """

    id = "nested-loop-seq-scan"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/planner-optimizer.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.node_type != "Nested Loop" or len(node.children) < 2:
                continue
            scan = _inner_seq_scan(node.children[1])
            if scan is None or scan.loops < INNER_LOOPS or not ctx.significant(scan):
                continue
            condition = scan.data.get("Filter")
            on = f" (Filter: {condition})" if condition else ""
            yield self.at(scan, f"{scan.label} runs {human(scan.loops)} times inside a nested "
                          f"loop, reading the whole table each time{on}; index the column it "
                          "is joined on", saving_ms=scan.exclusive_ms * 0.9)


class SubplanPerRow(PlanRule):
    """A correlated subquery runs once per row of the outer query.

    Why
    ---
    A subquery that refers to the outer row (`SELECT count(*) FROM b WHERE b.a_id =
    a.id` in the select list) becomes a `SubPlan` executed for every outer row: 1,000
    rows, 1,000 executions. Written as a join (or `LATERAL` with `GROUP BY`), the
    planner can hash or merge instead; at least index the correlation column.

    Bad
    ---
    ```sql
    CREATE TABLE team (id int PRIMARY KEY);
    CREATE TABLE player (id int PRIMARY KEY, team_id int);
    INSERT INTO team SELECT generate_series(1, 2000);
    INSERT INTO player SELECT g, g % 2000 + 1 FROM generate_series(1, 20000) g;
    CREATE INDEX ON player (team_id);
    ANALYZE team;
    ANALYZE player;
    SELECT t.id, (SELECT count(*) FROM player p WHERE p.team_id = t.id) FROM team t;
    ```

    Good
    ----
    ```sql
    CREATE TABLE team (id int PRIMARY KEY);
    CREATE TABLE player (id int PRIMARY KEY, team_id int);
    INSERT INTO team SELECT generate_series(1, 2000);
    INSERT INTO player SELECT g, g % 2000 + 1 FROM generate_series(1, 20000) g;
    CREATE INDEX ON player (team_id);
    ANALYZE team;
    ANALYZE player;
    SELECT t.id, count(p.id) FROM team t LEFT JOIN player p ON p.team_id = t.id
        GROUP BY t.id;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`; reported from 1,000 executions.

    References
    ----------
    - PostgreSQL docs §14.1 "Using EXPLAIN" (SubPlan) and §9.23 "Subquery
      Expressions".
    """

    id = "subplan-per-row"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/functions-subquery.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            if node.data.get("Parent Relationship") != "SubPlan" or \
                    node.loops < SUBPLAN_LOOPS or not ctx.significant(node, inclusive=True):
                continue
            name = node.data.get("Subplan Name", "a sub plan")
            yield self.at(node, f"{name} ({node.label}) runs {human(node.loops)} times, once "
                          "per outer row; rewrite the correlated subquery as a join "
                          "(or LATERAL) so it runs once", saving_ms=node.inclusive_ms * 0.8)
