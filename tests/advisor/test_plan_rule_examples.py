"""Each plan rule's docstring examples, explained with ANALYZE on a real server.

The Bad script's last statement must produce the rule's finding, the Good one's must
not. Setup statements run in schema ``bad`` or ``good`` of a fresh database, with
the session's settings reset in between.
"""

from __future__ import annotations

import pglast
import psycopg
import pytest

from pgkeel.advisor.explain import ExplainResult, explain, plan_rules
from pgkeel.advisor.plan_rules import PlanRule
from pgkeel.testing import TestDatabase


def run_example(conn: psycopg.Connection[tuple[object, ...]], script: str,
                rule_id: str) -> ExplainResult:
    """Run every statement of ``script`` but the last, then explain the last."""
    *setup, query = pglast.split(script)
    # The test clusters run with synchronous_commit off; then VACUUM cannot set the
    # visibility map of just-committed rows until the WAL writer flushes (hint bits wait
    # for the commit record), which servers at the default setting never see.
    conn.execute("SET synchronous_commit = on")
    for statement in setup:
        conn.execute(statement)
    return explain(conn, query, analyze=True, allow_writes=True, rules=[rule_id])


def needs(conn: psycopg.Connection[tuple[object, ...]], rule: type[PlanRule]) -> None:
    """Skip where the server cannot show the plan shape the rule is about."""
    if rule.id == "jit-overhead":
        row = conn.execute("SELECT pg_jit_available()").fetchone()
        if not (row and row[0]):
            pytest.skip("this PostgreSQL build has no JIT (llvmjit is not installed)")


@pytest.mark.parametrize("rule", plan_rules(), ids=lambda r: r.id)
def test_bad_example_is_found_and_good_is_not(rule: type[PlanRule],
                                              pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        needs(conn, rule)
        conn.execute("CREATE SCHEMA bad; CREATE SCHEMA good")
        conn.execute("SET search_path = bad")
        bad = run_example(conn, rule.example("Bad"), rule.id)
        conn.execute("RESET ALL")
        conn.execute("SET search_path = good")
        good = run_example(conn, rule.example("Good"), rule.id)
    assert [f.finding.rule for f in bad.findings].count(rule.id) >= 1, (
        f"{rule.id}: the Bad example was not found")
    assert not good.findings, (
        f"{rule.id}: the Good example was found: {[f.finding.message for f in good.findings]}")
    for found in bad.findings:
        assert found.finding.message and found.finding.docs == rule.docs_url
        assert found.node_id is None or any(n.id == found.node_id for n in bad.plan.nodes())
