"""Plan rules about the planner's row estimates: misestimates and stale statistics."""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.advisor.plan import PlanNode
from pgkeel.advisor.plan_rules import _expr
from pgkeel.advisor.plan_rules.base import (
    STALE_SHARE,
    PlanContext,
    PlanFinding,
    PlanRule,
    estimate_factor,
    human,
)
from pgkeel.report.findings import Severity
from pgkeel.sqltext import quote_ident

__all__ = ["RowMisestimate", "StaleStatistics"]

#: pev2's estimate-factor classes (dalibo/pev2 ``plan-service.ts``): 10x, 100x, 1000x.
MISESTIMATE = {1000.0: Severity.ERROR, 100.0: Severity.WARNING, 10.0: Severity.INFO}


def _with_limit(node: PlanNode, limited: bool) -> Iterator[tuple[PlanNode, bool]]:
    """Every node with whether a Limit above it may have stopped it early."""
    yield node, limited
    below = limited or node.node_type == "Limit"
    for child in node.children:
        yield from _with_limit(child, below)


class RowMisestimate(PlanRule):
    """The planner's row estimate is off by 10x or more where the error starts.

    Why
    ---
    The planner picks join methods, join order and memory from its row estimates; an
    estimate off by 100x makes a nested loop over "10 rows" that really runs 100,000
    times, or a hash sized for a few rows that spills. The finding points at the
    deepest node whose estimate is off (nodes above inherit the error). Severity
    follows pev2's classes: info from 10x, warning from 100x, error from 1000x.
    When the scan filters on two or more columns of one table, the usual cause is
    correlated columns (the planner multiplies their selectivities as if
    independent), and the fix is extended statistics on them.

    Bad
    ---
    ```sql
    CREATE TABLE reading (id int PRIMARY KEY, sensor int, site int);
    INSERT INTO reading SELECT g, g % 100, g % 100 FROM generate_series(1, 100000) g;
    ANALYZE reading;
    SELECT * FROM reading WHERE sensor = 1 AND site = 1;
    ```

    Good
    ----
    ```sql
    CREATE TABLE reading (id int PRIMARY KEY, sensor int, site int);
    INSERT INTO reading SELECT g, g % 100, g % 100 FROM generate_series(1, 100000) g;
    CREATE STATISTICS reading_sensor_site_stats (dependencies, mcv) ON sensor, site
        FROM reading;
    ANALYZE reading;
    SELECT * FROM reading WHERE sensor = 1 AND site = 1;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. Judged per loop (actual rows are averages per loop).
    Fewer rows than estimated below a `LIMIT` are not reported: the limit stopped
    the node early.

    References
    ----------
    - PostgreSQL docs §14.2 "Statistics Used by the Planner" and §14.2.2 "Extended
      Statistics"; CREATE STATISTICS.
    - dalibo/pev2 `plan-service.ts` (planner estimate factor, 10/100/1000 classes).
    """

    id = "row-misestimate"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/planner-stats.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node, limited in _with_limit(ctx.plan.root, False):
            factor = estimate_factor(node)
            if factor < 10 or any(estimate_factor(c) >= 10 for c in node.children):
                continue
            actual = float(node.data.get("Actual Rows", 0))
            if limited and actual < node.plan_rows:
                continue  # a LIMIT above stopped it early: fewer rows is not an error
            if not ctx.significant(node, inclusive=True):
                continue
            severity = next(s for limit, s in MISESTIMATE.items() if factor >= limit)
            way = "under" if actual > node.plan_rows else "over"
            message = (f"{node.label}: the planner expected {human(node.plan_rows)} rows "
                       f"per loop, {human(actual)} came ({factor:,.0f}x {way}estimated)")
            facts = ctx.facts(node)
            cols = _expr.columns(str(node.data.get("Filter", "")))
            fix = None
            if facts is not None and len(cols) >= 2:
                name = "_".join((facts.table, *cols[:3], "stats"))[:63]
                fix = (f"CREATE STATISTICS IF NOT EXISTS "
                       f"{quote_ident(facts.schema)}.{quote_ident(name)} (dependencies, mcv)"
                       f" ON {', '.join(quote_ident(c) for c in cols[:8])}"
                       f" FROM {facts.sql_name};\nANALYZE {facts.sql_name};")
                message += "; its filter columns are likely correlated"
            elif facts is not None:
                message += (f"; ANALYZE {facts.sql_name}, or raise the columns' statistics "
                            "target (ALTER TABLE ... ALTER COLUMN ... SET STATISTICS)")
            yield self.at(node, message, severity=severity, fix=fix,
                          saving_ms=node.inclusive_ms / 2)


class StaleStatistics(PlanRule):
    """A table's statistics are stale and its scan's row estimate is off by 10x or more.

    Why
    ---
    The planner estimates from statistics gathered by the last ANALYZE. After a bulk
    load or a big change, before autovacuum analyzes the table again, estimates are
    off and plans go wrong. Stale means: ANALYZE never ran, more than 10 % of the rows
    changed since it did (autovacuum's default analyze threshold), or the scan saw
    more than 10 % more or fewer rows than the catalog's row count (`reltuples`).

    Bad
    ---
    ```sql
    CREATE TABLE job (id int, state int) WITH (autovacuum_enabled = off);
    INSERT INTO job SELECT g, 1 FROM generate_series(1, 1000) g;
    ANALYZE job;
    INSERT INTO job SELECT g, 2 FROM generate_series(1001, 100000) g;
    SELECT * FROM job WHERE state = 2;
    ```

    Good
    ----
    ```sql
    CREATE TABLE job (id int, state int) WITH (autovacuum_enabled = off);
    INSERT INTO job SELECT g, 1 FROM generate_series(1, 1000) g;
    INSERT INTO job SELECT g, 2 FROM generate_series(1001, 100000) g;
    ANALYZE job;
    SELECT * FROM job WHERE state = 2;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The fix is `ANALYZE` of the table; if it recurs, lower
    the table's `autovacuum_analyze_scale_factor`.

    References
    ----------
    - PostgreSQL docs §24.1.6 "Updating Planner Statistics" and §20.10 autovacuum
      (`autovacuum_analyze_scale_factor` = 0.1).
    - pganalyze's "Stale Stats" EXPLAIN insight (named on pganalyze.com/docs/explain).
    """

    id = "stale-statistics"
    severity = Severity.WARNING
    docs_url = ("https://www.postgresql.org/docs/current/routine-vacuuming.html"
                "#VACUUM-FOR-STATISTICS")

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            facts = ctx.facts(node)
            if facts is None or estimate_factor(node) < 10:
                continue
            if not ctx.significant(node, inclusive=True):
                continue
            seen = node.actual_rows + node.removed("Rows Removed by Filter")
            drifted = (node.node_type == "Seq Scan" and "Rows Removed by Filter" in node.data
                       and facts.reltuples >= 0
                       and abs(seen - facts.reltuples) > STALE_SHARE * max(facts.reltuples,
                                                                           1000.0))
            if not (facts.stale or drifted):
                continue
            why = ("was never analyzed" if not facts.analyzed else
                   f"has {human(seen)} rows where its statistics say "
                   f"{human(facts.reltuples)}" if drifted else
                   f"had {human(facts.modified_since_analyze)} rows changed since its last "
                   "ANALYZE")
            yield self.at(node, f"{facts.name} {why}, and {node.label} is estimated "
                          f"{estimate_factor(node):,.0f}x off", fix=f"ANALYZE {facts.sql_name};",
                          saving_ms=node.inclusive_ms / 2)
