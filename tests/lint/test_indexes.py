"""duplicate-index, redundant-index, invalid-index, unused-index on real databases.

Each test builds true and false cases side by side and asserts the exact set of
objects found; fixes are proved with ``prove_fixes`` (applied with psql, re-checked,
every value read back the same).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from rule_helpers import findings, prove_fixes

from pgkeel.lint import lint_database
from pgkeel.lint.context import CheckConfig
from pgkeel.testing import TestDatabase

DUPLICATES = """
CREATE TABLE t (id bigint PRIMARY KEY, a int, b text, c text);
INSERT INTO t SELECT g, g % 10, 'b' || g, 'c' || g FROM generate_series(1, 50) AS g;
CREATE INDEX t_a_idx ON t (a);
CREATE INDEX t_a_idx2 ON t (a);                         -- duplicate of t_a_idx
CREATE INDEX t_a_desc ON t (a DESC);                    -- another sort order: not
CREATE INDEX t_a_part ON t (a) WHERE a > 0;             -- partial: not
CREATE INDEX t_b_pattern ON t (b text_pattern_ops);     -- another opclass: not
CREATE INDEX t_b_idx ON t (b);
CREATE INDEX t_b_c ON t (b COLLATE "C");                -- another collation: not
CREATE INDEX t_b_hash ON t USING hash (b);              -- another method: not
CREATE INDEX t_lower_b ON t (lower(b));
CREATE INDEX t_lower_b2 ON t (lower(b));                -- same expression: duplicate
CREATE INDEX t_upper_b ON t (upper(b));                 -- another expression: not
CREATE UNIQUE INDEX t_id_copy ON t (id);                -- duplicate of the primary key
-- same definition in another schema and on another table: never compared
CREATE SCHEMA other;
CREATE TABLE other.t (id bigint PRIMARY KEY, a int);
CREATE INDEX t_a_idx ON other.t (a);
CREATE TABLE u (id bigint PRIMARY KEY, a int);
CREATE INDEX u_a_idx ON u (a);
"""


def test_duplicate_index(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "duplicate-index", DUPLICATES)
    assert set(found) == {"public.t.t_a_idx2", "public.t.t_lower_b2", "public.t.t_id_copy"}
    assert found["public.t.t_a_idx2"].severity == "warning"
    assert "repeats t_a_idx " in found["public.t.t_a_idx2"].message
    # the primary key's index is kept, the plain copy is dropped
    assert found["public.t.t_id_copy"].fix == 'DROP INDEX CONCURRENTLY "public"."t_id_copy";'
    assert found["public.t.t_id_copy"].fix_down == (
        "CREATE UNIQUE INDEX CONCURRENTLY t_id_copy ON public.t USING btree (id);")


def test_duplicate_index_fix(pg_database: TestDatabase, tmp_path: Path) -> None:
    prove_fixes(pg_database, "duplicate-index", DUPLICATES, tmp_path)


def test_duplicate_index_held_by_constraints_and_foreign_keys(pg_database: TestDatabase
                                                              ) -> None:
    found = findings(pg_database, "duplicate-index", """
        CREATE TABLE p (id bigint PRIMARY KEY, code text NOT NULL,
                        CONSTRAINT p_code_key UNIQUE (code));
        CREATE UNIQUE INDEX p_code_uidx ON p (code);
        CREATE TABLE c (id bigint PRIMARY KEY, code text REFERENCES p (code));
        CREATE TABLE twice (x int, CONSTRAINT twice_x1 UNIQUE (x));
        ALTER TABLE twice ADD CONSTRAINT twice_x2 UNIQUE (x);
    """)
    # the key of c references one of the two: the kept one is the constraint's, and
    # the plain unique index is dropped unless the key depends on it
    assert set(found) == {"public.p.p_code_uidx", "public.twice.twice_x2"}
    held = found["public.twice.twice_x2"]
    assert held.fix is None and "backs the constraint twice_x2" in held.message


def test_duplicate_index_referenced_by_a_foreign_key(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("""
            CREATE TABLE p (id bigint PRIMARY KEY, code text NOT NULL);
            CREATE UNIQUE INDEX p_code_a ON p (code);
            CREATE TABLE c (id bigint PRIMARY KEY, code text REFERENCES p (code));
            CREATE UNIQUE INDEX p_code_b ON p (code);
        """)
        dep = conn.execute("SELECT conindid::regclass::text FROM pg_constraint "
                           "WHERE conname = 'c_code_fkey'").fetchone()
    assert dep == ("p_code_a",)
    found = findings(pg_database, "duplicate-index")
    assert set(found) == {"public.p.p_code_b"}  # p_code_a is kept: the key depends on it


REDUNDANT = """
CREATE TABLE t (id bigint PRIMARY KEY, a int, b int, c text);
INSERT INTO t SELECT g, g % 10, g % 7, 'c' || g FROM generate_series(1, 50) AS g;
CREATE INDEX t_a_idx ON t (a);                       -- prefix of t_a_b_idx: redundant
CREATE INDEX t_a_b_idx ON t (a, b);
CREATE INDEX t_b_a_idx ON t (b, a);                  -- another leading column: not
CREATE INDEX t_id_idx ON t (id);                     -- equal to the primary key: redundant
CREATE UNIQUE INDEX t_c_key ON t (c);
CREATE UNIQUE INDEX t_c_id_key ON t (c, id);         -- unique: never redundant
CREATE INDEX t_b_part ON t (b) WHERE b > 3;          -- another predicate: not
CREATE INDEX t_a_hash ON t USING hash (a);           -- another method: not
CREATE INDEX t_b_inc ON t (b) INCLUDE (c);           -- c is in no longer index: not
"""


def test_redundant_index(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "redundant-index", REDUNDANT)
    assert set(found) == {"public.t.t_a_idx", "public.t.t_id_idx"}
    assert found["public.t.t_a_idx"].severity == "info"
    assert "covered by index t_a_b_idx" in found["public.t.t_a_idx"].message
    assert "covered by the primary key t_pkey" in found["public.t.t_id_idx"].message


def test_redundant_index_fix(pg_database: TestDatabase, tmp_path: Path) -> None:
    prove_fixes(pg_database, "redundant-index", REDUNDANT, tmp_path)


def test_redundant_index_partitioned(pg_database: TestDatabase, tmp_path: Path) -> None:
    schema = """
        CREATE TABLE ev (id bigint, at date, kind text) PARTITION BY RANGE (at);
        CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE INDEX ev_kind_idx ON ev (kind);
        CREATE INDEX ev_kind_at_idx ON ev (kind, at);
        INSERT INTO ev VALUES (1, '2024-05-01', 'a');
    """
    # reported on the parent only; the partition's attached copies go with it
    found = prove_fixes(pg_database, "redundant-index", schema, tmp_path)
    assert set(found) == {"public.ev.ev_kind_idx"}
    assert (found["public.ev.ev_kind_idx"].fix or "").startswith(
        'DROP INDEX "public"."ev_kind_idx";')


_PARTITIONED = """
    CREATE TABLE ev (id bigint, at date, kind text) PARTITION BY RANGE (at);
    CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE INDEX ev_kind_idx ON ev (kind);
    INSERT INTO ev VALUES (1, '2024-05-01', 'a'), (2, '2025-05-01', 'b');
"""


def test_duplicate_index_partitioned(pg_database: TestDatabase, tmp_path: Path) -> None:
    # the parent's copy once: its partitions' attached copies go with it
    found = prove_fixes(pg_database, "duplicate-index",
                        _PARTITIONED + "CREATE INDEX ev_kind_idx2 ON ev (kind);", tmp_path)
    assert set(found) == {"public.ev.ev_kind_idx2"}


def test_duplicate_index_partitions_own_copy(pg_database: TestDatabase, tmp_path: Path
                                             ) -> None:
    # A partition's own copy of an attached index. (Proved apart from a duplicate on
    # the parent: re-creating that one in a rollback would attach this copy to it,
    # PostgreSQL's CREATE INDEX on a partitioned table adopting a matching index.)
    found = prove_fixes(pg_database, "duplicate-index",
                        _PARTITIONED + "CREATE INDEX ev_2025_own ON ev_2025 (kind);", tmp_path)
    assert set(found) == {"public.ev_2025.ev_2025_own"}


INVALID = """
CREATE TABLE t (id bigint PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'v' || (g % 3) FROM generate_series(1, 30) AS g;
CREATE INDEX t_v_idx ON t (v);
CREATE INDEX t_ok_idx ON t (id, v);
UPDATE pg_index SET indisvalid = false WHERE indexrelid = 't_v_idx'::regclass;
"""


def test_invalid_index(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "invalid-index", INVALID, tmp_path)
    assert set(found) == {"public.t.t_v_idx"}
    assert found["public.t.t_v_idx"].fix == 'REINDEX INDEX CONCURRENTLY "public"."t_v_idx";'
    with pg_database.connect() as conn:
        assert conn.execute("SELECT indisvalid FROM pg_index "
                            "WHERE indexrelid = 't_v_idx'::regclass").fetchone() == (True,)


def test_invalid_index_left_by_a_failed_concurrent_build(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id bigint PRIMARY KEY, v text)")
        conn.execute("INSERT INTO t VALUES (1, 'x'), (2, 'x')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY t_v_key ON t (v)")
    found = findings(pg_database, "invalid-index")
    assert set(found) == {"public.t.t_v_key"}
    assert "fails again while duplicate values remain" in (found["public.t.t_v_key"].fix or "")


UNUSED = """
CREATE TABLE big (id bigint PRIMARY KEY, kind text NOT NULL, code text NOT NULL,
                  parent_id bigint REFERENCES big (id), n int);
INSERT INTO big SELECT g, 'k' || g % 7, 'c' || g, NULL, g FROM generate_series(1, 12000) AS g;
CREATE INDEX big_kind_idx ON big (kind);             -- never scanned: unused
CREATE INDEX big_n_idx ON big (n);                   -- scanned below
CREATE UNIQUE INDEX big_code_key ON big (code);      -- unique: exempt
CREATE INDEX big_parent_idx ON big (parent_id);      -- serves the foreign key: exempt
CREATE INDEX big_kind_code_idx ON big (kind, code);   -- makes big_kind_idx redundant
CREATE INDEX big_kind_code_idx2 ON big (kind, code);  -- a duplicate of it
CREATE TABLE small (id bigint PRIMARY KEY, kind text);
INSERT INTO small SELECT g, 'k' FROM generate_series(1, 100) AS g;
CREATE INDEX small_kind_idx ON small (kind);         -- table too small to matter
ANALYZE big; ANALYZE small;
"""


def _scan_n(db: TestDatabase) -> None:
    # A session of its own: its statistics are flushed when it ends.
    with db.connect() as conn:
        conn.execute("SET enable_seqscan = off")
        conn.execute("SELECT count(*) FROM big WHERE n = 5").fetchone()


def test_unused_index(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(UNUSED)
    _scan_n(pg_database)
    found = findings(pg_database, "unused-index")
    # big_kind_idx is redundant and big_kind_code_idx2 a duplicate: those rules drop
    # them, so unused-index reports only the kept (kind, code) index
    assert set(found) == {"public.big.big_kind_code_idx"}
    assert set(findings(pg_database, "redundant-index")) == {"public.big.big_kind_idx"}
    with pg_database.connect() as conn:
        conn.execute("DROP INDEX big_kind_code_idx, big_kind_code_idx2")
    found = findings(pg_database, "unused-index")
    assert set(found) == {"public.big.big_kind_idx"}
    message = found["public.big.big_kind_idx"].message
    assert "scanned 0 times since this database's statistics began (never reset)" in message
    assert found["public.big.big_kind_idx"].fix_down == (
        "CREATE INDEX CONCURRENTLY big_kind_idx ON public.big USING btree (kind);")
    # max_scans raises the bar: an index scanned once is then reported too
    with pg_database.connect() as conn:
        config = CheckConfig(options={"unused-index": {"max_scans": 5}})
        loose = {f.object for f in lint_database(conn, ["unused-index"], config)[1]}
    assert loose == {"public.big.big_kind_idx", "public.big.big_n_idx"}
    prove_fixes(pg_database, "unused-index", "", tmp_path)


def test_unused_index_statistics_too_young(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(UNUSED)
        conn.execute("SELECT pg_stat_reset()")
    found = findings(pg_database, "unused-index")
    assert list(found) == [pg_database.name]
    message = found[pg_database.name].message
    assert "too young to judge index use (min_stats_age_days = 7)" in message
    assert "minutes ago" in message and found[pg_database.name].fix is None
    with pg_database.connect() as conn:
        config = CheckConfig(options={"unused-index": {"min_stats_age_days": 0}})
        found_now = {f.object for f in lint_database(conn, ["unused-index"], config)[1]}
    assert "public.big.big_kind_code_idx" in found_now


def test_unindexed_foreign_key_covered_by_composite_keys(pg_database: TestDatabase) -> None:
    # A key whose columns lead a composite primary key or unique index is indexed.
    found = findings(pg_database, "unindexed-foreign-key", """
        CREATE TABLE orders (id bigint PRIMARY KEY);
        CREATE TABLE products (id bigint PRIMARY KEY);
        CREATE TABLE order_lines (order_id bigint REFERENCES orders,
                                  product_id bigint REFERENCES products,
                                  qty int, PRIMARY KEY (order_id, product_id));
        CREATE TABLE tags (id bigint PRIMARY KEY);
        CREATE TABLE product_tags (id bigint PRIMARY KEY,
                                   product_id bigint REFERENCES products,
                                   tag_id bigint REFERENCES tags,
                                   UNIQUE (tag_id, product_id));
    """)
    # order_lines.order_id and product_tags.tag_id lead a key; the second columns do not
    assert set(found) == {"public.order_lines.order_lines_product_id_fkey",
                          "public.product_tags.product_tags_product_id_fkey"}
