"""verify(): up, down, up again on a scratch database, with the locks the up takes."""

from __future__ import annotations

from pathlib import Path

from migration_helpers import write

from pgkeel.connect import connect
from pgkeel.migrations.verify import AFTER_DOWN, verify
from pgkeel.migrations.verify_report import findings
from pgkeel.testing import TestDatabase


def history(tmp_path: Path) -> Path:
    write(tmp_path, "20240101_orders.sql",
          "CREATE TABLE orders (id bigserial PRIMARY KEY, total numeric(10,2) NOT NULL);\n"
          "INSERT INTO orders (total) SELECT g FROM generate_series(1, 100) g;",
          "DROP TABLE orders;")
    write(tmp_path, "20240102_note.sql",
          "ALTER TABLE orders ADD COLUMN note text;\n"
          "CREATE INDEX idx_orders_total ON orders (total);",
          "DROP INDEX idx_orders_total;")
    write(tmp_path, "20240103_type.sql",
          "ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,3);",
          "ALTER TABLE orders ALTER COLUMN total TYPE numeric(10,2);")
    write(tmp_path, "20240104_bad.sql", "CREATE TABLE items (id int);", "DROP TABLE itemz;")
    write(tmp_path, "20240105_policy.sql",
          "ALTER TABLE items ENABLE ROW LEVEL SECURITY;\n"
          "CREATE POLICY items_read ON items FOR SELECT USING (id > 0);",
          "ALTER TABLE items DISABLE ROW LEVEL SECURITY;")
    write(tmp_path, "20240106_no_down.sql", "CREATE TABLE later (id int);")
    return tmp_path


def scratch_databases(url: str) -> set[str]:
    with connect(url) as conn:
        return {str(r[0]) for r in conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'pgkeel_scratch_%'")}


def test_verify_names_what_each_down_forgot_and_the_locks(pg_database: TestDatabase,
                                                          tmp_path: Path) -> None:
    result = verify(pg_database.url, history(tmp_path))
    got = {c.version: c for c in result.migrations}
    assert [c.verdict for c in result.migrations] == [
        "reversible", "down-incomplete", "reversible", "down-fails", "down-incomplete",
        "no-down"]
    assert not result.ok and result.stopped is None and result.before == 0

    note = got["20240102"]
    assert [d.describe(AFTER_DOWN) for d in note.down_differences] == [
        "column `orders.note` still exists after down"]
    # ADD COLUMN takes ACCESS EXCLUSIVE, CREATE INDEX SHARE: the strongest counts.
    assert [t.describe() for t in note.locks or ()] == ["`ACCESS EXCLUSIVE` on `orders`"]
    assert note.rewrites == ()
    # What the down left makes the second up fail: both are said.
    assert note.error is not None and (note.error.section, note.error.message) == (
        "reapply", 'column "note" of relation "orders" already exists')

    typed = got["20240103"]
    assert [t.describe() for t in typed.locks or ()] == [
        "`ACCESS EXCLUSIVE` on `orders`, table rewritten"]
    assert typed.rewrites == ("public.orders",)

    bad = got["20240104"].error
    assert bad is not None
    assert (bad.section, bad.index, bad.line, bad.sql, bad.message, bad.sqlstate) == (
        "down", 0, 5, "DROP TABLE itemz", 'table "itemz" does not exist', "42P01")

    assert [d.describe(AFTER_DOWN) for d in got["20240105"].down_differences] == [
        "policy `items_read` on `items` still exists after down"]
    assert got["20240106"].locks == ()
    assert scratch_databases(pg_database.url) == set()



def test_with_data_names_what_a_rollback_throws_away(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    write(tmp_path, "20240101_orders.sql",
          "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric(10,2) NOT NULL "
          "CHECK (total >= 0));",
          "DROP TABLE orders;")
    write(tmp_path, "20240102_note.sql", "ALTER TABLE orders ADD COLUMN note text;",
          "ALTER TABLE orders DROP COLUMN note;")
    write(tmp_path, "20240103_index.sql", "CREATE INDEX orders_total ON orders (total);",
          "DROP INDEX orders_total;")
    plain = verify(pg_database.url, tmp_path)
    assert [c.data_loss for c in plain.migrations] == [(), (), ()]
    result = verify(pg_database.url, tmp_path, with_data=True)
    assert result.ok and result.snapshots == plain.snapshots == 0
    assert [[d.describe() for d in c.data_loss] for c in result.migrations] == [
        ["table `orders`, which held 3 row(s)"],
        ["column `orders.note`, which held values in 3 row(s)"],
        [],
    ]
    found = [f for f in findings(result) if f.rule == "data-loss-on-rollback"]
    assert [(f.message, f.object, f.line) for f in found] == [
        ("20240101_orders.sql: rolling back drops table `orders`, which held 3 row(s)",
         "public.orders", 4),
        ("20240102_note.sql: rolling back drops column `orders.note`, which held values "
         "in 3 row(s)", "public.orders.note", 4),
    ]


def test_roles_the_migrations_create_are_named(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    write(tmp_path, "20240101_role.sql", "CREATE ROLE verify_left_behind;",
          "DROP ROLE verify_left_behind;")
    with pg_database.connect() as conn:
        conn.execute("DROP ROLE IF EXISTS verify_left_behind")
    try:
        result = verify(pg_database.url, tmp_path)
        assert result.ok and result.roles_left == ("verify_left_behind",)
    finally:
        with pg_database.connect() as conn:
            conn.execute("DROP ROLE IF EXISTS verify_left_behind")


def test_stats_from_says_what_the_lock_costs_in_production(pg_database: TestDatabase,
                                                           tmp_path: Path) -> None:
    write(tmp_path, "20240101_orders.sql", "CREATE TABLE orders (id bigint, total int);",
          "DROP TABLE orders;")
    write(tmp_path, "20240102_type.sql", "ALTER TABLE orders ALTER COLUMN total TYPE bigint;",
          "ALTER TABLE orders ALTER COLUMN total TYPE int;")
    with pg_database.connect() as conn:  # "production": the same table, with rows
        conn.execute("CREATE TABLE orders (id bigint, total bigint)")
        conn.execute("INSERT INTO orders SELECT g, g FROM generate_series(1, 5000) g")
        conn.execute("ANALYZE orders")
        size = conn.execute("SELECT pg_total_relation_size('orders')").fetchone()
    assert size is not None
    result = verify(pg_database.url, tmp_path, stats_from=pg_database.url)
    (lock,) = result.migrations[1].locks or ()
    assert (lock.relation, lock.mode, lock.rewritten, lock.size_bytes, lock.row_estimate) == (
        "public.orders", "ACCESS EXCLUSIVE", True, size[0], 5000)
    assert lock.describe() == (f"`ACCESS EXCLUSIVE` on `orders`, table rewritten "
                               f"({size[0] / 1024:.1f} kB, ~5000 rows in production)")


def test_deferred_checks_fire_where_commit_would(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    """Up and down share a transaction in verify, not in production: the up's deferred
    constraint checks must not leave the down 'pending trigger events'."""
    write(tmp_path, "20240101_tables.sql",
          "CREATE TABLE parent (id int PRIMARY KEY);\n"
          "CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);",
          "DROP TABLE child; DROP TABLE parent;")
    write(tmp_path, "20240102_rows.sql",
          "INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1);",
          "ALTER TABLE child ADD COLUMN gone int; ALTER TABLE child DROP COLUMN gone;"
          " DELETE FROM child; DELETE FROM parent;")
    write(tmp_path, "20240103_orphan.sql", "INSERT INTO child VALUES (2);",
          "DELETE FROM child WHERE parent_id = 2;")
    result = verify(pg_database.url, tmp_path)
    assert [c.verdict for c in result.migrations] == ["reversible", "reversible", "up-fails"]
    error = result.migrations[2].error
    assert error is not None and (error.section, error.sql, error.sqlstate) == (
        "up", "COMMIT", "23503")


def test_from_applies_the_ones_before_unverified(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    result = verify(pg_database.url, history(tmp_path), from_version="20240103")
    assert result.before == 2
    assert [(c.version, c.verdict) for c in result.migrations] == [
        ("20240103", "reversible"), ("20240104", "down-fails"),
        ("20240105", "down-incomplete"), ("20240106", "no-down")]
