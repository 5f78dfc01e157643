"""Benchmark: ``seed generate`` against ``COPY`` of the same rows from a ready CSV.

Starts a throwaway cluster (``pgkeel.cluster.throwaway``) and creates a 6-table schema
with foreign keys, unique keys and CHECK constraints. Then:

- ``generate``: :func:`pgkeel.seed.fill` of ``--rows`` rows in all (split over the six
  tables as in :data:`SHARES`), generated, checked and loaded with ``COPY`` in one
  transaction, ending with ``ANALYZE``;
- ``copy``: the same rows, written to CSV files beforehand (``COPY ... TO``), loaded
  into a second database with the same schema with ``COPY ... FROM STDIN`` in one
  transaction, also ending with ``ANALYZE``: the limit any loader can reach.

Prints rows per second of each and the ratio (target: generate at least 0.3x of
copy's rate). The PostgreSQL manual's "Populating a Database" (14.4) is why COPY is
the limit.

Usage::

    .venv/bin/python benchmarks/seed.py --pg 15 --rows 1000000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from psycopg import sql

from pgkeel.cluster import Cluster, available_binaries, throwaway
from pgkeel.connect import connect
from pgkeel.seed import fill

SCHEMA = """
CREATE TABLE country (code char(2) PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE customer (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    first_name text NOT NULL,
    country char(2) NOT NULL REFERENCES country,
    age int NOT NULL CHECK (age BETWEEN 18 AND 120),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CHECK (created_at <= updated_at)
);
CREATE TABLE product (
    sku text PRIMARY KEY CHECK (sku ~ '^[A-Z]{3}-[0-9]{6}$'),
    name text NOT NULL,
    price numeric(10,2) NOT NULL CHECK (price > 0)
);
CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL REFERENCES customer,
    status text NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    placed_at timestamptz NOT NULL
);
CREATE TABLE order_line (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders,
    sku text NOT NULL REFERENCES product,
    qty int NOT NULL CHECK (qty > 0 AND qty < 100)
);
CREATE TABLE payment (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders,
    amount numeric(10,2) NOT NULL CHECK (amount > 0),
    reference text NOT NULL UNIQUE
);
"""

#: Share of the rows per table (sums to 1).
SHARES = {"public.country": 0.0002, "public.customer": 0.15, "public.product": 0.0498,
          "public.orders": 0.3, "public.order_line": 0.3, "public.payment": 0.2}


def _create(cluster: Cluster, name: str) -> str:
    with connect(cluster.url()) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(cluster.url(name)) as conn:
        conn.execute(SCHEMA)
    return cluster.url(name)


def run(cluster: Cluster, total: int, seed: int) -> dict[str, float]:
    """Generate ``total`` rows, then COPY them from CSV; returns seconds and rows."""
    counts = {t: max(int(total * s), 1) for t, s in SHARES.items()}
    generated = _create(cluster, "generated")
    with connect(generated) as conn:
        began = time.perf_counter()
        report = fill(conn, counts=counts, tables=list(counts), seed=seed)
        gen_s = time.perf_counter() - began
        assert not report.problems, report.problems
        rows = sum(t.rows for t in report.tables)
        folder = Path(tempfile.mkdtemp(prefix="pgkeel-seed-bench-"))
        for name in SHARES:  # parents first, the order fill used
            with (folder / f"{name}.csv").open("wb") as out, conn.cursor().copy(
                    sql.SQL("COPY {} TO STDOUT WITH (FORMAT csv)").format(
                        sql.Identifier(*name.split(".")))) as copy:
                for data in copy:
                    out.write(data)
    target = _create(cluster, "copied")
    with connect(target) as conn:
        began = time.perf_counter()
        with conn.transaction():
            for name in SHARES:
                query = sql.SQL("COPY {} FROM STDIN WITH (FORMAT csv)").format(
                    sql.Identifier(*name.split(".")))
                with conn.cursor().copy(query) as copy, (folder / f"{name}.csv").open("rb") as f:
                    while data := f.read(1 << 20):
                        copy.write(data)
            for name in SHARES:
                conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*name.split("."))))
        copy_s = time.perf_counter() - began
    return {"rows": rows, "generate_s": gen_s, "copy_s": copy_s}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", type=int, default=15, help="PostgreSQL major version")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in all")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    found = {b.major: b for b in available_binaries()}
    if args.pg not in found:
        print(f"PostgreSQL {args.pg} not found", file=sys.stderr)
        return 2
    with throwaway(found[args.pg], prefix="pgkeel-bench-") as cluster:
        figures = run(cluster, args.rows, args.seed)
    rows = figures["rows"]
    gen_rate, copy_rate = rows / figures["generate_s"], rows / figures["copy_s"]
    print(f"PostgreSQL {args.pg}, {rows:,.0f} rows in 6 tables")
    print(f"generate+load: {figures['generate_s']:8.1f} s  {gen_rate:10,.0f} rows/s")
    print(f"COPY from CSV: {figures['copy_s']:8.1f} s  {copy_rate:10,.0f} rows/s")
    print(f"ratio: {gen_rate / copy_rate:.2f}x of COPY's rate (target >= 0.3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
