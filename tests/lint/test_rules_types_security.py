"""timestamp-without-time-zone, float-for-money, rls-disabled-tenant-table.

True and false cases side by side in one real database; the exact set of objects
found is asserted, and the suggested fixes are applied with psql and re-checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rule_helpers import apply_fixes, findings

from pgkeel.lint.rules.types import name_tokens
from pgkeel.testing import TestDatabase

TIMESTAMPS = """
CREATE DOMAIN local_ts AS timestamp;
CREATE TABLE t (
  plain timestamp, precise timestamp(3), zoned timestamptz, day date, clock time,
  via_domain local_ts, many timestamp[]
);
CREATE TABLE ev (at timestamp, id int) PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def test_timestamp_without_time_zone(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "timestamp-without-time-zone", TIMESTAMPS)
    assert set(found) == {"public.t.plain", "public.t.precise", "public.t.via_domain",
                          "public.t.many", "public.ev.at"}
    assert "timestamp(3) without time zone" in found["public.t.precise"].message
    # PostgreSQL cannot alter a partition-key column: the fix says what to do instead
    key_fix = found.pop("public.ev.at").fix or ""
    assert key_fix.startswith("-- at is in the partition key of public.ev")
    with pg_database.connect() as conn:
        conn.execute("INSERT INTO t (plain, many) VALUES ('2024-03-31 01:30',"
                     " ARRAY['2024-03-31 01:30'::timestamp])")
    apply_fixes(pg_database, found.values(), tmp_path)
    assert set(findings(pg_database, "timestamp-without-time-zone")) == {"public.ev.at"}
    with pg_database.connect() as conn:  # the stored wall-clock time was read as UTC
        conn.execute("SET timezone = 'UTC'")
        row = conn.execute("SELECT plain::text, many::text FROM t").fetchone()
    assert row == ("2024-03-31 01:30:00+00", '{"2024-03-31 01:30:00+00"}')


def test_timestamp_without_time_zone_array(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "timestamp-without-time-zone", """
        CREATE TABLE log (id int, seen timestamp[], seen_tz timestamptz[], "Times" timestamp(0)[]);
    """)
    assert set(found) == {"public.log.seen", 'public.log."Times"'}
    assert found["public.log.seen"].message.startswith(
        "column public.log.seen is timestamp without time zone[]")
    assert 'ALTER COLUMN "seen" TYPE timestamptz[]; -- rewrites the table' in (
        found["public.log.seen"].fix or "")
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "timestamp-without-time-zone") == {}


@pytest.mark.parametrize(
    ("name", "words"),
    [("unitPrice_usd", ("unit", "price", "usd")), ("TotalAmount", ("total", "amount")),
     ("tax2", ("tax", "2")), ("HTTPFee", ("http", "fee"))],
)
def test_name_tokens(name: str, words: tuple[str, ...]) -> None:
    assert name_tokens(name) == words


MONEY = """
CREATE TABLE m (
  price double precision, "unitPrice" real, total_costs float8, taxes real,
  order_amount_cents double precision,
  weight double precision, rate double precision, priceless_flag boolean,
  exact_price numeric(10, 2), credit_score real, "Amount" numeric
);
CREATE TABLE parted (at date, fee real) PARTITION BY RANGE (at);
CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def test_float_for_money(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "float-for-money", MONEY)
    assert set(found) == {"public.m.price", 'public.m."unitPrice"', "public.m.total_costs",
                          "public.m.taxes", "public.m.order_amount_cents", "public.parted.fee"}
    assert found["public.m.price"].severity == "error"
    with pg_database.connect() as conn:
        conn.execute("INSERT INTO m (price) VALUES (0.1::float8 + 0.2::float8)")
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "float-for-money") == {}
    with pg_database.connect() as conn:
        row = conn.execute("SELECT price = 0.3 FROM m").fetchone()
    assert row == (True,)


VIEWS = """
CREATE TABLE invoice (id int PRIMARY KEY, total double precision, fee real,
                      at timestamp);
CREATE VIEW open_invoices AS SELECT id, total, at FROM invoice;
CREATE MATERIALIZED VIEW "Fee Report" AS SELECT sum(fee) AS fees FROM invoice;
CREATE TABLE other (id int, total double precision);
"""


def test_float_for_money_view_depends(pg_database: TestDatabase, tmp_path: Path) -> None:
    # PostgreSQL refuses to alter the type of a column a view uses; the fix says so
    # and names the views that use it.
    found = findings(pg_database, "float-for-money", VIEWS)
    assert set(found) == {"public.invoice.total", "public.invoice.fee", "public.other.total"}
    total = found["public.invoice.total"].fix or ""
    assert total.splitlines()[1] == (
        '-- fails with "cannot alter type of a column used by a view or rule" while a view '
        "uses the column (here, by their definitions: public.open_invoices): drop those "
        "views, alter, and recreate them in one transaction")
    assert 'public."Fee Report"' in (found["public.invoice.fee"].fix or "")
    assert "here, by their definitions" not in (found["public.other.total"].fix or "")
    with pytest.raises(RuntimeError, match="cannot alter type of a column used by a view"):
        apply_fixes(pg_database, [found["public.invoice.total"]], tmp_path)
    apply_fixes(pg_database, [found["public.other.total"]], tmp_path)
    at = findings(pg_database, "timestamp-without-time-zone")["public.invoice.at"]
    assert "public.open_invoices" in (at.fix or "")


TENANTS = """
CREATE TABLE organization_members (organization_id bigint, user_id uuid);
CREATE TABLE open_table (id int, organization_id bigint);
CREATE TABLE sealed (id int, organization_id bigint);
ALTER TABLE sealed ENABLE ROW LEVEL SECURITY;
CREATE TABLE guarded (id int, organization_id bigint);
ALTER TABLE guarded ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON guarded USING (organization_id = 1);
CREATE TABLE not_tenant (id int, org bigint);
CREATE TABLE ev (at date, organization_id bigint) PARTITION BY RANGE (at);
ALTER TABLE ev ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON ev USING (organization_id = 1);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def test_rls_disabled_tenant_table(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "rls-disabled-tenant-table", TENANTS)
    # a partition has its own RLS switch: querying it directly skips the parent's policy
    assert set(found) == {"public.organization_members", "public.open_table",
                          "public.sealed", "public.ev_2024"}
    assert "row-level security is disabled" in found["public.open_table"].message
    assert "enabled but no policy" in found["public.sealed"].message
    assert (found["public.sealed"].fix or "").startswith('CREATE POLICY "tenant_access" ON '
                                                         '"public"."sealed"')
    assert found["public.sealed"].severity == "error"


def test_rls_fix_applies_where_auth_uid_exists(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    # The skill's pattern calls Supabase's auth.uid(); stand one in to run the fix.
    found = findings(pg_database, "rls-disabled-tenant-table", TENANTS + """
        CREATE SCHEMA auth;
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid';
    """)
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "rls-disabled-tenant-table") == {}


RESTRICTIVE = """
CREATE TABLE organization_members (organization_id bigint, user_id uuid);
ALTER TABLE organization_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY member ON organization_members USING (true);
-- restrictive policies alone grant nothing: like no policy at all
CREATE TABLE only_restrictive (id int, organization_id bigint);
ALTER TABLE only_restrictive ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_access ON only_restrictive AS RESTRICTIVE USING (organization_id = 1);
-- a restrictive UPDATE policy with no permissive one for UPDATE: updates are denied
CREATE TABLE dead_update (id int, organization_id bigint);
ALTER TABLE dead_update ENABLE ROW LEVEL SECURITY;
CREATE POLICY reader ON dead_update FOR SELECT USING (organization_id = 1);
CREATE POLICY guard ON dead_update AS RESTRICTIVE FOR UPDATE USING (organization_id = 1);
-- a restrictive FOR ALL guard beside a read-only grant: a design, not reported
CREATE TABLE read_only (id int, organization_id bigint);
ALTER TABLE read_only ENABLE ROW LEVEL SECURITY;
CREATE POLICY reader ON read_only FOR SELECT USING (true);
CREATE POLICY guard ON read_only AS RESTRICTIVE USING (organization_id = 1);
CREATE SCHEMA auth;
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid';
"""


def test_rls_disabled_tenant_table_only_restrictive(pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    found = findings(pg_database, "rls-disabled-tenant-table", RESTRICTIVE)
    assert set(found) == {"public.only_restrictive", "public.dead_update"}
    # what the messages claim, seen by a role that does not own the tables
    role = f"reader_{pg_database.name}"
    with pg_database.connect() as conn:
        conn.execute(f"CREATE ROLE {role}")
        try:
            conn.execute(f"GRANT SELECT, UPDATE ON only_restrictive, dead_update TO {role};"
                         "INSERT INTO only_restrictive VALUES (1, 1);"
                         "INSERT INTO dead_update VALUES (1, 1);"
                         f"SET ROLE {role}")
            assert conn.execute("SELECT count(*) FROM only_restrictive").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM dead_update").fetchone() == (1,)
            assert conn.execute("UPDATE dead_update SET id = 2").rowcount == 0
        finally:
            conn.execute(f"RESET ROLE; DROP OWNED BY {role}; DROP ROLE {role}")
    assert found["public.only_restrictive"].message == (
        "table public.only_restrictive has row-level security enabled but only restrictive "
        "policies (tenant_access): they narrow what a permissive policy grants, and none "
        "does, so every role but its owner sees no rows")
    # the policy name the fix would use is taken
    assert (found["public.only_restrictive"].fix or "").startswith(
        'CREATE POLICY "tenant_access_1" ON "public"."only_restrictive" FOR ALL USING')
    assert "no permissive policy grants UPDATE" in found["public.dead_update"].message
    assert (found["public.dead_update"].fix or "").startswith(
        'CREATE POLICY "tenant_update" ON "public"."dead_update" FOR UPDATE USING')
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "rls-disabled-tenant-table") == {}
