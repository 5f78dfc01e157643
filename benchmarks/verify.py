"""Benchmark: ``migrate verify`` of Harness's real history against a plain ``up``.

Starts a throwaway cluster (``pgkeel.cluster.throwaway``), imports
``../shared/data/harness-migrations/postgres`` (209 migrations) with
:func:`pgkeel.migrations.import_history`, and makes a template database holding the
upstream runner's ``migrations`` table. Each round, in rotated order:

- ``up``: :func:`pgkeel.migrations.up` of the whole history into a fresh database
  copied from the template (the engine, in this process);
- ``verify``: :func:`pgkeel.migrations.verify.verify` of the same history, on a
  scratch database copied from the same template (up, down, up again for each
  migration, with lock rehearsal; scratch database created and dropped inside).

Prints the median and best of each, the ratio ``verify / up`` (target: within 4x),
how many snapshots verify took and how many migrations are not reversible. Then loads
Pagila (``../shared/data/pagila``, schema and data) and times
:func:`pgkeel.catalog.snapshot` of it (target: under 100 ms) and of the catalog
fingerprint verify uses instead of a snapshot when it can
(:mod:`pgkeel.migrations._fingerprint`).

Usage::

    .venv/bin/python benchmarks/verify.py --pg 15 --runs 3

Figures (PostgreSQL 15, 2-core machine shared with up to 7 other jobs, so only
ratios taken in the same window compare): see the report of issue 9 (the figures move
with the load far more than between runs of the same code).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgkeel._shared_data import shared_data_dir
from pgkeel.catalog import snapshot
from pgkeel.cluster import Binaries, Cluster, available_binaries, throwaway
from pgkeel.connect import connect
from pgkeel.migrations import import_history, up
from pgkeel.migrations._fingerprint import fingerprint
from pgkeel.migrations.importer import DEFAULT_START
from pgkeel.migrations.verify import verify

_DATA = shared_data_dir()
_UPSTREAM_TABLE = "CREATE TABLE migrations (version text NOT NULL)"
_TEMPLATE = "harness_template"


def _create(cluster: Cluster, name: str, template: str = "template1") -> str:
    with connect(cluster.url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return cluster.url(name)


def _psql(binaries: Binaries, url: str, path: Path) -> None:
    subprocess.run([str(binaries.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", url, "-f", str(path)], check=True, capture_output=True)


def harness(cluster: Cluster, runs: int) -> tuple[dict[str, list[float]], int, int]:
    """Time ``up`` and ``verify`` of Harness's history, ``runs`` rounds, rotated.

    Returns the times in seconds by tool, the snapshots the last verify took and how
    many migrations it found not reversible.
    """
    project = Path(tempfile.mkdtemp(prefix="pgkeel-verify-bench-"))
    import_history(_DATA / "harness-migrations" / "postgres", project, "golang-migrate",
                   start=DEFAULT_START)
    with connect(_create(cluster, _TEMPLATE)) as conn:
        conn.execute(_UPSTREAM_TABLE)
    times: dict[str, list[float]] = {"up": [], "verify": []}
    snapshots = broken = 0
    for round_ in range(runs):
        for tool in (("up", "verify") if round_ % 2 == 0 else ("verify", "up")):
            began = time.perf_counter()
            if tool == "up":
                up(_create(cluster, f"plain_{round_}", _TEMPLATE), project)
            else:
                result = verify(cluster.url(), project, template=_TEMPLATE)
                snapshots = result.snapshots
                broken = sum(not m.reversible for m in result.migrations)
            times[tool].append(time.perf_counter() - began)
    return times, snapshots, broken


def pagila(cluster: Cluster, runs: int) -> dict[str, list[float]]:
    """Time a snapshot and a fingerprint of Pagila, ``runs`` times each after a warm-up."""
    url = _create(cluster, "pagila")
    for part in ("pagila-schema.sql", "pagila-data.sql"):
        _psql(cluster.binaries, url, _DATA / "pagila" / part)
    out: dict[str, list[float]] = {"snapshot": [], "fingerprint": []}
    with connect(url) as conn:
        snapshot(conn)
        fingerprint(conn)
        for _ in range(runs):
            began = time.perf_counter()
            snapshot(conn)
            out["snapshot"].append(time.perf_counter() - began)
            began = time.perf_counter()
            fingerprint(conn)
            out["fingerprint"].append(time.perf_counter() - began)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run on the requested server, print the figures. Returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", type=int, default=15, choices=(15, 18),
                        help="PostgreSQL major version (15)")
    parser.add_argument("--runs", type=int, default=3, help="rounds of up and verify (3)")
    args = parser.parse_args(argv)
    found = {b.major: b for b in available_binaries()}
    if args.pg not in found:
        parser.error(f"no PostgreSQL {args.pg} binaries found (have {sorted(found)})")
    with throwaway(found[args.pg], prefix="pgkeel-bench-") as cluster:
        timed, snapshots, broken = harness(cluster, args.runs)
        catalog = pagila(cluster, max(args.runs, 10))
    up_s, verify_s = statistics.median(timed["up"]), statistics.median(timed["verify"])
    print(f"harness (209 migrations), {args.runs} rounds, pg{args.pg}:")
    print(f"  up      median {up_s:7.2f} s  best {min(timed['up']):7.2f} s")
    print(f"  verify  median {verify_s:7.2f} s  best {min(timed['verify']):7.2f} s")
    print(f"  ratio verify/up {verify_s / up_s:.2f}x (target 4x); {snapshots} snapshots; "
          f"{broken} migrations not reversible")
    for name, values in catalog.items():
        print(f"pagila {name:<11} median {statistics.median(values) * 1000:6.1f} ms  "
              f"best {min(values) * 1000:6.1f} ms" + ("  (target < 100 ms)"
                                                      if name == "snapshot" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
