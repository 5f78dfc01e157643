"""Benchmark: the index advisor against the known best set, on a generated database.

Builds ``dataset.py``'s database (about 1.6 M rows at ``--scale 1``) in a throwaway
cluster, runs ``advise_indexes`` on ``workload.sql`` (with HypoPG when the server
offers it, unless ``--no-hypopg``; with HypoPG also a Dexter-style advisor,
``dexter_like.py``, for comparison), then scores the advisor's set against the best
set (``score.py``) twice: by the planner's estimated costs (deterministic; the CI
test ``tests/advisor/test_benchmark.py`` runs this variant at a small scale) and by
measured median execution times. Prints both scores, index counts and sizes, the
advisor's run time, and any query that got slower (a regression: cost up by more
than 1 %, or time up by more than 20 % and 0.5 ms for a query whose plan the indexes
changed, by more than 1 % of its estimated cost: the others' times move only with the
machine's load). Usage::

    .venv/bin/python benchmarks/advisor/run.py --pg 15 --scale 1
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import dataset  # this directory, put on the path above
import dexter_like
import score

from pgkeel.advisor.indexes import advise_indexes
from pgkeel.advisor.workload import read_workload_file
from pgkeel.cluster import available_binaries, throwaway
from pgkeel.connect import connect


def main() -> None:
    """Parse the arguments, run the benchmark, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", type=int, default=15, help="PostgreSQL major version")
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: about 1.6 M rows")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query")
    parser.add_argument("--no-hypopg", action="store_true",
                        help="build every candidate on a scratch copy")
    args = parser.parse_args()
    binaries = next((b for b in available_binaries() if b.major == args.pg), None)
    if binaries is None:
        sys.exit(f"no PostgreSQL {args.pg} found")
    workload = read_workload_file(dataset.WORKLOAD)
    with throwaway(binaries, prefix="pgkeel-bench-advisor-") as cluster:
        with connect(cluster.url()) as conn:
            conn.execute("CREATE DATABASE bench")
        url = cluster.url("bench")
        with connect(url) as conn:
            started = time.perf_counter()
            dataset.build(conn, args.scale)
            load_s = time.perf_counter() - started
            rows = conn.execute("SELECT sum(n_live_tup)::bigint FROM pg_stat_user_tables"
                                ).fetchone()
            hypo = not args.no_hypopg and bool(conn.execute(
                "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'hypopg')"
            ).fetchone()[0])  # type: ignore[index]
            if hypo:
                conn.execute("CREATE EXTENSION hypopg")
            best = dataset.best_set(conn)
        started = time.perf_counter()
        advice = advise_indexes(url, workload, hypopg=hypo)
        advise_s = time.perf_counter() - started
        mine = [s.create for s in advice.suggestions]
        dexter: list[str] = []
        if hypo:
            with connect(url) as conn:
                dexter = dexter_like.dexter_like(conn, workload)
        report = {}
        sets = {"none": [], "best": list(best), "advisor": mine}
        if hypo:
            sets["dexter-like"] = dexter
        with connect(url) as conn:
            for variant, measure in (("cost", score.costs), ("time", score.timings)):
                fig = {}
                sizes = {}
                for label, stmts in sets.items():
                    with score.built(conn, stmts) as size:
                        fig[label] = (measure(conn, workload) if variant == "cost"
                                      else score.timings(conn, workload, args.runs))
                        sizes[label] = size
                report[variant] = (fig, sizes)
    print(f"PostgreSQL {args.pg}, scale {args.scale}: {rows[0] if rows else '?'} rows loaded "
          f"in {load_s:.1f} s; advisor ({'/'.join(advice.methods)}) took {advise_s:.1f} s, "
          f"{advice.candidates} candidates")
    for label in ("advisor", "dexter-like"):
        for stmt in sets.get(label, ()):
            print(f"  {label}: {stmt}")
    for variant, (fig, sizes) in report.items():
        totals = {k: score.weighted(workload, v) for k, v in fig.items()}
        value = score.score(totals["none"], totals["best"], totals["advisor"])
        unit = "cost" if variant == "cost" else "ms"
        print(f"{variant:>4}: score {value:.3f}  T0 {totals['none']:,.1f} {unit}  "
              f"best {totals['best']:,.1f} ({len(best)} indexes, "
              f"{sizes['best'] / 2**20:.1f} MiB)  advisor {totals['advisor']:,.1f} "
              f"({len(mine)} indexes, {sizes['advisor'] / 2**20:.1f} MiB)")
        if "dexter-like" in totals:
            other = score.score(totals["none"], totals["best"], totals["dexter-like"])
            print(f"      dexter-like: score {other:.3f}, {totals['dexter-like']:,.1f} {unit} "
                  f"({len(dexter)} indexes, {sizes['dexter-like'] / 2**20:.1f} MiB)")
        cost_none, cost_mine = report["cost"][0]["none"], report["cost"][0]["advisor"]
        for n, (q, before, after) in enumerate(zip(workload, fig["none"], fig["advisor"],
                                                   strict=True)):
            worse = (after > before * 1.01 if variant == "cost"
                     else after > before * 1.2 and after - before > 0.5
                     and abs(cost_mine[n] - cost_none[n]) > cost_none[n] * 0.01)
            if worse:
                print(f"      regression: {q.label}: {before:.2f} -> {after:.2f} {unit}")


if __name__ == "__main__":
    main()
