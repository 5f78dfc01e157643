"""The advisor benchmark's deterministic variant: scored by the planner's costs.

benchmarks/advisor/run.py scores the advisor at full scale by costs and by measured
times; this runs the cost score at 20 % of that scale (about 320 k rows), where the
same best set holds, and requires what the issue asks: a score of at least 0.95, no
more indexes than the best set, and no query made costlier.
"""

from __future__ import annotations

from advisor_helpers import dataset, score
from psycopg import sql

from pgkeel.advisor.indexes import advise_indexes
from pgkeel.advisor.workload import read_workload_file
from pgkeel.testing import TestDatabase

SCALE = 0.2


def test_cost_score(pg_database: TestDatabase) -> None:
    workload = read_workload_file(dataset.WORKLOAD)
    with pg_database.connect() as conn:
        # ANALYZE samples 300 x the statistics target rows at random (docs, ANALYZE):
        # at 1000 it reads every row of these tables, so the costs, and the score, are
        # the same on every run.
        conn.execute(sql.SQL("ALTER DATABASE {} SET default_statistics_target = 1000")
                     .format(sql.Identifier(pg_database.name)))
    with pg_database.connect() as conn:
        dataset.build(conn, SCALE)
        best = dataset.best_set(conn)
    advice = advise_indexes(pg_database.url, workload)
    mine = [s.create for s in advice.suggestions]
    with pg_database.connect() as conn:
        none = score.costs(conn, workload)
        with score.built(conn, best):
            best_costs = score.costs(conn, workload)
        with score.built(conn, mine):
            mine_costs = score.costs(conn, workload)
    value = score.score(score.weighted(workload, none), score.weighted(workload, best_costs),
                        score.weighted(workload, mine_costs))
    assert value >= 0.95, (value, mine)
    assert len(mine) <= len(best)
    worse = [q.label for q, b, a in zip(workload, none, mine_costs, strict=True)
             if a > b * 1.01]
    assert worse == []
