"""float-for-money and timestamp-without-time-zone judge on the rows; fixes keep every value.

Every fix runs with psql in a session whose time zone is not UTC (prove_fixes), and
its fix_down brings the former type and values back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_helpers import checked, column_text, run_script
from rule_helpers import findings, prove_fixes

from pgkeel.catalog import snapshot
from pgkeel.lint import lint_database, lint_snapshot
from pgkeel.testing import TestDatabase

MONEY = """
CREATE TABLE orders (
  id int PRIMARY KEY,
  freight real,                 -- Northwind: money, found
  unit_price real,
  tax_rate double precision,    -- 8.875: a rate, not money
  vat_rate real, discount_pct real, price_ratio float8,
  total double precision,
  tax_amount double precision
);
INSERT INTO orders VALUES
  (1, 32.38, 14.5, 8.875, 0.2, 5, 1.25, 19.99, 1.775),
  (2, 11.61, 9.8, 8.875, 0.07, 0, 0.5, 1234567.5, 0.125),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""


def test_float_for_money_rates_are_not_money(pg_database: TestDatabase,
                                             tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "float-for-money", MONEY, tmp_path)
    assert set(found) == {"public.orders.freight", "public.orders.unit_price",
                          "public.orders.total", "public.orders.tax_amount"}
    # the type is chosen from the data: 8.875-like values keep their third decimal
    assert "numeric(13, 3)" in (found["public.orders.tax_amount"].fix or "")
    assert "numeric(12, 2)" in (found["public.orders.total"].fix or "")
    assert found["public.orders.total"].message.endswith(
        "numeric(12, 2) holds each of its 2 values exactly (read from the data)")
    fix = found["public.orders.freight"].fix or ""
    assert fix.startswith('DO $pgkeel$ BEGIN LOCK TABLE "public"."orders" IN ACCESS EXCLUSIVE '
                          "MODE; IF EXISTS (SELECT FROM")
    assert 'TYPE numeric(12, 2) USING "freight"::numeric(12, 2)' in fix
    assert "view" not in fix.lower()  # no view reads it: no word about views
    rows = column_text(pg_database, "SELECT tax_amount::text, total::text FROM orders "
                                    "WHERE id = 1")
    assert rows == [("1.775", "19.99")]
    # and back: fix_down restores the float type, value for value
    run_script(pg_database, "\n".join(f.fix_down or "" for f in found.values()), tmp_path)
    assert column_text(pg_database, "SELECT freight::text, format_type(atttypid, atttypmod) "
                                    "FROM orders, pg_attribute WHERE attrelid = 'orders'"
                                    "::regclass AND attname = 'freight' AND id = 1"
                       ) == [("32.38", "real")]
    assert set(findings(pg_database, "float-for-money")) == set(found)


def test_float_for_money_says_what_would_be_lost(pg_database: TestDatabase) -> None:
    found = checked(pg_database, "float-for-money", """
        CREATE TABLE pay (id int PRIMARY KEY, amount double precision, fee real);
        INSERT INTO pay VALUES (1, 0.1::float8 + 0.2::float8, 'Infinity'), (2, 3, 1);
    """)
    amount = found["public.pay.amount"]
    assert amount.fix is None
    assert amount.message.endswith(
        "no fix: 1 of its 2 values (e.g. 0.30000000000000004) carry more digits than "
        "numeric(12, 2) keeps and would change: decide what they should be first")
    assert found["public.pay.fee"].fix is None
    assert "1 of its values are infinite" in found["public.pay.fee"].message


def test_float_for_money_without_data_gives_no_fix(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE pay (id int PRIMARY KEY, price real)")
        snap = snapshot(conn)
    (finding,) = lint_snapshot(snap, select=["float-for-money"])
    assert finding.fix is None
    assert "no fix: the data was not read" in finding.message


def test_float_for_money_guard_refuses_a_changed_row(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    # a row written between the check and the fix: the fix refuses, nothing changes
    found = checked(pg_database, "float-for-money", """
        CREATE TABLE pay (id int PRIMARY KEY, price double precision);
        INSERT INTO pay VALUES (1, 2.5);
    """)
    with pg_database.connect() as conn:
        conn.execute("INSERT INTO pay VALUES (2, 1.125)")
    with pytest.raises(RuntimeError, match="a value of column price would change"):
        run_script(pg_database, "BEGIN;\n" + (found["public.pay.price"].fix or "")
                   + "\nCOMMIT;", tmp_path)
    assert column_text(pg_database, "SELECT price::text FROM pay ORDER BY id") == [
        ("2.5",), ("1.125",)]


VIEWS = """
CREATE TABLE invoice (id int PRIMARY KEY, total double precision, fee real, note text,
                      issued timestamp);
CREATE VIEW open_invoices WITH (security_barrier = true) AS
    SELECT id, total, issued FROM invoice WHERE note IS NULL;
COMMENT ON VIEW open_invoices IS 'unpaid; don''t drop';
COMMENT ON COLUMN open_invoices.total IS 'gross';
CREATE VIEW big_open AS SELECT id FROM open_invoices WHERE total > 100;
CREATE VIEW notes_only AS SELECT note FROM invoice;
CREATE MATERIALIZED VIEW "Fee Report" AS SELECT sum(fee) AS fees FROM invoice;
CREATE UNIQUE INDEX fee_report_fees ON "Fee Report" (fees);
CREATE ROLE viewer_{db};
GRANT SELECT ON open_invoices, big_open TO viewer_{db};
CREATE TABLE other (id int PRIMARY KEY, total double precision);
INSERT INTO invoice VALUES (1, 150.25, 2.5, NULL, '2024-05-01 10:00'),
                           (2, 20, 1, 'paid', '2024-05-02 11:30');
INSERT INTO other VALUES (1, 7.5);
REFRESH MATERIALIZED VIEW "Fee Report";
"""

VIEW_FACTS = """
SELECT c.relname, pg_get_viewdef(c.oid), c.reloptions, c.relacl::text,
       obj_description(c.oid, 'pg_class'), col_description(c.oid, 1)
FROM pg_class c
WHERE c.relkind IN ('v', 'm') AND c.relnamespace = 'public'::regnamespace ORDER BY 1
"""


def _view_facts(db: TestDatabase) -> list[tuple[object, ...]]:
    with db.connect() as conn:
        return list(conn.execute(VIEW_FACTS).fetchall())


def test_type_change_recreates_the_views_that_read_the_column(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    role = f"viewer_{pg_database.name}"
    schema = VIEWS.format(db=pg_database.name)
    try:
        before = findings(pg_database, "float-for-money", schema)
        facts = _view_facts(pg_database)
        found = prove_fixes(pg_database, "float-for-money", "", tmp_path)
        assert set(found) == set(before) == {"public.invoice.total", "public.invoice.fee",
                                             "public.other.total"}
        total = found["public.invoice.total"].fix or ""
        # exactly the views that read invoice.total, dependants included, and only them
        assert "-- public.open_invoices, public.big_open read this column" in total
        assert total.index('DROP VIEW "public"."big_open"') < total.index(
            'DROP VIEW "public"."open_invoices"')
        assert "notes_only" not in total and "Fee Report" not in total
        assert 'DROP MATERIALIZED VIEW "public"."Fee Report"' in (
            found["public.invoice.fee"].fix or "")
        assert "view" not in (found["public.other.total"].fix or "").lower()
        with pg_database.connect() as conn:
            assert conn.execute('SELECT fees::text FROM "Fee Report"').fetchone() == ("3.50",)
            assert conn.execute("SELECT id FROM big_open").fetchall() == [(1,)]
            assert conn.execute("SELECT indexrelid::regclass::text FROM pg_index WHERE "
                                "indrelid = '\"Fee Report\"'::regclass").fetchall() == [
                ("fee_report_fees",)]
        # names, options, grants and comments are back (definitions name new types)
        after = _view_facts(pg_database)
        assert [f[:1] + f[2:] for f in after] == [f[:1] + f[2:] for f in facts]
        opened = after[3]
        assert opened[0] == "open_invoices" and opened[2] == ["security_barrier=true"]
        assert f"{role}=r/" in str(opened[3])
        assert opened[4:] == ("unpaid; don't drop", None)
        with pg_database.connect() as conn:
            assert conn.execute("SELECT col_description('open_invoices'::regclass, 2)"
                                ).fetchone() == ("gross",)
        # fix_down: the float types back, the views re-created again
        run_script(pg_database, "\n".join(f.fix_down or "" for f in found.values()),
                   tmp_path)
        assert _view_facts(pg_database) == facts
    finally:
        with pg_database.connect() as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


TIMES = """
CREATE TABLE person (
  id int PRIMARY KEY,
  birth_date timestamp,          -- every value midnight: a date
  seen_at timestamp(3),          -- instants
  "Zoned" timestamptz
);
INSERT INTO person VALUES
  (1, '1962-02-18', '2024-03-31 01:30:00.123', now()),
  (2, '1990-07-01', '2024-10-27 02:30', now()),
  (3, '2001-12-31', '2023-01-01 00:00', now()),
  (4, NULL, NULL, NULL);
"""


def test_timestamp_midnight_is_a_date(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        zone = conn.execute("SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'"
                            ).fetchone()
    found = prove_fixes(pg_database, "timestamp-without-time-zone", TIMES, tmp_path)
    assert set(found) == {"public.person.birth_date", "public.person.seen_at"}
    birth = found["public.person.birth_date"]
    assert birth.message == ("column public.person.birth_date is timestamp without time "
                             "zone but every one of its 3 values is midnight (read from "
                             "the data): it holds dates")
    assert 'TYPE date USING "birth_date"::date' in (birth.fix or "")
    seen = found["public.person.seen_at"].fix or ""
    assert zone is not None
    # the zone is named in the conversion, never taken from the session
    assert (f'TYPE timestamp(3) with time zone USING "seen_at" AT TIME ZONE \'{zone[0]}\''
            in seen)
    # in a non-UTC session, 1962-02-18 stayed 1962-02-18 (prove_fixes compared it)
    assert column_text(pg_database, "SELECT birth_date::text FROM person WHERE id = 1"
                       ) == [("1962-02-18",)]
    run_script(pg_database, "\n".join(f.fix_down or "" for f in found.values()), tmp_path)
    assert column_text(pg_database, "SELECT birth_date::text, seen_at::text FROM person "
                                    "WHERE id = 1") == [("1962-02-18 00:00:00",
                                                         "2024-03-31 01:30:00.123")]


def test_timestamp_zone_from_config_and_server(pg_database: TestDatabase,
                                              tmp_path: Path) -> None:
    schema = """
        CREATE TABLE ev (id int PRIMARY KEY, at timestamp);
        INSERT INTO ev VALUES (1, '2024-03-31 01:30'), (2, '2024-07-01 12:00');
    """
    found = checked(pg_database, "timestamp-without-time-zone", schema,
                    time_zone="Europe/Berlin")
    fix = found["public.ev.at"].fix or ""
    assert "USING \"at\" AT TIME ZONE 'Europe/Berlin'" in fix
    assert "the fix reads its 2 values as Europe/Berlin time" in found["public.ev.at"].message
    run_script(pg_database, fix, tmp_path, zone="Asia/Tokyo")
    # 01:30 Berlin wall clock (CET, UTC+1) is 00:30 UTC, whatever the session's zone
    assert column_text(pg_database, "SELECT at::text FROM ev ORDER BY id") == [
        ("2024-03-31 00:30:00+00",), ("2024-07-01 10:00:00+00",)]
    run_script(pg_database, found["public.ev.at"].fix_down or "", tmp_path, zone="UTC")
    assert column_text(pg_database, "SELECT at::text FROM ev ORDER BY id") == [
        ("2024-03-31 01:30:00",), ("2024-07-01 12:00:00",)]
    # the server's zone (what a new session gets), not the checking session's SET
    with pg_database.connect() as conn:
        conn.execute(f"ALTER DATABASE {pg_database.name} SET TimeZone = 'Asia/Kolkata'")
    with pg_database.connect() as conn:
        conn.execute("SET TimeZone = 'Pacific/Auckland'")
        fix = lint_database(conn, select=["timestamp-without-time-zone"])[1][0].fix or ""
    assert "AT TIME ZONE 'Asia/Kolkata'" in fix


def test_timestamp_daylight_saving_gap_has_no_fix(pg_database: TestDatabase) -> None:
    found = checked(pg_database, "timestamp-without-time-zone", """
        CREATE TABLE ev (id int PRIMARY KEY, at timestamp);
        INSERT INTO ev VALUES (1, '2024-03-31 02:30'), (2, '2024-07-01 12:00');
    """, time_zone="Europe/Berlin")
    at = found["public.ev.at"]
    assert at.fix is None
    assert at.message.endswith(
        "no fix: 1 of its values do not exist in time zone Europe/Berlin (a daylight-saving "
        "gap) and would move; correct them or choose the zone they were written in "
        "(option time_zone)")


def test_timestamp_without_data_or_with_arrays(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE ev (id int PRIMARY KEY, at timestamp, seen timestamp[])")
        snap = snapshot(conn)
    found = {f.object: f for f in lint_snapshot(snap, select=["timestamp-without-time-zone"])}
    assert found["public.ev.at"].fix is None
    assert "no fix: the data was not read" in found["public.ev.at"].message
    assert found["public.ev.seen"].fix is None
    assert "convert each element naming its zone" in found["public.ev.seen"].message


def test_type_change_on_a_partitioned_table_with_a_view_on_a_partition(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "float-for-money", """
        CREATE TABLE sale (at date NOT NULL, price double precision) PARTITION BY RANGE (at);
        CREATE TABLE sale_2024 PARTITION OF sale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE VIEW sale_2024_prices AS SELECT price FROM sale_2024;
        INSERT INTO sale VALUES ('2024-02-01', 9.99), ('2024-03-01', 120);
    """, tmp_path)
    assert "-- public.sale_2024_prices read this column" in (found["public.sale.price"].fix or "")
    with pg_database.connect() as conn:
        assert conn.execute("SELECT price::text FROM sale_2024_prices ORDER BY 1").fetchall() == [
            ("120.00",), ("9.99",)]
