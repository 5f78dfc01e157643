"""Constraint corner cases of ``fill``, one test each, every result re-checked with SQL
written here: partial unique index, nullable FK cycle, CHECK comparing two columns,
enum, domain with a CHECK. (The NOT NULL cycle refused naming both keys is
``test_generate.test_not_null_cycle_is_refused_naming_both_keys``.)"""

from __future__ import annotations

from fill_helpers import broken_constraints

from pgkeel.seed import fill
from pgkeel.testing import TestDatabase


def test_partial_unique_index_counts_matching_rows_only(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(
            "CREATE TABLE org (id int PRIMARY KEY);"
            "CREATE TABLE member (id int PRIMARY KEY, org_id int NOT NULL REFERENCES org,"
            " role text NOT NULL CHECK (role IN ('owner', 'member', 'guest')));"
            "CREATE UNIQUE INDEX one_owner_per_org ON member (org_id) WHERE role = 'owner'")
        report = fill(conn, counts={"org": 5, "member": 400}, seed=1)
        assert report.problems == ()
        assert report.rows("public.member") == 400  # 80 members per org, not 1
        owners = conn.execute("SELECT org_id, count(*) FROM member WHERE role = 'owner' "
                              "GROUP BY 1 HAVING count(*) > 1").fetchall()
        assert owners == []
        assert conn.execute("SELECT count(DISTINCT role) FROM member").fetchone() == (3,)
        assert conn.execute("SELECT max(n) FROM (SELECT count(*) AS n FROM member "
                            "GROUP BY org_id) s").fetchone()[0] > 1  # type: ignore[index]


def test_partial_unique_with_nulls_not_distinct(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE slot (id int PRIMARY KEY, room int, active boolean NOT NULL);"
                     "CREATE UNIQUE INDEX one_active ON slot (room) NULLS NOT DISTINCT "
                     "WHERE active")
        fill(conn, rows=300, seed=2)
        assert conn.execute("SELECT count(*) FROM (SELECT room FROM slot WHERE active "
                            "GROUP BY room HAVING count(*) > 1) s").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM slot WHERE active AND room IS NULL"
                            ).fetchone()[0] <= 1  # type: ignore[index]


def test_nullable_fk_cycle_is_broken_and_linked(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE users (id int PRIMARY KEY, default_org_id int);"
                     "CREATE TABLE orgs (id int PRIMARY KEY, owner_id int NOT NULL "
                     " REFERENCES users);"
                     "ALTER TABLE users ADD CONSTRAINT users_org FOREIGN KEY (default_org_id)"
                     " REFERENCES orgs")
        report = fill(conn, rows=50, seed=3)
        assert "users_org on public.users" in report.deferred
        assert conn.execute("SELECT count(*) FROM users WHERE default_org_id IS NULL"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM users u LEFT JOIN orgs o "
                            "ON o.id = u.default_org_id WHERE o.id IS NULL").fetchone() == (0,)
        assert broken_constraints(conn) == []


def test_check_comparing_two_columns(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE booking (id int PRIMARY KEY, starts_at timestamptz NOT NULL,"
                     " ends_at timestamptz NOT NULL, CHECK (ends_at > starts_at),"
                     " low int NOT NULL, high int NOT NULL, CHECK (low <= high))")
        report = fill(conn, rows=500, seed=4)
        assert report.problems == () and report.rows("public.booking") == 500
        assert conn.execute("SELECT count(*) FROM booking WHERE NOT (ends_at > starts_at)"
                            " OR NOT (low <= high)").fetchone() == (0,)


def test_enum_values_are_labels(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TYPE state AS ENUM ('draft', 'published', 'archived');"
                     "CREATE TABLE post (id int PRIMARY KEY, state state NOT NULL)")
        fill(conn, rows=200, seed=5)
        found = {r[0] for r in conn.execute("SELECT DISTINCT state::text FROM post")}
        assert found == {"draft", "published", "archived"}


def test_domain_with_check(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE DOMAIN us_zip AS text CHECK (VALUE ~ '^[0-9]{5}$');"
                     "CREATE DOMAIN rating AS smallint NOT NULL CHECK (VALUE BETWEEN 1 AND 5);"
                     "CREATE TABLE review (id int PRIMARY KEY, zip us_zip NOT NULL,"
                     " stars rating)")
        report = fill(conn, rows=300, seed=6)
        assert report.problems == () and report.rows("public.review") == 300
        assert conn.execute("SELECT count(*) FROM review WHERE zip::text !~ '^[0-9]{5}$' "
                            "OR stars NOT BETWEEN 1 AND 5").fetchone() == (0,)


def test_timestamps_keep_their_natural_order_without_a_check(pg_database: TestDatabase
                                                             ) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE account (id int PRIMARY KEY, email text NOT NULL,"
                     " created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL,"
                     " start_date date, end_date date)")
        fill(conn, rows=300, seed=8)
        assert conn.execute("SELECT count(*) FROM account WHERE created_at > updated_at"
                            " OR start_date > end_date").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM account WHERE email LIKE '%@%'"
                            ).fetchone() == (300,)  # Faker's email provider, by name
