"""prove_fixes itself: a fix split across the transaction and a concurrent build is
proved as the --fix-sql script and as --write-migration's migrations (up and down)."""

from __future__ import annotations

from pathlib import Path

from rule_helpers import prove_fixes

from pgkeel.testing import TestDatabase


def test_partitioned_foreign_key_index_fix_is_proved(pg_database: TestDatabase,
                                                      tmp_path: Path) -> None:
    # The split fix runs as a script and as two migrations, and rolls back.
    found = prove_fixes(pg_database, "unindexed-foreign-key", """
        CREATE TABLE customer (id int PRIMARY KEY);
        CREATE TABLE orders (id int, placed date NOT NULL, customer_id int REFERENCES customer,
                             PRIMARY KEY (id, placed)) PARTITION BY RANGE (placed);
        CREATE TABLE orders_2024 PARTITION OF orders
            FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE TABLE orders_2025 PARTITION OF orders
            FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
        INSERT INTO customer SELECT g FROM generate_series(1, 20) g;
        INSERT INTO orders SELECT g, date '2024-06-01' + g * 3, 1 + g % 20
        FROM generate_series(1, 150) g;
    """, tmp_path)
    assert set(found) == {"public.orders.orders_customer_id_fkey"}
