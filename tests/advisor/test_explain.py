"""The EXPLAIN runner on real servers: safety, parameters, and fixes that work."""

from __future__ import annotations

import pglast
import psycopg
import pytest
from psycopg import errors as pgerrors
from test_plan_rule_examples import needs, run_example

from pgkeel.advisor.explain import explain
from pgkeel.advisor.plan_rules.memory import work_mem_for
from pgkeel.errors import Refused, UsageError
from pgkeel.lint import registry
from pgkeel.testing import TestDatabase

_TABLE = ("CREATE TABLE item (id int PRIMARY KEY, owner int NOT NULL, note text);"
          "CREATE SEQUENCE item_seq;"
          "INSERT INTO item SELECT g, g % 50, 'n' || g FROM generate_series(1, 20000) g;"
          "ANALYZE item")


def _conn(db: TestDatabase) -> psycopg.Connection[tuple[object, ...]]:
    conn = db.connect()
    conn.execute(_TABLE)
    return conn


def test_analyze_of_a_write_is_refused_without_allow_writes(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        with pytest.raises(Refused) as caught:
            explain(conn, "DELETE FROM item WHERE owner = 1", analyze=True)
        assert caught.value.exit_code == 4
        assert "sequences advance" in str(caught.value)
        # SELECT ... FOR UPDATE takes row locks: a write for this purpose.
        with pytest.raises(Refused):
            explain(conn, "SELECT * FROM item WHERE id = 1 FOR UPDATE", analyze=True)
        # Without ANALYZE nothing runs: planning a DELETE is harmless.
        assert explain(conn, "DELETE FROM item WHERE owner = 1").mode == "costs"


def test_analyzed_write_is_rolled_back_and_says_so(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        result = explain(conn, "DELETE FROM item WHERE owner = 1 AND nextval('item_seq') > 0",
                         analyze=True, allow_writes=True)
        assert result.plan.analyzed and result.warnings
        assert "sequences advance" in result.warnings[0]
        assert conn.execute("SELECT count(*) FROM item WHERE owner = 1").fetchone() == (400,)
        # The rolled-back run still advanced the sequence, as the warning says.
        assert conn.execute("SELECT last_value > 1 FROM item_seq").fetchone() == (True,)


def test_select_runs_read_only(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        conn.execute("CREATE FUNCTION sneaky() RETURNS int LANGUAGE sql VOLATILE AS "
                     "$$ DELETE FROM item RETURNING 1 $$")
        with pytest.raises(pgerrors.ReadOnlySqlTransaction):
            explain(conn, "SELECT sneaky()", analyze=True)
        assert conn.execute("SELECT count(*) FROM item").fetchone() == (20000,)


def test_timeouts_hold_for_the_run_only(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        with pytest.raises(pgerrors.QueryCanceled):
            explain(conn, "SELECT pg_sleep(5)", analyze=True, statement_timeout_ms=200)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("0",)
        assert conn.execute("SHOW lock_timeout").fetchone() == ("0",)
        # Another session holds a lock: lock_timeout gives up instead of waiting.
        with pg_database.connect(autocommit=False) as other:
            other.execute("LOCK TABLE item IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(pgerrors.LockNotAvailable):
                explain(conn, "SELECT count(*) FROM item", analyze=True, lock_timeout_ms=100)
            other.rollback()


def test_given_and_sampled_parameters(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        given = explain(conn, "SELECT * FROM item WHERE owner = $1 AND id > $2",
                        analyze=True, params=["7", "100"])
        assert given.param_source == "given" and given.params == ("7", "100")
        assert given.plan.root.actual_rows == 398
        sampled = explain(conn, "SELECT * FROM item i WHERE i.owner = $1", analyze=True)
        assert sampled.param_source == "sampled"
        # The sampled value is a real one: the executed plan found its rows.
        value = int(sampled.params[0])
        assert 0 <= value < 50 and sampled.plan.root.actual_rows == 400
        with pytest.raises(UsageError, match="2 parameter"):
            explain(conn, "SELECT * FROM item WHERE owner = $1 AND id > $2", params=["1"])
        with pytest.raises(UsageError, match=r"\$1 is not compared"):
            explain(conn, "SELECT $1::int + 1", analyze=True)


@pytest.mark.pg(">= 16")
def test_generic_plan_without_values_on_16(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        result = explain(conn, "SELECT * FROM item WHERE owner = $1")
    assert result.mode == "generic" and result.param_source == "generic"
    assert not result.plan.analyzed and result.plan.root.relation == "public.item"


@pytest.mark.pg("< 16")
def test_generic_plan_before_16_uses_a_prepared_statement(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        result = explain(conn, "SELECT * FROM item WHERE id = $1::int + 1")
        assert result.mode == "generic" and not result.plan.analyzed
        # The prepared statement is gone afterwards.
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_prepared_statement_is_dropped_after_a_failed_run(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        with pytest.raises(pgerrors.QueryCanceled):
            explain(conn, "SELECT pg_sleep(5) FROM item WHERE id = $1", analyze=True,
                    params=["1"], statement_timeout_ms=200)
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
        assert explain(conn, "SELECT * FROM item WHERE id = $1", params=["1"]).plan


@pytest.mark.parametrize("sql", ["BEGIN", "VACUUM item", "SELECT 1; SELECT 2",
                                 "SELECT * INTO copy FROM item", "CREATE TABLE x ()"])
def test_refuses_what_is_not_one_plannable_statement(pg_database: TestDatabase,
                                                     sql: str) -> None:
    with pg_database.connect() as conn, pytest.raises(UsageError):
        explain(conn, sql)


def test_parallel_times_are_wall_clock(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        conn.execute("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;"
                     "SET min_parallel_table_scan_size = 0")
        result = explain(conn, "SELECT count(*) FROM item WHERE note LIKE '%7%'", analyze=True)
    nodes = result.plan.nodes()
    assert any(n.node_type == "Gather" for n in nodes)
    execution = result.plan.execution_ms or 0
    assert all(n.exclusive_ms >= 0 for n in nodes)
    # Per-worker loops are not added up as if they ran one after the other.
    assert sum(n.exclusive_ms for n in nodes) <= execution * 1.05 + 0.5


def test_hash_join_and_hash_aggregate_spills_are_found(pg_database: TestDatabase) -> None:
    with _conn(pg_database) as conn:
        # Serial plans: a parallel hash reports its batches per process.
        conn.execute("SET work_mem = '64kB'; SET enable_sort = off;"
                     "SET enable_mergejoin = off; SET enable_nestloop = off;"
                     "SET max_parallel_workers_per_gather = 0")
        join = explain(conn, "SELECT count(*) FROM item a JOIN item b ON a.note = b.note",
                       analyze=True, rules=["spill-to-disk"])
        agg = explain(conn, "SELECT note, count(*) FROM item GROUP BY note", analyze=True,
                      rules=["spill-to-disk"])
        assert any("hash spilled" in f.finding.message for f in join.findings), join.plan.raw
        assert any("hash aggregate spilled" in f.finding.message for f in agg.findings), (
            agg.plan.raw)
        for result in (join, agg):
            fix = result.findings[0].finding.fix
            assert fix is not None
            conn.execute(fix)
            again = explain(conn, result.statement.text, analyze=True, rules=["spill-to-disk"])
            assert not again.findings, again.findings


def test_work_mem_suggestion() -> None:
    assert work_mem_for(10) == "4MB"
    assert work_mem_for(1808) == "8MB"
    assert work_mem_for(100_000) == "512MB"


_FIXED = [r.id for r in registry.all_rules() if r.id in {
    "row-misestimate", "stale-statistics", "index-only-heap-fetches", "non-sargable-predicate",
    "spill-to-disk", "temp-io", "top-n-sort", "slow-trigger", "jit-overhead"}]


@pytest.mark.parametrize("rule_id", _FIXED)
def test_the_printed_fix_removes_the_finding(pg_database: TestDatabase, rule_id: str) -> None:
    rule = registry.get(rule_id)
    with pg_database.connect() as conn:
        needs(conn, rule)  # type: ignore[arg-type]
        before = run_example(conn, rule.example("Bad"), rule_id)
        fixes = [f.finding.fix for f in before.findings if f.finding.fix]
        assert fixes, f"{rule_id}: no fix printed"
        for statement in pglast.split(fixes[0]):
            conn.execute(statement)
        after = explain(conn, before.statement.text, analyze=True, allow_writes=True,
                        rules=[rule_id])
    assert not after.findings, [f.finding.message for f in after.findings]
