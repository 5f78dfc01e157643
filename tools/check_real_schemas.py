"""Run ``pgkeel check`` on real schemas nobody here wrote, then prove ``--fix-sql`` on each.

Loads, into one throwaway cluster (``pgkeel.cluster.throwaway``): Pagila (schema and
data), the three Chinook variants (each script creates and ``\\c``-connects to its own
database, so it is fed to psql against the maintenance database), Northwind, and the
skill's example (``pgkeel check --example``'s schema, :mod:`pgkeel.examples`). Then,
per database:

1. ``check`` (with the data rules): the count of findings per rule;
2. on a copy of the database (``CREATE DATABASE ... TEMPLATE``), the script
   ``check --fix-sql`` prints, run with ``psql -v ON_ERROR_STOP=1 -f``;
3. ``check`` again on the copy: what remains per rule, which fixed findings are still
   reported (should be none) and which findings are new (should be none);
4. on a second copy, the migrations ``check --write-migration`` writes: ``migrate up``,
   a re-check (the same findings as step 3), then ``migrate rollback --all`` when every
   fix has an undo (the findings of step 1 again), else the rollback must refuse.

Prints a table per database, then the whole result as JSON (``--json PATH`` also
writes it to a file). Exit status 0 when every script ran and left neither fixed
findings nor new ones, else 1. Loads run two at a time (the machine's two cores).

Usage::

    .venv/bin/python tools/check_real_schemas.py [--pg 15] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from psycopg import sql

from pgkeel._shared_data import shared_data_dir
from pgkeel.check import check
from pgkeel.cluster import Cluster, available_binaries, throwaway
from pgkeel.connect import connect
from pgkeel.errors import IrreversibleMigration
from pgkeel.examples import EXAMPLE_DATABASE, load_example
from pgkeel.migrations import rollback, up
from pgkeel.migrations.from_fixes import write_fix_migrations
from pgkeel.report.fix_script import fix_sql

_DEFAULT_DATA = shared_data_dir()


def _psql(cluster: Cluster, dbname: str, path: Path) -> str | None:
    """Run ``path`` with psql ON_ERROR_STOP on ``dbname``; None, or psql's error."""
    result = subprocess.run(
        [str(cluster.binaries.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
         "-d", cluster.url(dbname), "-f", str(path)],
        capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else result.stderr.strip()[-2000:]


def _create(cluster: Cluster, name: str, template: str = "template0") -> None:
    with connect(cluster.url()) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))


def loaders(cluster: Cluster, data: Path) -> dict[str, Callable[[], None]]:
    """``{database: load it}`` for every input found under ``data``."""
    def files(dbname: str, *paths: Path) -> Callable[[], None]:
        def load() -> None:
            _create(cluster, dbname)
            for path in paths:
                error = _psql(cluster, dbname, path)
                if error:
                    raise RuntimeError(f"{path.name}: {error}")
        return load

    def maintenance(path: Path) -> Callable[[], None]:
        def load() -> None:  # the script creates and \c-connects to its own database
            error = _psql(cluster, "postgres", path)
            if error:
                raise RuntimeError(f"{path.name}: {error}")
        return load

    found: dict[str, Callable[[], None]] = {}
    pagila = (data / "pagila" / "pagila-schema.sql", data / "pagila" / "pagila-data.sql")
    if all(p.exists() for p in pagila):
        found["pagila"] = files("pagila", *pagila)
    for variant, dbname in (("", "chinook"), ("_AutoIncrementPKs", "chinook_auto_increment"),
                            ("_SerialPKs", "chinook_serial")):
        path = data / "chinook" / f"Chinook_PostgreSql{variant}.sql"
        if path.exists():
            found[dbname] = maintenance(path)
    northwind = data / "northwind" / "northwind.sql"
    if northwind.exists():
        found["northwind"] = files("northwind", northwind)

    def example() -> None:
        load_example(cluster.url())

    found[EXAMPLE_DATABASE] = example
    return found


def _pairs(result: Any) -> set[tuple[str, str | None]]:
    return {(f.rule, f.object) for f in result.findings}


def audit(cluster: Cluster, dbname: str, workdir: Path) -> dict[str, Any]:
    """Check ``dbname``, run its --fix-sql on a copy, re-check the copy."""
    began = time.perf_counter()
    before = check(cluster.url(dbname))
    report: dict[str, Any] = {
        "tables": before.tables,
        "before": dict(sorted(Counter(f.rule for f in before.findings).items())),
        "check_ms": round((time.perf_counter() - began) * 1000),
    }
    script = fix_sql(before.findings)
    fixed = {(f.rule, f.object) for f in before.findings if f.fix}
    report["fixes"] = len(fixed)
    copy = f"{dbname}_fixed"
    _create(cluster, copy, template=dbname)
    path = workdir / f"{dbname}.fix.sql"
    path.write_text(script, encoding="utf-8")
    report["fix_error"] = _psql(cluster, copy, path) if script else None
    after = check(cluster.url(copy))
    report["after"] = dict(sorted(Counter(f.rule for f in after.findings).items()))
    report["still_reported"] = sorted(f"{r} {o}" for r, o in fixed & _pairs(after))
    report["new"] = sorted(f"{r} {o}" for r, o in _pairs(after) - _pairs(before))
    report["migration"] = _migration(cluster, dbname, workdir, before, after)
    return report


def _migration(cluster: Cluster, dbname: str, workdir: Path, before: Any, fixed: Any
               ) -> dict[str, Any]:
    """Apply the fixes as migrations on a copy, re-check, roll back, re-check."""
    copy = f"{dbname}_migrated"
    _create(cluster, copy, template=dbname)
    url = cluster.url(copy)
    directory = workdir / f"{dbname}.migrations"
    shutil.rmtree(directory, ignore_errors=True)  # --keep: a previous run's files
    paths = write_fix_migrations(before.findings, directory)
    outcome: dict[str, Any] = {"files": [p.name for p in paths]}
    try:
        up(url, directory)
    except Exception as exc:  # report it and go on with the next database
        outcome["up_error"] = f"{type(exc).__name__}: {exc}"
        return outcome
    outcome["after_up_matches_fix_sql"] = _pairs(check(url)) == _pairs(fixed)
    try:
        rollback(url, directory, everything=True)
    except IrreversibleMigration:
        outcome["rollback"] = "refused: a fix has no undo"
        return outcome
    except Exception as exc:
        outcome["rollback"] = f"failed: {type(exc).__name__}: {exc}"
        return outcome
    outcome["rollback"] = ("restored the findings" if _pairs(check(url)) == _pairs(before)
                           else "ran, but the findings differ from before")
    return outcome


def _table(results: dict[str, dict[str, Any]]) -> str:
    lines = []
    for dbname, report in results.items():
        if "error" in report:
            lines += [f"== {dbname}: {report['error']}", ""]
            continue
        ok = "ran" if report["fix_error"] is None else "FAILED"
        lines.append(f"== {dbname}: {report['tables']} tables, check {report['check_ms']} ms, "
                     f"{report['fixes']} fixes, --fix-sql {ok}")
        rules = sorted(set(report["before"]) | set(report["after"]))
        lines.append(f"   {'rule':<34} {'before':>6} {'after fix':>9}")
        lines += [f"   {rule:<34} {report['before'].get(rule, 0):>6} "
                  f"{report['after'].get(rule, 0):>9}" for rule in rules]
        if report["fix_error"]:
            lines.append(f"   psql: {report['fix_error'].splitlines()[-1]}")
        for what in ("still_reported", "new"):
            lines += [f"   {what.replace('_', ' ')}: {item}" for item in report[what]]
        migration = report["migration"]
        if "up_error" in migration:
            outcome = f"FAILED ({migration['up_error']})"
        else:
            same = "as" if migration["after_up_matches_fix_sql"] else "NOT as"
            outcome = f"ran, re-check {same} after --fix-sql, rollback {migration['rollback']}"
        lines.append(f"   --write-migration: {len(migration['files'])} file(s), up {outcome}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Load, check, fix and re-check every database; print the table and JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--pg", type=int, default=15, choices=(15, 18),
                        help="PostgreSQL major version (15)")
    parser.add_argument("--data", type=Path, default=_DEFAULT_DATA,
                        help=f"the shared data directory ({_DEFAULT_DATA})")
    parser.add_argument("--json", type=Path, help="also write the JSON result here")
    parser.add_argument("--keep", type=Path,
                        help="keep the fix scripts (DATABASE.fix.sql) in this directory "
                      "(default: discarded)")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        # Without it only the example would be checked, and the run would look clean.
        parser.error(f"no data directory {args.data}: pass --data DIR or set "
                     f"PGKEEL_SHARED_DATA")
    found = {b.major: b for b in available_binaries()}
    if args.pg not in found:
        parser.error(f"no PostgreSQL {args.pg} binaries found (have {sorted(found)})")
    results: dict[str, dict[str, Any]] = {}
    with throwaway(found[args.pg], prefix="pgkeel-real-") as cluster, \
            tempfile.TemporaryDirectory(prefix="pgkeel-fixes-") as scratch:
        workdir = args.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        loads = loaders(cluster, args.data)
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(load) for name, load in loads.items()}
        for name, future in futures.items():
            error = future.exception()
            if error is not None:
                results[name] = {"error": f"load failed: {error}"}
        print(f"loaded {len(loads)} databases in {time.perf_counter() - began:.1f} s "
              f"(PostgreSQL {args.pg})", file=sys.stderr)
        for name in loads:
            if name in results:
                continue
            try:
                results[name] = audit(cluster, name, workdir)
            except Exception as exc:  # one broken database must not hide the others
                results[name] = {"error": f"{type(exc).__name__}: {exc}"}
    print(_table(results))
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    bad = [n for n, r in results.items()
           if "error" in r or r["fix_error"] or r["still_reported"] or r["new"]
           or "up_error" in r["migration"] or not r["migration"]["after_up_matches_fix_sql"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
