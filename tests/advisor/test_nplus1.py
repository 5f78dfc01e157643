"""N+1 lookups and OFFSET pagination from pg_stat_statements and from a real server log."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from pgkeel.advisor.keyset import keyset_rewrite
from pgkeel.advisor.nplus1 import any_rewrite, key_lookup, n_plus_one, offset_pagination
from pgkeel.advisor.querylog import n_plus_one_runs, offset_pages, read_log, shapes
from pgkeel.advisor.statements import read_statements
from pgkeel.errors import UsageError
from pgkeel.testing import TestDatabase

SCHEMA = """
CREATE TABLE customer (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE purchase (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customer,
                       total int NOT NULL);
INSERT INTO customer SELECT g, 'c' || g FROM generate_series(1, 300) g;
INSERT INTO purchase SELECT g, g % 300 + 1, g % 97 FROM generate_series(1, 900) g;
ANALYZE customer; ANALYZE purchase;
"""


def _n_plus_one_app(conn: psycopg.Connection[tuple[object, ...]], n: int = 150) -> list[int]:
    """What an ORM's lazy loading does: one query for the parents, one per parent."""
    ids = [int(str(r[0])) for r in conn.execute(
        "SELECT id FROM customer ORDER BY id LIMIT %s", (n,)).fetchall()]
    for customer in ids:
        conn.execute("SELECT id, total FROM purchase WHERE customer_id = %s", (customer,))
    return ids


def test_n_plus_one_from_pg_stat_statements_and_its_fix(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute("CREATE EXTENSION pg_stat_statements")
        ids = _n_plus_one_app(conn)
        for total in range(150):  # many calls, but not by a foreign key: no finding
            conn.execute("SELECT id FROM purchase WHERE total = %s", (total,))
        found = n_plus_one(conn, read_statements(conn))
        assert [f.object for f in found] == ["purchase.customer_id"]
        finding = found[0]
        assert finding.rule == "n-plus-one" and "150 times" in finding.message
        assert "likely after: SELECT id FROM customer" in finding.message
        assert finding.fix == "SELECT id, total FROM purchase WHERE customer_id = ANY($1)"
        # The fix returns, in one statement, exactly the rows of the 150 lookups.
        one_by_one = sorted(row for i in ids for row in conn.execute(
            "SELECT id, total FROM purchase WHERE customer_id = %s", (i,)).fetchall())
        at_once = conn.execute(finding.fix.replace("$1", "%s"), (ids,)).fetchall()
    assert sorted(at_once) == one_by_one and len(one_by_one) == 450


def test_offset_pagination_from_pg_stat_statements(pg_database: TestDatabase) -> None:
    page = "SELECT id, name FROM customer ORDER BY id LIMIT %s OFFSET %s"
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute("CREATE EXTENSION pg_stat_statements")
        for offset in (0, 20, 40):
            conn.execute(page, (20, offset))
        found = offset_pagination(read_statements(conn))
        assert len(found) == 1 and found[0].rule == "offset-pagination"
        fix = found[0].fix
        assert fix == "SELECT id, name FROM customer WHERE id > $2 ORDER BY id LIMIT $1"
        # The keyset page after page 2 is page 3.
        by_offset = conn.execute(page, (20, 40)).fetchall()
        last_of_page_2 = conn.execute(page, (20, 20)).fetchall()[-1][0]
        by_key = conn.execute(fix.replace("$2", "%(last)s").replace("$1", "%(n)s"),
                              {"last": last_of_page_2, "n": 20}).fetchall()
    assert by_key == by_offset


def test_keyset_rewrite_matches_offset_on_a_two_column_order(pg_database: TestDatabase) -> None:
    query = ("SELECT id, total FROM purchase WHERE total < 50 ORDER BY total DESC, id DESC "
             "LIMIT 25 OFFSET 100")
    rewrite = keyset_rewrite(query)
    assert rewrite is not None and rewrite.keys == ("total", "id") and rewrite.offset == "100"
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        expected = conn.execute(query).fetchall()
        before = conn.execute(query.replace("LIMIT 25 OFFSET 100", "LIMIT 100")).fetchall()
        last_id, last_total = before[-1]
        got = conn.execute(rewrite.sql.replace("$1", "%s").replace("$2", "%s"),
                           (last_total, last_id)).fetchall()
    assert got == expected and len(got) == 25


@pytest.mark.parametrize("query", [
    "SELECT * FROM t ORDER BY a DESC, b LIMIT 5 OFFSET 10",  # mixed directions
    "SELECT * FROM t ORDER BY lower(a) LIMIT 5 OFFSET 10",  # not a plain column
    "SELECT * FROM t ORDER BY a NULLS FIRST LIMIT 5 OFFSET 10",
    "SELECT * FROM t LIMIT 5 OFFSET 10",  # no order: nothing to seek on
    "SELECT * FROM t ORDER BY a LIMIT 5",  # no offset
])
def test_no_keyset_rewrite_where_it_would_be_wrong(query: str) -> None:
    assert keyset_rewrite(query) is None


def test_key_lookup_shapes() -> None:
    assert key_lookup("SELECT * FROM s.t WHERE $1 = t.a AND b > 3") is not None
    assert key_lookup("SELECT * FROM t JOIN u ON u.id = t.u WHERE t.a = $1") is None
    assert key_lookup("SELECT * FROM t WHERE a = 1") is None
    assert any_rewrite("SELECT * FROM t WHERE $1 = a") == "SELECT * FROM t WHERE a = ANY($1)"


def _logged_session(pg_database: TestDatabase) -> tuple[Path, int]:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        conn.execute("SET log_min_duration_statement = 0")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()
        _n_plus_one_app(conn, 12)
        conn.execute("SELECT id FROM customer WHERE name = 'it''s\n  two lines'")
        for offset in (0, 2000, 4000):
            conn.execute("SELECT id, name FROM customer ORDER BY id LIMIT 20 OFFSET "
                         f"{offset}")
        conn.execute("SELECT id FROM purchase ORDER BY id LIMIT %s OFFSET %s", (10, 1500))
    assert pid is not None
    return pg_database.cluster.cluster.log_file, int(str(pid[0]))


def test_n_plus_one_and_offsets_from_a_real_server_log(pg_database: TestDatabase) -> None:
    path, pid = _logged_session(pg_database)
    mine = [s for s in read_log(path) if s.session == str(pid)]
    lookups = [s for s in mine if "customer_id" in s.sql]
    assert len(lookups) == 12
    assert {s.params for s in lookups} == {(str(i),) for i in range(1, 13)}
    assert any(s.sql == "SELECT id FROM customer WHERE name = 'it''s\n  two lines'"
               for s in mine)
    runs = n_plus_one_runs(mine, path)
    assert len(runs) == 1
    run = runs[0]
    assert run.file == str(path) and run.line == lookups[0].line
    assert "12 times in a row" in run.message and "after SELECT id FROM customer" in run.message
    assert run.fix == "SELECT id, total FROM purchase WHERE customer_id = ANY($1)"
    offsets = sorted(offset_pages(mine, path), key=lambda f: f.line or 0)
    assert [f.rule for f in offsets] == ["offset-pagination"] * 2
    assert "skips 4,000 rows" in offsets[0].message
    assert offsets[0].fix == "SELECT id, name FROM customer WHERE id > $1 ORDER BY id LIMIT 20"
    assert "skips 1,500 rows" in offsets[1].message  # the OFFSET of a bound parameter
    top = shapes(mine)
    assert any(s.calls == 12 and "customer_id" in s.sql for s in top)


def test_a_file_without_statements_is_a_usage_error(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text("2026-12-07 03:50:09.786 UTC [16121] LOG:  database system is ready\n")
    with pytest.raises(UsageError, match="no logged statements"):
        read_log(log)
