"""Reading the statement given to explain: one plannable statement, writes, parameters."""

from __future__ import annotations

import pytest

from pgkeel.advisor.plan import parse_plan
from pgkeel.advisor.statement import ParamColumn, read_statement


@pytest.mark.parametrize(("sql", "writes"), [
    ("SELECT * FROM t", False),
    ("WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone", True),
    ("SELECT * FROM t FOR UPDATE SKIP LOCKED", True),
    ("SELECT * FROM (SELECT * FROM t FOR SHARE) s", True),
    ("INSERT INTO t VALUES (1)", True),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", True),
])
def test_writes_are_recognised(sql: str, writes: bool) -> None:
    assert read_statement(sql).writes is writes


def test_text_is_the_statement_alone_even_after_non_ascii() -> None:
    read = read_statement("-- Übersicht\n  SELECT 'é' AS x, $1::int FROM t WHERE a = $2 ;  ")
    assert read.text == "SELECT 'é' AS x, $1::int FROM t WHERE a = $2"
    assert read.params == 2 and read.kind == "select"


def test_parameters_and_their_columns() -> None:
    read = read_statement("SELECT * FROM s.t AS x JOIN u ON u.id = x.u_id "
                          "WHERE x.a = $1 AND $2 < u.b AND u.c IN ($3, $4) AND x.d = $5 + 1")
    assert read.param_columns == (ParamColumn(1, "s", "t", "a"), ParamColumn(2, None, "u", "b"),
                                  ParamColumn(3, None, "u", "c"), ParamColumn(4, None, "u", "c"))
    assert read.params == 5  # $5 is in arithmetic: no column to sample from


def test_a_plan_document_must_have_a_plan() -> None:
    with pytest.raises(ValueError, match="no 'Plan'"):
        parse_plan([{"Planning Time": 1.0}])
