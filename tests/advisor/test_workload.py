"""Workload files: split by pglast, weights from comments, errors name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkeel.advisor.statements import Statement
from pgkeel.advisor.workload import from_statements, parse_workload, read_workload_file
from pgkeel.errors import UsageError


def test_weights_lines_and_labels(tmp_path: Path) -> None:
    path = tmp_path / "w.sql"
    path.write_text("-- the orders page\n-- weight: 40\nSELECT 1 FROM t WHERE a = ';';\n"
                    "\nSELECT 2;\n-- weight: 2.5\nUPDATE t SET a = 1 WHERE b = 2;\n")
    queries = read_workload_file(path)
    assert [(q.sql, q.weight, q.line) for q in queries] == [
        ("SELECT 1 FROM t WHERE a = ';'", 40.0, 3),
        ("SELECT 2", 1.0, 5),
        ("UPDATE t SET a = 1 WHERE b = 2", 2.5, 7)]
    assert queries[0].label == f"{path}:3"


@pytest.mark.parametrize(("text", "message"), [
    ("SELECT 1;\nCREATE TABLE t (a int);", "w.sql:2: CreateStmt is not a query"),
    ("SELECT 1;\n-- weight: 0\nSELECT 2;", "w.sql:3: weight must be positive"),
    ("SELECT 1;\nSELEC 2;", "w.sql:2: syntax error at or near"),
    ("-- nothing here\n", "w.sql: no queries"),
])
def test_refusals_name_the_place(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_workload(text, source="w.sql")
    assert message in str(caught.value)
    assert caught.value.hint


def test_syntax_error_names_its_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse_workload("SELECT 1;\n\nSELEC 2;", source="w.sql")
    assert caught.value.line == 3


def _statement(query: str, calls: int) -> Statement:
    return Statement(queryid=7, query=query, calls=calls, total_ms=1.0, exec_ms=1.0,
                     plan_ms=0.0, rows=1, shared_hit=1, shared_read=0, share=0.5,
                     user="app")


def test_statements_keep_queries_with_calls_as_weights() -> None:
    found = from_statements([
        _statement("SELECT * FROM t WHERE a = $1", 30),
        _statement("EXPLAIN SELECT 1", 5),
        _statement("SET search_path = public", 9),
        _statement("SELECT * FROM t WHERE a = $1 AND b IN ($2, $3", 4),  # truncated
    ])
    assert [(q.sql, q.weight, q.label) for q in found] == [
        ("SELECT * FROM t WHERE a = $1", 30.0, "queryid 7")]
