"""Plan rules about the statement as a whole: parallel workers, JIT, planning time,
and trigger time (foreign keys without an index on the referencing side)."""

from __future__ import annotations

from collections.abc import Iterator

from pgkeel.advisor.plan_rules.base import (
    SIGNIFICANT_MS,
    PlanContext,
    PlanFinding,
    PlanRule,
    human,
)
from pgkeel.report.findings import Severity

__all__ = ["JitOverhead", "ParallelWorkersShort", "PlanningTime", "SlowTrigger"]

#: JIT is reported from 10 % of the execution time, or on any query under 100 ms
#: (proposed; PostgreSQL docs §32.2 "When to JIT?" warns short queries pay for it).
JIT_SHARE = 0.10
JIT_SHORT_MS = 100.0
#: Planning is reported when it exceeds execution and takes at least 10 ms (proposed).
PLANNING_MS = 10.0
#: Triggers are reported from 10 % of the execution time (proposed).
TRIGGER_SHARE = 0.10


class ParallelWorkersShort(PlanRule):
    """Fewer parallel workers started than the plan was built for.

    Why
    ---
    The planner costs a parallel plan for `Workers Planned`; at run time workers come
    from a shared pool (`max_parallel_workers`, `max_worker_processes`), and when it
    is used up fewer start, or none, and the leader does the work the plan shared
    out. The query is then slower than planned. Raise the pool, or lower
    `max_parallel_workers_per_gather` so plans expect what the server can give.

    Bad
    ---
    ```sql
    CREATE TABLE big (id int, v int);
    INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 100000) g;
    ANALYZE big;
    SET parallel_setup_cost = 0;
    SET parallel_tuple_cost = 0;
    SET min_parallel_table_scan_size = 0;
    SET max_parallel_workers_per_gather = 2;
    SET max_parallel_workers = 0;
    SELECT count(*) FROM big WHERE v = 3;
    ```

    Good
    ----
    ```sql
    CREATE TABLE big (id int, v int);
    INSERT INTO big SELECT g, g % 7 FROM generate_series(1, 100000) g;
    ANALYZE big;
    SET parallel_setup_cost = 0;
    SET parallel_tuple_cost = 0;
    SET min_parallel_table_scan_size = 0;
    SET max_parallel_workers_per_gather = 2;
    SET max_parallel_workers = 8;
    SELECT count(*) FROM big WHERE v = 3;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The examples make parallel plans cheap and empty the
    worker pool (`max_parallel_workers = 0`) to show the shape on a small table.

    References
    ----------
    - PostgreSQL docs §15.1 "How Parallel Query Works" and §20.4.6
      `max_parallel_workers`, `max_worker_processes`.
    """

    id = "parallel-workers-short"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/how-parallel-query-works.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            planned = int(node.data.get("Workers Planned", 0) or 0)
            launched = int(node.data.get("Workers Launched", planned) or 0)
            if node.node_type not in ("Gather", "Gather Merge") or launched >= planned or \
                    not ctx.significant(node, inclusive=True):
                continue
            yield self.at(node, f"{node.label} planned {planned} workers and started "
                          f"{launched}: the worker pool (max_parallel_workers, "
                          "max_worker_processes) was used up",
                          saving_ms=node.inclusive_ms * (planned - launched) / (planned + 1))


class JitOverhead(PlanRule):
    """JIT compilation took a large part of the query's time.

    Why
    ---
    JIT compiles expressions to machine code when a plan's cost passes
    `jit_above_cost`. For short queries compiling costs more than it saves: a query
    that runs 20 ms may spend 50 ms in JIT. Reported when JIT takes 10 % or more of
    the execution time, or any JIT in a query under 100 ms. Turn JIT off for OLTP
    roles, or raise `jit_above_cost`.

    Bad
    ---
    ```sql
    CREATE TABLE reading (id int, v int);
    INSERT INTO reading SELECT g, g % 10 FROM generate_series(1, 10000) g;
    ANALYZE reading;
    SET jit = on;
    SET jit_above_cost = 0;
    SET jit_optimize_above_cost = 0;
    SET jit_inline_above_cost = 0;
    SELECT v, sum(id), avg(id) FROM reading GROUP BY v;
    ```

    Good
    ----
    ```sql
    CREATE TABLE reading (id int, v int);
    INSERT INTO reading SELECT g, g % 10 FROM generate_series(1, 10000) g;
    ANALYZE reading;
    SET jit = off;
    SELECT v, sum(id), avg(id) FROM reading GROUP BY v;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE` on a server built with LLVM (`pg_jit_available()`); the
    examples set the JIT thresholds to 0 to provoke it on a small table.

    References
    ----------
    - PostgreSQL docs §32.2 "When to JIT?" and §20.7.4 `jit_above_cost`.
    """

    id = "jit-overhead"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/jit-decision.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        plan = ctx.plan
        if plan.jit_ms is None or plan.execution_ms is None or plan.jit_ms <= 0:
            return
        share = plan.jit_ms / plan.execution_ms if plan.execution_ms else 1.0
        if share < JIT_SHARE and plan.execution_ms >= JIT_SHORT_MS:
            return
        yield self.at(None, f"JIT compiled {plan.jit_functions} functions in "
                      f"{plan.jit_ms:,.1f} ms, {share:.0%} of the {plan.execution_ms:,.1f} ms "
                      "execution; turn JIT off for this workload or raise jit_above_cost",
                      fix="SET jit = off;", saving_ms=plan.jit_ms)


class PlanningTime(PlanRule):
    """Planning took longer than executing the query.

    Why
    ---
    Every execution of an unprepared statement is planned again. When planning
    takes longer than running (at least 10 ms), a prepared statement (which most
    drivers use for parameterised queries) or fewer joined tables or partitions
    saves the difference on every call.

    Bad
    ---
    ```sql
    DO $$ BEGIN FOR i IN 1..10 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i);
    END LOOP; END $$;
    SET join_collapse_limit = 12;
    SET from_collapse_limit = 12;
    SET geqo = off;
    SELECT * FROM t1 JOIN t2 ON t1.id = t2.id JOIN t3 ON t2.id = t3.id
        JOIN t4 ON t3.id = t4.id JOIN t5 ON t4.id = t5.id JOIN t6 ON t5.id = t6.id
        JOIN t7 ON t6.id = t7.id JOIN t8 ON t7.id = t8.id JOIN t9 ON t8.id = t9.id
        JOIN t10 ON t9.id = t10.id;
    ```

    Good
    ----
    ```sql
    DO $$ BEGIN FOR i IN 1..10 LOOP
        EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i);
    END LOOP; END $$;
    SET join_collapse_limit = 1;
    SELECT * FROM t1 JOIN t2 ON t1.id = t2.id JOIN t3 ON t2.id = t3.id
        JOIN t4 ON t3.id = t4.id JOIN t5 ON t4.id = t5.id JOIN t6 ON t5.id = t6.id
        JOIN t7 ON t6.id = t7.id JOIN t8 ON t7.id = t8.id JOIN t9 ON t8.id = t9.id
        JOIN t10 ON t9.id = t10.id;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The Bad example plans a 10-way join of distinct tables
    exhaustively (GEQO off; PostgreSQL 18 would remove self-joins); the Good one
    keeps the join order as written (`join_collapse_limit = 1`).

    References
    ----------
    - PostgreSQL docs §14.3 "Controlling the Planner with Explicit JOIN Clauses",
      PREPARE, and §14.1.2 (Planning Time).
    """

    id = "planning-time"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/explicit-joins.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        plan = ctx.plan
        if plan.planning_ms is None or plan.execution_ms is None:
            return
        if plan.planning_ms < PLANNING_MS or plan.planning_ms <= plan.execution_ms:
            return
        yield self.at(None, f"planning took {plan.planning_ms:,.1f} ms, execution "
                      f"{plan.execution_ms:,.1f} ms: prepare the statement (or join fewer "
                      "tables or partitions) so the plan is reused",
                      saving_ms=plan.planning_ms - plan.execution_ms)


class SlowTrigger(PlanRule):
    """Triggers, typically foreign-key checks, took a large part of a write's time.

    Why
    ---
    Deleting or updating a referenced row makes PostgreSQL look for referencing rows
    in every table with a foreign key to it. Without an index on the referencing
    columns, each check reads the whole referencing table, once per row written.
    Reported when a trigger takes 10 % or more of the execution time and at least
    5 ms, unless it checks a foreign key an index serves; for a foreign key whose
    referencing columns lead no index, the fix is that index.

    Bad
    ---
    ```sql
    CREATE TABLE author (id int PRIMARY KEY);
    CREATE TABLE book (id int PRIMARY KEY, author_id int REFERENCES author);
    INSERT INTO author SELECT generate_series(1, 2000);
    INSERT INTO book SELECT g, 1000 + g % 1000 FROM generate_series(1, 20000) g;
    ANALYZE author;
    ANALYZE book;
    DELETE FROM author WHERE id <= 200;
    ```

    Good
    ----
    ```sql
    CREATE TABLE author (id int PRIMARY KEY);
    CREATE TABLE book (id int PRIMARY KEY, author_id int REFERENCES author);
    INSERT INTO author SELECT generate_series(1, 2000);
    INSERT INTO book SELECT g, 1000 + g % 1000 FROM generate_series(1, 20000) g;
    CREATE INDEX ON book (author_id);
    ANALYZE author;
    ANALYZE book;
    DELETE FROM author WHERE id <= 200;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE` of the write (`--allow-writes`; it is rolled back).

    References
    ----------
    - PostgreSQL docs §5.5.5 "Foreign Keys" ("it is often a good idea to index the
      referencing columns too") and §14.1.2 (Trigger times).
    - splinter `unindexed_foreign_keys`; pgMustard's trigger-time tip.
    """

    id = "slow-trigger"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        plan = ctx.plan
        if not plan.execution_ms:
            return
        for trigger in plan.triggers:
            share = trigger.time_ms / plan.execution_ms
            key = ctx.foreign_keys.get(trigger.constraint or "")
            # A foreign key check served by an index costs what it must; only a
            # missing index (or a trigger of the user's own) is worth a finding.
            if share < TRIGGER_SHARE or trigger.time_ms < SIGNIFICANT_MS or \
                    (key is not None and key.indexed):
                continue
            message = (f"trigger {trigger.name} on {trigger.relation} ran {human(trigger.calls)} "
                       f"times for {trigger.time_ms:,.1f} ms, {share:.0%} of the execution")
            fix = None
            if key is not None and not key.indexed:
                message += (f"; foreign key {trigger.constraint} has no index on "
                            f"{key.referencing} ({', '.join(key.columns)})")
                fix = (f"CREATE INDEX CONCURRENTLY ON {key.referencing} "
                       f"({', '.join(key.columns)});")
            yield self.at(None, message, fix=fix, saving_ms=trigger.time_ms * 0.9,
                          object=key.referencing if key else trigger.relation)
