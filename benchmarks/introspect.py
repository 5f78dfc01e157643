"""Benchmark: a full catalog snapshot against ``pg_dump --schema-only``, same database.

Starts a throwaway cluster (``pgkeel.cluster.Cluster`` in a temp directory), builds a
schema of ``--tables`` tables (each: a primary key, 8 columns, 2 secondary indexes and
a foreign key to another table), then times, alternating so both see the same cache
state:

- ``read_snapshot(url)``: connect, run the catalog queries, assemble the model (sizes
  estimated from ``relpages``, the default);
- ``read_snapshot(url, exact_sizes=True)``: the same, measuring every relation on disk;
- ``pg_dump --schema-only -f /dev/null`` with the cluster's own binaries.

Prints the median wall time of each (milliseconds), the snapshot's query count and
the ratio of the default snapshot to pg_dump (target: below 0.5). The cluster is
stopped and deleted at the end.

Usage::

    .venv/bin/python benchmarks/introspect.py --tables 2000 --pg 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from psycopg import sql

from pgkeel.catalog import read_snapshot
from pgkeel.cluster import Binaries, available_binaries, throwaway
from pgkeel.connect import connect

_BATCH = 100  # tables per statement batch while building


def _table_ddl(i: int) -> sql.Composed:
    """One table: 8 columns, a primary key, a FK to an earlier table, 2 indexes."""
    name = sql.Identifier("bench", f"t{i:05d}")
    ref = sql.Identifier("bench", f"t{(i - 1) // 2:05d}")
    ddl = sql.SQL(
        "CREATE TABLE {t} (id bigint PRIMARY KEY, ref_id bigint{fk}, name text NOT NULL,"
        " email text, amount numeric(10,2), status smallint NOT NULL DEFAULT 0,"
        " created_at timestamptz NOT NULL DEFAULT now(), note text);"
        "CREATE INDEX {ix1} ON {t} (ref_id);"
        "CREATE INDEX {ix2} ON {t} (created_at, status);"
    )
    return ddl.format(
        t=name,
        # Table 0 has no earlier table: its FK is added once the last table exists.
        fk=sql.SQL(" REFERENCES {}").format(ref) if i else sql.SQL(""),
        ix1=sql.Identifier(f"t{i:05d}_ref_id_idx"),
        ix2=sql.Identifier(f"t{i:05d}_created_idx"),
    )


def build(url: str, tables: int) -> None:
    """Create schema ``bench`` with ``tables`` tables, in batches of ``_BATCH``."""
    with connect(url) as conn:
        conn.execute("CREATE SCHEMA bench")
        for start in range(0, tables, _BATCH):
            end = min(tables, start + _BATCH)
            conn.execute(sql.SQL("").join(_table_ddl(i) for i in range(start, end)))
        conn.execute(sql.SQL("ALTER TABLE {} ADD FOREIGN KEY (ref_id) REFERENCES {}").format(
            sql.Identifier("bench", "t00000"), sql.Identifier("bench", f"t{tables - 1:05d}")))
        conn.execute("ANALYZE")


def time_snapshot(url: str, *, exact_sizes: bool = False) -> tuple[float, int, int]:
    """Wall time of one read_snapshot in ms, its query count and its table count."""
    start = time.perf_counter()
    snap = read_snapshot(url, exact_sizes=exact_sizes)
    return (time.perf_counter() - start) * 1000, snap.queries, len(snap.tables)


def time_pg_dump(binaries: Binaries, url: str) -> float:
    """Wall time of one ``pg_dump --schema-only`` to /dev/null, in ms."""
    start = time.perf_counter()
    subprocess.run([str(binaries.tool("pg_dump")), "--schema-only", "-f", "/dev/null", "-d", url],
                   check=True)
    return (time.perf_counter() - start) * 1000


def run(binaries: Binaries, tables: int, runs: int) -> dict[str, float]:
    """Build the schema on a fresh cluster of ``binaries`` and time both tools."""
    with throwaway(binaries, prefix="pgkeel-bench-") as cluster:
        url = cluster.url()
        began = time.perf_counter()
        build(url, tables)
        print(f"pg{binaries.major}: built {tables} tables in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)
        time_snapshot(url)  # warm the OS and shared buffers once, for every tool
        snaps, exacts, dumps, queries = [], [], [], 0
        for _ in range(runs):
            ms, queries, found = time_snapshot(url)
            if found != tables:
                raise RuntimeError(f"the snapshot saw {found} tables, expected {tables}")
            snaps.append(ms)
            exacts.append(time_snapshot(url, exact_sizes=True)[0])
            dumps.append(time_pg_dump(cluster.binaries, url))
        snapshot_ms, dump_ms = statistics.median(snaps), statistics.median(dumps)
        return {"pg": binaries.major, "tables": tables, "snapshot_ms": snapshot_ms,
                "queries": queries, "exact_ms": statistics.median(exacts),
                "pg_dump_ms": dump_ms, "ratio": snapshot_ms / dump_ms}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each requested version, print the table. Returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=2000, help="tables to create (2000)")
    parser.add_argument("--pg", type=int, action="append", choices=(15, 18),
                        help="PostgreSQL major version; repeat for both (default: all found)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each tool (5)")
    args = parser.parse_args(argv)
    found = {b.major: b for b in available_binaries()}
    wanted = args.pg or sorted(found)
    missing = [v for v in wanted if v not in found]
    if missing:
        parser.error(f"no PostgreSQL {missing} binaries found (have {sorted(found)})")
    results = [run(found[v], args.tables, args.runs) for v in wanted]
    print(f"{'server':>6} {'tables':>6} {'snapshot ms':>12} {'queries':>7} "
          f"{'exact-sizes ms':>14} {'pg_dump ms':>11} {'ratio':>6}")
    for r in results:
        print(f"{'pg' + str(r['pg']):>6} {r['tables']:>6} {r['snapshot_ms']:>12.0f} "
              f"{r['queries']:>7} {r['exact_ms']:>14.0f} {r['pg_dump_ms']:>11.0f} "
              f"{r['ratio']:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
