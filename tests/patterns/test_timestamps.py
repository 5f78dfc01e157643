"""generate timestamps: columns backfilled by a catalog default, a trigger that stamps
real changes only; lint clean, reversible, rows intact after rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pattern_helpers import check_generated

from pgkeel.patterns import timestamps
from pgkeel.testing import TestDatabase

BASE = """
CREATE TABLE public.orders (id bigint PRIMARY KEY, total numeric(10,2) NOT NULL);
CREATE TABLE public.notes (id bigint PRIMARY KEY, body text,
                           created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO public.orders SELECT g, g * 1.5 FROM generate_series(1, 200) g;
INSERT INTO public.notes (id, body, created_at)
    SELECT g, 'n' || g, '2020-01-01'::timestamptz FROM generate_series(1, 50) g;
"""


def exercise(conn: Any) -> None:
    stamp = conn.execute("SELECT updated_at FROM orders WHERE id = 1").fetchone()[0]
    assert conn.execute("SELECT count(*) FROM orders WHERE created_at IS NULL "
                        "OR updated_at IS NULL").fetchone()[0] == 0
    conn.commit()
    # A no-op update keeps the stamp; a real change moves it.
    conn.execute("UPDATE orders SET total = total WHERE id = 1")
    conn.commit()
    assert conn.execute("SELECT updated_at FROM orders WHERE id = 1").fetchone()[0] == stamp
    conn.execute("UPDATE orders SET total = total + 1 WHERE id = 1")
    conn.commit()
    assert conn.execute("SELECT updated_at FROM orders WHERE id = 1").fetchone()[0] > stamp
    conn.execute("UPDATE orders SET total = total - 1 WHERE id = 1")
    conn.commit()
    # notes kept its own created_at values and gained updated_at only.
    assert conn.execute("SELECT count(*) FROM notes WHERE created_at = '2020-01-01'"
                        ).fetchone()[0] == 50


def test_timestamps_for_two_tables(pg_database: TestDatabase, tmp_path: Path) -> None:
    applied = check_generated(pg_database.url, tmp_path, BASE,
                              lambda s: timestamps.generate(s, ["orders", "public.notes"]),
                              exercise)
    text = applied.path.read_text()
    assert "WHEN (OLD.* IS DISTINCT FROM NEW.*)" in text
    assert text.count("CREATE OR REPLACE FUNCTION") == 1
