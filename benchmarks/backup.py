"""Benchmark: pgkeel backups against plain pg_dump / pg_restore, on Pagila scaled up.

Starts a throwaway cluster, loads ``../shared/data/pagila`` and scales it: ``--scale N``
adds N copies of every rental and payment (new ids, rental times shifted by whole
seconds so the unique index holds, payments in the same monthly partitions), then
``VACUUM ANALYZE``. About 150 copies make a 1 GB database; on a shared 2-core machine
pick a scale that finishes in minutes. Compared, each timed from process start to
exit, in rotated order every round:

- ``pgkeel create``: ``python -m pgkeel backup create`` (custom format, the
  compression it picks: gzip on 15 and on the PyPI 18 wheel, like pg_dump's default)
  against ``pg_dump -Fc`` (target: at most 1.05x);
- ``pgkeel create -Fd -j2`` against ``pgkeel create`` (custom);
- ``pgkeel verify``: ``python -m pgkeel backup verify --level restore`` (checksums, TOC,
  scratch database, restore in one transaction, sequence resync, ANALYZE, exact counts
  of every table, drop) against ``createdb`` + ``pg_restore -d`` of the same archive
  into an empty database (target: at most 1.3x).

Also reported: ``pgkeel create (lib)``, :func:`pgkeel.backup.create.create_backup`
called in this process (the work without interpreter start-up).

Usage::

    .venv/bin/python benchmarks/backup.py --pg 15 --scale 60 --runs 3

Figures (issue 10; PostgreSQL 15, ``--scale 60``: Pagila x61, 266 MB, archive about
1/3 of that; 3 rounds, medians; a 2-core machine at load 7-8 from other jobs):

- ``pg_dump -Fc`` 15.37 s; ``pgkeel create`` 17.19 s (1.12x); in-process
  ``create_backup`` 15.74 s (1.02x). The CLI's extra ~1.5 s is interpreter and import
  start-up (0.55 s of CPU, stretched by the load), fixed whatever the size.
- ``create -Fd -j2`` 17.07 s, 0.99x of custom: two jobs gain nothing with both cores
  already busy.
- ``pg_restore`` into a new database (create, restore, drop) 23.55 s; ``verify --level
  restore`` 23.71 s (1.01x), checksums, TOC, exact counts and the comparison included.
  An earlier run of the same scale, before the scratch restore stopped running
  ``ANALYZE`` and the sequence resync, measured 1.40x (at load 9, noisier: best 1.10x).
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
from pgkeel.backup.create import create_backup
from pgkeel.backup.store import list_backups
from pgkeel.cluster import Binaries, Cluster, available_binaries, throwaway
from pgkeel.connect import connect

_PAGILA = shared_data_dir() / "pagila"
_SCALE_SQL = """
INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date,
                    staff_id, last_update)
SELECT r.rental_id + k * 100000, r.rental_date + k * interval '1 second', r.inventory_id,
       r.customer_id, r.return_date, r.staff_id, r.last_update
FROM rental r CROSS JOIN generate_series(1, %(n)s) AS k;
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date)
SELECT p.payment_id + k * 100000, p.customer_id, p.staff_id, p.rental_id + k * 100000,
       p.amount, p.payment_date
FROM payment p CROSS JOIN generate_series(1, %(n)s) AS k;
SELECT setval('rental_rental_id_seq', (SELECT max(rental_id) FROM rental));
SELECT setval('payment_payment_id_seq', (SELECT max(payment_id) FROM payment));
"""


def _psql(binaries: Binaries, url: str, path: Path) -> None:
    subprocess.run([str(binaries.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                    "-d", url, "-f", str(path)], check=True, stdout=subprocess.DEVNULL)


def load(cluster: Cluster, binaries: Binaries, scale: int) -> str:
    """Create database ``pagila`` holding Pagila times ``scale`` + 1; return its URL."""
    with connect(cluster.url()) as conn:
        conn.execute("CREATE DATABASE pagila")
    url = cluster.url("pagila")
    _psql(binaries, url, _PAGILA / "pagila-schema.sql")
    _psql(binaries, url, _PAGILA / "pagila-data.sql")
    with connect(url) as conn:
        conn.execute(_SCALE_SQL.replace("%(n)s", str(int(scale))))
        conn.execute("VACUUM ANALYZE")
        size = conn.execute("SELECT pg_size_pretty(pg_database_size('pagila'))").fetchone()
    print(f"pagila x{scale + 1}: {size[0] if size else '?'}", file=sys.stderr)
    return url


def _timed(action: Callable[[], None]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def run(binaries: Binaries, scale: int, runs: int) -> dict[str, list[float]]:
    """Time every contender ``runs`` times; return seconds per contender."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="pgkeel-bench-backup-") as tmp, \
            throwaway(binaries, prefix="pgkeel-bench-") as cluster:
        work = Path(tmp)
        url = load(cluster, binaries, scale)
        pgkeel = [sys.executable, "-m", "pgkeel"]
        project = work / "project"
        project.mkdir()
        counter = iter(range(10**6))

        def pg_dump() -> None:
            subprocess.run([str(binaries.tool("pg_dump")), "-Fc", "-f",
                            str(work / f"plain{next(counter)}.dump"), "-d", url],
                           check=True, env=env)

        def create(*extra: str) -> Callable[[], None]:
            return lambda: subprocess.run(
                [*pgkeel, "backup", "create", "-d", url, "--project", str(project),
                 *extra], check=True, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)

        def create_lib() -> None:
            create_backup(url, work / "lib")

        contenders: dict[str, Callable[[], None]] = {
            "pg_dump -Fc": pg_dump, "pgkeel create": create(),
            "pgkeel create (lib)": create_lib,
            "pgkeel create -Fd -j2": create("--format", "directory", "--jobs", "2"),
        }
        for round_no in range(runs):
            names = list(contenders)
            names = names[round_no % len(names):] + names[:round_no % len(names)]
            for name in names:
                times.setdefault(name, []).append(_timed(contenders[name]))
        custom = next(e for e in list_backups(project / "backups")
                      if e.manifest and e.manifest.format == "custom")
        assert custom.manifest is not None
        archive = custom.path / custom.manifest.archive

        def pg_restore() -> None:
            name = f"plain_restore_{next(counter)}"
            with connect(cluster.url()) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            subprocess.run([str(binaries.tool("pg_restore")), "-d", cluster.url(name),
                            str(archive)], check=True, env=env)
            with connect(cluster.url()) as conn:  # verify drops its scratch database too
                conn.execute(sql.SQL("DROP DATABASE {}").format(sql.Identifier(name)))

        def verify() -> None:
            subprocess.run([*pgkeel, "backup", "verify", custom.id, "-d", url,
                            "--project", str(project)], check=True, env=env,
                           stdout=subprocess.DEVNULL)

        for round_no in range(runs):
            pair = [("pg_restore", pg_restore), ("pgkeel verify", verify)]
            for name, action in pair[round_no % 2:] + pair[:round_no % 2]:
                times.setdefault(name, []).append(_timed(action))
    return times


def report(times: dict[str, list[float]]) -> None:
    """Print median and best per contender, and the ratios the issue sets targets for."""
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, values in times.items():
        print(f"{name:24} median {med[name]:7.2f} s  best {min(values):7.2f} s")
    print(f"pgkeel create / pg_dump -Fc       {med['pgkeel create'] / med['pg_dump -Fc']:.2f}x"
          " (target <= 1.05x)")
    print(f"create (lib) / pg_dump -Fc        "
          f"{med['pgkeel create (lib)'] / med['pg_dump -Fc']:.2f}x")
    print(f"create -Fd -j2 / create (custom)  "
          f"{med['pgkeel create -Fd -j2'] / med['pgkeel create']:.2f}x")
    print(f"verify --level restore / pg_restore "
          f"{med['pgkeel verify'] / med['pg_restore']:.2f}x (target <= 1.3x)")


def main() -> None:
    """Parse the arguments, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", type=int, default=None, help="major version (default: "
                        "the newest found)")
    parser.add_argument("--scale", type=int, default=40, help="copies of rental and "
                        "payment added (about 150 for 1 GB)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    found = [b for b in available_binaries() if args.pg in (None, b.major)]
    if not found:
        sys.exit(f"no PostgreSQL {args.pg} found")
    report(run(found[-1], args.scale, args.runs))


if __name__ == "__main__":
    main()
