"""pg_stat_statements read by the columns the view has: current and old extension versions."""

from __future__ import annotations

import psycopg
import pytest

from pgkeel.advisor.statements import (
    StatementsUnavailable,
    read_statements,
    statements_status,
)
from pgkeel.cluster import THROWAWAY_SETTINGS, throwaway
from pgkeel.connect import connect
from pgkeel.testing import TestCluster, TestDatabase

_SETUP = ("CREATE TABLE item (id int PRIMARY KEY, owner int NOT NULL, note text);"
          "INSERT INTO item SELECT g, g % 50, repeat('x', 20) FROM generate_series(1, 5000) g")


def _workload(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for i in range(40):
        conn.execute("SELECT note FROM item WHERE id = %s", (i,))
    for _ in range(3):
        conn.execute("SELECT count(*) FROM item a JOIN item b ON a.owner = b.id")


def _columns(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute("SELECT attname FROM pg_attribute"
                        " WHERE attrelid = 'pg_stat_statements'::regclass AND attnum > 0")
    return {str(r[0]) for r in rows}


@pytest.mark.parametrize("version", [None, "1.7"], ids=["current", "ext-1.7"])
def test_reads_current_and_old_extension(pg_database: TestDatabase, version: str | None) -> None:
    with pg_database.connect() as conn:
        conn.execute(_SETUP)
        if version is None:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        else:
            conn.execute(f"CREATE EXTENSION pg_stat_statements VERSION '{version}'")
        columns = _columns(conn)
        # The point of the test: the old view really has the old column names.
        assert ("total_time" in columns) == (version == "1.7")
        assert ("total_exec_time" in columns) == (version is None)
        _workload(conn)
        by_calls = read_statements(conn, order="calls")
        by_total = read_statements(conn, order="total", limit=2)
        by_mean = read_statements(conn, order="mean")
    lookup = next(s for s in by_calls if "WHERE id = $1" in s.query)
    assert lookup.calls == 40
    assert lookup.rows == 39  # id 0 does not exist
    assert lookup.total_ms > 0
    assert lookup.mean_ms == pytest.approx(lookup.total_ms / 40)
    assert lookup.shared_hit + lookup.shared_read > 0
    assert lookup.cache_hit_ratio is not None and 0 <= lookup.cache_hit_ratio <= 1
    assert [s.calls for s in by_calls] == sorted((s.calls for s in by_calls), reverse=True)
    assert len(by_total) == 2
    assert [s.total_ms for s in by_total] == sorted((s.total_ms for s in by_total),
                                                    reverse=True)
    join = next(s for s in by_mean if "JOIN" in s.query)
    assert join.calls == 3
    assert by_mean[0].mean_ms >= lookup.mean_ms
    assert sum(s.share for s in by_calls) == pytest.approx(1.0)
    # Only this database's statements: another test's queries never show up here.
    assert all("item" in s.query or "pg_" in s.query or s.query.startswith(("CREATE", "SET",
               "INSERT", "SELECT")) for s in by_calls)


def test_missing_extension_says_create_extension_and_the_step_works(
        pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        status = statements_status(conn)
        assert status.preloaded and status.offered and status.version is None
        assert status.steps == ("CREATE EXTENSION pg_stat_statements",)
        with pytest.raises(StatementsUnavailable) as caught:
            read_statements(conn)
        assert "CREATE EXTENSION pg_stat_statements" in (caught.value.hint or "")
        assert "log_min_duration_statement" in (caught.value.hint or "")
        assert caught.value.exit_code == 3
        for step in status.steps:
            conn.execute(step)
        conn.execute("SELECT 1")
        assert statements_status(conn).usable
        assert any(s.query == "SELECT $1" for s in read_statements(conn))


def test_not_preloaded_says_what_to_set(pg_cluster: TestCluster) -> None:
    settings = {**THROWAWAY_SETTINGS, "shared_preload_libraries": ""}
    with (throwaway(pg_cluster.binaries, prefix="pgkeel-test-", settings=settings) as cluster,
          connect(cluster.url()) as conn):
        conn.execute("CREATE EXTENSION pg_stat_statements")
        status = statements_status(conn)
        assert not status.preloaded and status.version is not None
        assert status.steps == (
            "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'",
            "restart PostgreSQL")
        with pytest.raises(StatementsUnavailable):
            read_statements(conn)
        # The printed statement is valid: the server accepts it and records one library.
        conn.execute(status.steps[0])
        row = conn.execute("SELECT setting, error FROM pg_file_settings"
                           " WHERE name = 'shared_preload_libraries'"
                           " AND sourcefile LIKE '%%auto.conf'").fetchone()
    # "could not be applied" until the restart the next step names; no parse error.
    assert row == ("pg_stat_statements", "setting could not be applied")
