"""fill() on schemas holding every constraint kind: every table gets rows, every
constraint holds (checked with separate SQL), the same seed gives the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from fill_helpers import broken_constraints, empty_tables

from pgkeel.migrations import runner
from pgkeel.seed import CycleError, fill
from pgkeel.testing import TestDatabase

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN percent AS numeric(5,2) CHECK (VALUE >= 0 AND VALUE <= 100);
CREATE DOMAIN short_code AS varchar(6) CHECK (char_length(VALUE) >= 3);
CREATE TABLE customer (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email varchar(40) NOT NULL UNIQUE,
    first_name text NOT NULL,
    code short_code NOT NULL,
    feeling mood NOT NULL,
    discount percent NOT NULL,
    age int NOT NULL CHECK (age BETWEEN 18 AND 99),
    tier text NOT NULL CHECK (tier IN ('gold', 'silver')),
    tags text[] NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (created_at <= updated_at)
);
CREATE TABLE product (
    sku char(8) PRIMARY KEY,
    price numeric(8,2) NOT NULL CHECK (price > 0),
    stock smallint NOT NULL CHECK (stock >= 0 AND stock < 500),
    active boolean NOT NULL,
    name text NOT NULL,
    price_with_tax numeric GENERATED ALWAYS AS (price * 1.2) STORED
);
CREATE UNIQUE INDEX product_one_active_name ON product (name) WHERE active;
CREATE TABLE orders (
    id serial PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer,
    note text CHECK (note IS NULL OR note <> ''),
    placed date NOT NULL CHECK (placed > '2021-01-01')
);
CREATE TABLE order_line (
    order_id int NOT NULL REFERENCES orders,
    line smallint NOT NULL CHECK (line > 0),
    sku char(8) NOT NULL REFERENCES product,
    qty int NOT NULL CHECK (qty * 2 < 40),
    PRIMARY KEY (order_id, line)
);
CREATE TABLE shipment (
    order_id int NOT NULL,
    line smallint NOT NULL,
    carrier text NOT NULL,
    FOREIGN KEY (order_id, line) REFERENCES order_line,
    UNIQUE NULLS NOT DISTINCT (order_id, line, carrier)
);
-- a cycle of nullable keys, and a self-reference
CREATE TABLE team (id int PRIMARY KEY, lead_id int, name text NOT NULL);
CREATE TABLE member (id int PRIMARY KEY, team_id int NOT NULL REFERENCES team,
                     mentor_id int REFERENCES member);
ALTER TABLE team ADD FOREIGN KEY (lead_id) REFERENCES member;
-- a cycle through a deferrable NOT NULL key
CREATE TABLE egg (id int PRIMARY KEY, chicken_id int NOT NULL);
CREATE TABLE chicken (id int PRIMARY KEY, egg_id int NOT NULL REFERENCES egg);
ALTER TABLE egg ADD FOREIGN KEY (chicken_id) REFERENCES chicken DEFERRABLE;
-- partitions: rows must fall inside each bound
CREATE TABLE reading (at timestamptz NOT NULL, value real NOT NULL) PARTITION BY RANGE (at);
CREATE TABLE reading_2022 PARTITION OF reading FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
CREATE TABLE reading_2023 PARTITION OF reading FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE region (code text NOT NULL, label text) PARTITION BY LIST (code);
CREATE TABLE region_eu PARTITION OF region FOR VALUES IN ('fr', 'de');
CREATE TABLE region_us PARTITION OF region FOR VALUES IN ('ca');
"""


def _dump(db: TestDatabase) -> dict[str, list[tuple[object, ...]]]:
    with db.connect() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
                for t in ("customer", "product", "order_line", "member", "reading")}


@pytest.mark.parametrize("rows", [3, 300])
def test_every_constraint_kind_holds(pg_database: TestDatabase, rows: int) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        report = fill(conn, rows=rows, seed=7)
        assert empty_tables(conn) == []
        assert broken_constraints(conn) == []
        stored = conn.execute("SELECT count(*), count(DISTINCT email) FROM customer").fetchone()
        assert stored == (rows, rows)
        assert conn.execute("SELECT count(*) FROM team WHERE lead_id IS NULL").fetchone() == (0,)
        shares = conn.execute("SELECT count(*) FROM reading_2023").fetchone()
    assert shares == (rows,)
    assert report.rows("public.customer") == rows
    assert report.rows("public.region_us") == rows == report.rows("public.region_eu")
    assert set(report.deferred) >= {"egg_chicken_id_fkey on public.egg",
                                    "member_mentor_id_fkey on public.member"}
    # 3 rows of region_us all hold 'ca'; shipment's three-column key stays unique
    assert all("region" not in p for p in report.problems), report.problems


def test_same_seed_same_rows(pg_cluster, pg_database: TestDatabase) -> None:
    other = TestDatabase(pg_cluster.create_database(), "", pg_cluster)
    other = TestDatabase(other.name, pg_cluster.url(other.name), pg_cluster)
    try:
        for db in (pg_database, other):
            with db.connect() as conn:
                conn.execute(SCHEMA)
                fill(conn, rows=20, seed=3)
        assert _dump(pg_database) == _dump(other)
    finally:
        pg_cluster.drop_database(other.name)


def test_table_selection_brings_its_parents(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
        report = fill(conn, rows=4, tables=["order_line"])
        assert {t.table for t in report.tables} == {
            "public.customer", "public.orders", "public.product", "public.order_line"}
        assert conn.execute("SELECT count(*) FROM team").fetchone() == (0,)
        again = fill(conn, rows=4, tables=["public.order_line"])  # new keys avoid the old
        assert again.rows("public.order_line") == 4
        assert broken_constraints(conn) == []


def test_not_null_cycle_is_refused_naming_both_keys(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE a (id int PRIMARY KEY, b_id int NOT NULL);"
                     "CREATE TABLE b (id int PRIMARY KEY, a_id int NOT NULL REFERENCES a);"
                     "ALTER TABLE a ADD CONSTRAINT a_needs_b FOREIGN KEY (b_id) REFERENCES b;")
        with pytest.raises(CycleError) as caught:
            fill(conn)
        assert "a_needs_b on public.a" in str(caught.value)
        assert "b_a_id_fkey on public.b" in str(caught.value)
        assert caught.value.hint and "DEFERRABLE" in caught.value.hint


def test_check_it_cannot_meet_is_named(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE odd (n int NOT NULL CHECK (n % 2 = 1 AND n < 10 AND n > 0),"
                     " s text NOT NULL CHECK (s ~ '^[0-9]{5}$' AND s LIKE 'x%'))")
        report = fill(conn, rows=5)
        assert broken_constraints(conn) == []
        assert ("CHECK odd_s_check on public.odd: 5 generated rows could not satisfy it "
                "and were left out") in report.problems
        assert report.rows("public.odd") == 0


def test_regex_checks_are_met(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE zips (zip varchar(5) PRIMARY KEY CHECK (zip ~ '^[0-9]{5}$'),"
                     " code varchar(12) NOT NULL CHECK (code ~* '^[a-z]{2}-\\d+$'),"
                     " mail text NOT NULL CHECK (mail ~ '@'))")
        report = fill(conn, rows=50, seed=4)
        assert report.problems == () and report.rows("public.zips") == 50
        assert broken_constraints(conn) == []


def test_migration_history_is_never_filled(pg_database: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "20240101_t.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id int PRIMARY KEY, name text NOT NULL);\n\n"
        "-- migrate:down\nDROP TABLE t;\n")
    runner.up(pg_database.url, tmp_path)
    with pg_database.connect() as conn:
        before = conn.execute("SELECT count(*) FROM pgkeel.migrations").fetchone()
        report = fill(conn, rows=5)
        assert [t.table for t in report.tables] == ["public.t"]
        assert conn.execute("SELECT count(*) FROM pgkeel.migrations").fetchone() == before


def test_a_table_the_server_refuses_is_named_and_the_others_filled(
        pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE fine (id int PRIMARY KEY);"
                     "CREATE TABLE grumpy (id int PRIMARY KEY, fine_id int REFERENCES fine);"
                     "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                     "$$BEGIN RAISE EXCEPTION 'no rows here'; END$$;"
                     "CREATE TRIGGER refuse BEFORE INSERT ON grumpy "
                     "FOR EACH ROW EXECUTE FUNCTION refuse()")
        report = fill(conn, rows=3)
        assert report.problems == (
            "public.grumpy: the server refused the generated rows: no rows here",)
        assert (report.rows("public.fine"), report.rows("public.grumpy")) == (3, 0)
        assert conn.execute("SELECT count(*) FROM fine").fetchone() == (3,)


def test_unique_keys_out_of_values_are_said_once(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE dice (face int PRIMARY KEY CHECK (face BETWEEN 1 AND 6))")
        report = fill(conn, rows=10)
        assert report.rows("public.dice") == 6
        assert report.problems == (
            "public.dice: 4 rows left out, their unique keys ran out of values (dice_pkey)",)
