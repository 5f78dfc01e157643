"""Benchmark: ``pgkeel check`` against what a user would otherwise run, same databases.

Starts a throwaway cluster (``pgkeel.cluster.throwaway``) and builds:

- ``bench``: a generated schema of ``--tables`` tables (default 150): each with a
  primary key, 9 columns, 4 secondary indexes (5 indexes a table: ~750), a foreign key
  to an earlier table (every second one without an index), row-level security enabled
  on every second table (with a policy on half of those), ``--views`` views (50) over
  the tables, and a few rows each;
- ``pagila``: ``../shared/data/pagila`` (schema and data), when present.

Then, alternating so each sees the same cache state, median of ``--runs`` (5):

- ``check --no-data`` (library, ``check(url, read_rows=False)``) and the same through
  the CLI (``pgkeel check --no-data --format json``, a new process each time): target
  below 2 s on ``bench``;
- ``check`` with the data rules, library and CLI, on Pagila: target below 5 s;
- splinter-style SQL (six catalog queries like Supabase splinter's lints 0001, 0007,
  0008, 0009, 0013 and 0006, run with ``psql -f``) and ``pg_dump --schema-only``: what
  a user would run instead, for scale.

Prints one table (milliseconds) and the findings count. Usage::

    .venv/bin/python benchmarks/check.py --pg 15
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from psycopg import sql

from pgkeel._shared_data import shared_data_dir
from pgkeel.check import check
from pgkeel.cluster import Binaries, Cluster, available_binaries, throwaway
from pgkeel.connect import connect

_DATA = shared_data_dir()

# Catalog queries in the manner of Supabase splinter's lints (written for this
# benchmark, same questions): 0001 unindexed foreign keys, 0013 RLS disabled in public,
# 0008 RLS enabled without policy, 0007 policy exists with RLS disabled, 0009 duplicate
# index, 0006 multiple permissive policies.
SPLINTER_STYLE = """
SELECT c.conrelid::regclass, c.conname FROM pg_constraint c
WHERE c.contype = 'f' AND NOT EXISTS (
  SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid
  AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey);
SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND n.nspname NOT LIKE 'pg\\_%'
  AND n.nspname <> 'information_schema';
SELECT c.oid::regclass FROM pg_class c WHERE c.relrowsecurity
  AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid);
SELECT DISTINCT p.polrelid::regclass FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
WHERE NOT c.relrowsecurity;
SELECT indrelid::regclass, array_agg(indexrelid::regclass) FROM pg_index
GROUP BY indrelid, indkey::text, indclass::text, indcollation::text,
         coalesce(pg_get_expr(indexprs, indrelid), ''), coalesce(pg_get_expr(indpred, indrelid), '')
HAVING count(*) > 1;
SELECT polrelid::regclass, r.rolname, polcmd, count(*) FROM pg_policy p
CROSS JOIN LATERAL unnest(p.polroles) AS role_oid
LEFT JOIN pg_roles r ON r.oid = role_oid WHERE p.polpermissive
GROUP BY 1, 2, 3 HAVING count(*) > 1;
"""


def _table(i: int) -> sql.Composed:
    t = sql.Identifier("bench", f"t{i:04d}")
    ref = sql.Identifier("bench", f"t{i // 2:04d}")
    parts = [sql.SQL(
        "CREATE TABLE {t} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "parent_id bigint{fk}, tenant_id bigint NOT NULL, name text NOT NULL, email text, "
        "amount numeric(12,2), status smallint NOT NULL DEFAULT 0, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "updated_at timestamptz NOT NULL DEFAULT now(), note text);").format(
            t=t, fk=sql.SQL(" REFERENCES {}").format(ref) if i else sql.SQL(""))]
    columns = ["tenant_id", "email", "created_at", "status, amount"]
    if i % 2:  # every second foreign key is indexed
        columns[0] = "parent_id"
    for n, cols in enumerate(columns):
        parts.append(sql.SQL("CREATE INDEX {} ON {} ({});").format(
            sql.Identifier(f"t{i:04d}_ix{n}"), t, sql.SQL(cols)))
    if i % 2 == 0:
        parts.append(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY;").format(t))
        if i % 4 == 0:
            parts.append(sql.SQL("CREATE POLICY tenant ON {} USING (tenant_id = "
                                 "current_setting('app.tenant')::bigint);").format(t))
    parts.append(sql.SQL(
        "INSERT INTO {} (tenant_id, name, email, amount) SELECT g % 3, 'n' || g, "
        "'u' || g || '@example.com', g * 1.5 FROM generate_series(1, 20) g;").format(t))
    return sql.SQL("").join(parts)


def build(url: str, tables: int, views: int) -> None:
    """Create schema ``bench``: ``tables`` tables and ``views`` views."""
    with connect(url) as conn:
        conn.execute("CREATE SCHEMA bench")
        for start in range(0, tables, 25):
            conn.execute(sql.SQL("").join(_table(i) for i in range(start,
                                                                    min(tables, start + 25))))
        for v in range(views):
            a, b = sql.Identifier("bench", f"t{v % tables:04d}"), \
                sql.Identifier("bench", f"t{(v * 7 + 1) % tables:04d}")
            conn.execute(sql.SQL(
                "CREATE VIEW {} AS SELECT a.id, a.name, a.amount, b.email FROM {} a "
                "JOIN {} b ON b.id = a.parent_id").format(
                    sql.Identifier("bench", f"v{v:03d}"), a, b))
        conn.execute("ANALYZE")


def _psql(cluster: Cluster, dbname: str, path: Path) -> None:
    subprocess.run([str(cluster.binaries.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", cluster.url(dbname), "-f", str(path)], check=True,
                   stdout=subprocess.DEVNULL)


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _measure(cluster: Cluster, dbname: str, runs: int, *, data: bool) -> dict[str, float]:
    url = cluster.url(dbname)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(SPLINTER_STYLE)
    splinter = Path(handle.name)
    cli = [sys.executable, "-m", "pgkeel", "check", "-d", url, "--format", "json",
           "--fail-on", "never", *([] if data else ["--no-data"])]
    tools: dict[str, Callable[[], object]] = {
        "check": lambda: check(url, read_rows=data),
        "check_cli": lambda: subprocess.run(cli, check=True, stdout=subprocess.DEVNULL),
        "splinter_sql": lambda: _psql(cluster, dbname, splinter),
        "pg_dump": lambda: subprocess.run(
            [str(cluster.binaries.tool("pg_dump")), "--schema-only", "-f", os.devnull,
             "-d", url], check=True),
    }
    try:
        for action in tools.values():
            action()  # warm caches once, for every tool
        times: dict[str, list[float]] = {name: [] for name in tools}
        for _ in range(runs):
            for name, action in tools.items():
                times[name].append(_timed(action))
    finally:
        splinter.unlink()
    result = {name: statistics.median(values) for name, values in times.items()}
    result["findings"] = len(check(url, read_rows=data).findings)
    return result


def run(binaries: Binaries, tables: int, views: int, runs: int) -> list[dict[str, object]]:
    """Build the databases on a fresh cluster of ``binaries`` and time every tool."""
    rows: list[dict[str, object]] = []
    with throwaway(binaries, prefix="pgkeel-bench-") as cluster:
        with connect(cluster.url()) as conn:
            conn.execute("CREATE DATABASE bench")
        began = time.perf_counter()
        build(cluster.url("bench"), tables, views)
        print(f"pg{binaries.major}: built {tables} tables, {views} views in "
              f"{time.perf_counter() - began:.1f} s", file=sys.stderr)
        rows.append({"pg": binaries.major, "db": "bench", "mode": "--no-data",
                     "target_ms": 2000, **_measure(cluster, "bench", runs, data=False)})
        schema, data = _DATA / "pagila" / "pagila-schema.sql", _DATA / "pagila" / "pagila-data.sql"
        if schema.exists() and data.exists():
            with connect(cluster.url()) as conn:
                conn.execute("CREATE DATABASE pagila")
            _psql(cluster, "pagila", schema)
            _psql(cluster, "pagila", data)
            with connect(cluster.url("pagila")) as conn:
                conn.execute("ANALYZE")
            rows.append({"pg": binaries.major, "db": "pagila", "mode": "with data",
                         "target_ms": 5000, **_measure(cluster, "pagila", runs, data=True)})
        else:
            print(f"pagila skipped: {schema} is absent", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run each requested version, print the table. Returns 0."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--tables", type=int, default=150, help="tables to create (150)")
    parser.add_argument("--views", type=int, default=50, help="views to create (50)")
    parser.add_argument("--pg", type=int, action="append", choices=(15, 18),
                        help="PostgreSQL major version; repeat for both (default: all found)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each tool (5)")
    args = parser.parse_args(argv)
    found = {b.major: b for b in available_binaries()}
    wanted = args.pg or sorted(found)
    missing = [v for v in wanted if v not in found]
    if missing:
        parser.error(f"no PostgreSQL {missing} binaries found (have {sorted(found)})")
    rows = [row for v in wanted for row in run(found[v], args.tables, args.views, args.runs)]
    print(f"{'server':>6} {'database':>8} {'mode':>9} {'check ms':>9} {'CLI ms':>7} "
          f"{'target':>6} {'splinter-style SQL ms':>21} {'pg_dump -s ms':>13} {'findings':>8}")
    for r in rows:
        print(f"{'pg' + str(r['pg']):>6} {r['db']:>8} {r['mode']:>9} {r['check']:>9.0f} "
              f"{r['check_cli']:>7.0f} {r['target_ms']:>6} {r['splinter_sql']:>21.0f} "
              f"{r['pg_dump']:>13.0f} {r['findings']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
