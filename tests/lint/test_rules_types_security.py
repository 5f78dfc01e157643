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
    found = findings(pg_database, "timestamp-without-time-zone", TIMESTAMPS + """
        INSERT INTO t (plain, precise, via_domain) VALUES
            ('2024-03-31 01:30', '2024-03-31 01:30:00.123', '2024-01-01 12:00');
    """)
    assert set(found) == {"public.t.plain", "public.t.precise", "public.t.via_domain",
                          "public.t.many", "public.ev.at"}
    assert "timestamp(3) without time zone" in found["public.t.precise"].message
    # PostgreSQL cannot alter a partition-key column: the finding says what to do instead
    key = found.pop("public.ev.at")
    assert key.fix is None
    assert "; no fix: at is in the partition key of public.ev" in key.message
    assert found.pop("public.t.many").fix is None
    apply_fixes(pg_database, found.values(), tmp_path)
    assert set(findings(pg_database, "timestamp-without-time-zone")) == {"public.ev.at",
                                                                           "public.t.many"}
    with pg_database.connect() as conn:  # read in the server's zone (the suite's: UTC)
        conn.execute("SET timezone = 'UTC'")
        row = conn.execute("SELECT plain::text, precise::text, via_domain::text FROM t"
                           ).fetchone()
    assert row == ("2024-03-31 01:30:00+00", "2024-03-31 01:30:00.123+00",
                   "2024-01-01 12:00:00+00")


def test_timestamp_without_time_zone_array(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "timestamp-without-time-zone", """
        CREATE TABLE log (id int, seen timestamp[], seen_tz timestamptz[], "Times" timestamp(0)[]);
    """)
    assert set(found) == {"public.log.seen", 'public.log."Times"'}
    assert found["public.log.seen"].message.startswith(
        "column public.log.seen is timestamp without time zone[]")
    assert found["public.log.seen"].fix is None


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
    found = findings(pg_database, "float-for-money", MONEY + """
        INSERT INTO m (price, taxes) VALUES (0.25, 3);
    """)
    assert set(found) == {"public.m.price", 'public.m."unitPrice"', "public.m.total_costs",
                          "public.m.taxes", "public.m.order_amount_cents", "public.parted.fee"}
    assert found["public.m.price"].severity == "error"
    apply_fixes(pg_database, found.values(), tmp_path)  # a partitioned table's too
    assert findings(pg_database, "float-for-money") == {}
    with pg_database.connect() as conn:
        row = conn.execute("SELECT price::text FROM m").fetchone()
    assert row == ("0.25",)


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
    # policies exist: the database relies on RLS; but auth.uid() does not: no fix
    assert found["public.sealed"].severity == "error"
    assert found["public.sealed"].fix is None
    assert "; no fix: the policy it needs reads auth.uid(), which does not exist" in (
        found["public.sealed"].message)


def test_rls_fix_applies_where_auth_uid_exists(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    # The skill's pattern calls Supabase's auth.uid(); stand one in to run the fix.
    found = findings(pg_database, "rls-disabled-tenant-table", TENANTS + """
        CREATE SCHEMA auth;
        CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS 'SELECT NULL::uuid';
    """)
    # on the membership table itself the policy must not read the table it guards
    assert ('USING (user_id = (SELECT auth.uid()))'
            in (found["public.organization_members"].fix or ""))
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
    assert found["public.only_restrictive"].message.startswith(
        "table public.only_restrictive has row-level security enabled but only restrictive "
        "policies (tenant_access): they narrow what a permissive policy grants, and none "
        "does, so every role but its owner sees no rows (the database relies on row-level "
        "security: an auth schema, ")
    # the policy name the fix would use is taken
    assert (found["public.only_restrictive"].fix or "").startswith(
        'CREATE POLICY "tenant_access_1" ON "public"."only_restrictive" FOR ALL USING')
    assert "no permissive policy grants UPDATE" in found["public.dead_update"].message
    assert (found["public.dead_update"].fix or "").startswith(
        'CREATE POLICY "tenant_update" ON "public"."dead_update" FOR UPDATE USING')
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "rls-disabled-tenant-table") == {}
