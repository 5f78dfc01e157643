"""drift() and write_drift_migration(): a hand-made column, index, policy, grant and
comment are found, become a migration that passes verify, after which drift is silent."""

from __future__ import annotations

from pathlib import Path

import pytest
from migration_helpers import write

from pgkeel.connect import connect
from pgkeel.errors import Refused
from pgkeel.migrations import runner
from pgkeel.migrations.drift import DRIFT, drift, write_drift_migration
from pgkeel.migrations.files import read_migration
from pgkeel.migrations.verify import verify
from pgkeel.seed import fill
from pgkeel.testing import TestDatabase

BY_HAND = """
ALTER TABLE orders ADD COLUMN note varchar(40) DEFAULT 'none' NOT NULL;
ALTER TABLE orders ALTER COLUMN total DROP NOT NULL;
CREATE INDEX orders_total_idx ON orders (total) WHERE total > 0;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY orders_positive ON orders FOR SELECT TO PUBLIC USING (total > 0);
ALTER TABLE customers ADD CONSTRAINT customers_name_check CHECK (name <> '');
DROP INDEX customers_email_idx;
ALTER TABLE customers ALTER COLUMN email SET NOT NULL;
GRANT SELECT ON orders TO PUBLIC;
COMMENT ON COLUMN orders.total IS 'in cents';
CREATE TABLE notes (id serial PRIMARY KEY, order_id bigint REFERENCES orders, body text);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100;
"""


def history(directory: Path) -> Path:
    write(directory, "20240101_customers.sql",
          "CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text);\n"
          "CREATE INDEX customers_email_idx ON customers (email);",
          "DROP TABLE customers;")
    write(directory, "20240102_orders.sql",
          "CREATE TABLE orders (id bigserial PRIMARY KEY,\n"
          "    customer_id bigint NOT NULL REFERENCES customers, total numeric(10,2) NOT NULL);",
          "DROP TABLE orders;")
    return directory


def test_untouched_database_has_no_drift(pg_database: TestDatabase, tmp_path: Path) -> None:
    runner.up(pg_database.url, history(tmp_path))
    result = drift(pg_database.url, tmp_path)
    assert result.differences == () and not result.drifted


def test_hand_made_changes_become_a_migration_after_which_drift_is_silent(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    directory = history(tmp_path / "migrations")
    runner.up(pg_database.url, directory)
    with connect(pg_database.url) as conn:
        fill(conn, rows=20)
        conn.execute(BY_HAND)

    result = drift(pg_database.url, directory)
    assert [d.describe(DRIFT) for d in result.differences] == [
        "view `big_orders` exists in the database but in no migration",
        "index `customers_email_idx` on `customers` is in the migrations but missing from "
        "the database",
        "check constraint `customers_name_check` on `customers` exists in the database "
        "but in no migration",
        "column `customers.email` differs in the database from the migrations: "
        "nullable yes → no",
        "table `notes` exists in the database but in no migration",
        "sequence `notes_id_seq` exists in the database but in no migration",
        "table `orders` differs in the database from the migrations: rls enabled no → yes",
        "column `orders.note` exists in the database but in no migration",
        "policy `orders_positive` on `orders` exists in the database but in no migration",
        "index `orders_total_idx` on `orders` exists in the database but in no migration",
        "column `orders.total` differs in the database from the migrations: "
        "nullable no → yes; comment none → in cents",
        "grant to `PUBLIC` on table `orders` exists in the database but in no migration: "
        "privileges none → SELECT",
    ]

    written = write_drift_migration(result, directory, "adopt hand changes")
    assert written.unwritable == ("view `big_orders` was added",)
    main, online = (read_migration(p) for p in written.paths)
    assert online.up.transaction is False and online.down.transaction is False
    assert [s.sql for s in online.up.statements] == [
        "DROP INDEX CONCURRENTLY IF EXISTS public.customers_email_idx",
        "CREATE INDEX CONCURRENTLY orders_total_idx ON public.orders USING btree (total) "
        "WHERE (total > (0)::numeric)",
        "ALTER TABLE public.customers VALIDATE CONSTRAINT customers_name_check",
        "ALTER TABLE public.customers VALIDATE CONSTRAINT pgkeel_email_not_null",
        "ALTER TABLE public.customers ALTER COLUMN email SET NOT NULL",
        "ALTER TABLE public.customers DROP CONSTRAINT pgkeel_email_not_null",
    ]
    up_sql = [s.sql for s in main.up.statements]
    assert up_sql.index("CREATE TABLE public.notes (\n    id integer "
                        "DEFAULT nextval('notes_id_seq'::regclass) NOT NULL,\n"
                        "    order_id bigint,\n    body text\n)") < up_sql.index(
        "ALTER TABLE public.notes ADD CONSTRAINT notes_pkey PRIMARY KEY (id)")
    assert ("ALTER TABLE public.customers ADD CONSTRAINT customers_name_check "
            "CHECK ((name <> ''::text)) NOT VALID") in up_sql
    assert "-- not written (do it by hand): view `big_orders` was added" in written.paths[
        0].read_text()

    # The new migrations pass verify: up, down and up again leave what they should.
    checked = verify(pg_database.url, directory)
    assert [c.verdict for c in checked.migrations] == ["reversible"] * 4, [
        (c.version, c.verdict, c.error, [d.describe() for d in c.down_differences])
        for c in checked.migrations]

    again = drift(pg_database.url, directory)
    assert [d.describe(DRIFT) for d in again.differences] == [
        "view `big_orders` exists in the database but in no migration"]

    # On another database holding rows, the new migrations apply and roll back.
    other = pg_database.cluster.create_database()
    try:
        url = pg_database.cluster.url(other)
        runner.up(url, directory, to="20240102")
        with connect(url) as conn:
            fill(conn, rows=50, seed=5)
        assert len(runner.up(url, directory).done) == 2
        with connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM customers WHERE email IS NULL"
                                ).fetchone() == (0,)
        assert len(runner.rollback(url, directory, steps=2).done) == 2
    finally:
        pg_database.cluster.drop_database(other)


def test_pending_migrations_are_said_and_block_writing(pg_database: TestDatabase,
                                                       tmp_path: Path) -> None:
    history(tmp_path)
    runner.up(pg_database.url, tmp_path, to="20240101")
    result = drift(pg_database.url, tmp_path)
    assert result.pending == ("20240102",)
    assert [d.describe(DRIFT) for d in result.differences] == [
        "table `orders` is in the migrations but missing from the database",
        "sequence `orders_id_seq` is in the migrations but missing from the database"]
    with pytest.raises(Refused) as refused:
        write_drift_migration(result, tmp_path, "adopt")
    assert "run `pgkeel migrate up` first" in (refused.value.hint or "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "20240101_customers.sql", "20240102_orders.sql"]


def test_written_migration_is_recorded_applied_in_the_live_database(
        pg_database: TestDatabase, tmp_path: Path) -> None:
    runner.up(pg_database.url, history(tmp_path))
    with connect(pg_database.url) as conn:
        conn.execute("ALTER TABLE orders ADD COLUMN note text")
    written = write_drift_migration(drift(pg_database.url, tmp_path), tmp_path, "note",
                                    record_in=pg_database.url)
    assert len(written.paths) == 1
    assert runner.up(pg_database.url, tmp_path).done == ()  # nothing left to run
    again = drift(pg_database.url, tmp_path)
    assert again.differences == () and again.pending == ()


def test_renamed_index_and_constraint_are_written_as_renames(pg_database: TestDatabase,
                                                             tmp_path: Path) -> None:
    runner.up(pg_database.url, history(tmp_path))
    with connect(pg_database.url) as conn:
        conn.execute("ALTER INDEX customers_email_idx RENAME TO by_email;"
                     "ALTER TABLE customers RENAME CONSTRAINT customers_pkey TO customers_pk")
    result = drift(pg_database.url, tmp_path)
    assert [d.describe(DRIFT) for d in result.differences] == [
        "index `customers_email_idx` on `customers` differs in the database from the "
        "migrations: name customers_email_idx → by_email",
        "primary key `customers_pkey` on `customers` differs in the database from the "
        "migrations: name customers_pkey → customers_pk",
    ]
    written = write_drift_migration(result, tmp_path, "renames", record_in=pg_database.url)
    (only,) = (read_migration(p) for p in written.paths)
    assert [s.sql for s in only.up.statements] == [
        "ALTER INDEX public.customers_email_idx RENAME TO by_email",
        "ALTER TABLE public.customers RENAME CONSTRAINT customers_pkey TO customers_pk",
    ]
    assert [c.verdict for c in verify(pg_database.url, tmp_path).migrations][-1] == "reversible"
    assert drift(pg_database.url, tmp_path).differences == ()
