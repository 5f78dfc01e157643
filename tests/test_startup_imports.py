"""``pgkeel migrate up`` and ``status`` load only what they use (issue 6, start-up time).

Python start-up and imports are most of a short run's time (see
``benchmarks/migrate.py``). Each command runs here on a real database with
``python -X importtime``, which lists every module the process imported; modules that
belong to other commands must not be among them, and the command must still work.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pgkeel.migrations
import pgkeel.report

# Loaded by other commands or options only: the importer (`migrate import`), pg_dump
# (`up --backup`), the local cluster (no database URL given), the audit (`check`:
# lint rules and the catalog reader) and the report renderers.
_NOT_FOR_MIGRATE = (
    "pgkeel.migrations.importer",
    "pgkeel.migrations.backup",
    "pgkeel.cluster",
    "pgkeel.lint",
    "pgkeel.catalog",
    "pgkeel.report.render_text",
    "pgkeel.report.render_sarif",
    "pgkeel.report.render_json",
)
_IMPORTED = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", re.MULTILINE)


def _modules_loaded(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "pgkeel", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
                          check=False)
    return done, set(_IMPORTED.findall(done.stderr))


@pytest.mark.parametrize("command", ["up", "status"])
def test_migrate_commands_skip_other_commands_modules(command: str, pg_url: str,
                                                       tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20240101000000_t.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n")
    done, loaded = _modules_loaded("migrate", command, "-d", pg_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "pgkeel.migrations.runner" in loaded or command == "status"
    assert "psycopg" in loaded  # the probe sees the imports the command needs
    unwanted = sorted(m for m in loaded if m.startswith(_NOT_FOR_MIGRATE))
    assert unwanted == []
    if command == "up":
        assert "applied 20240101000000 t" in done.stdout


def test_lazy_package_names_resolve() -> None:
    """Every name the two packages export resolves, to the object of its home module."""
    from pgkeel.migrations import runner, status_report

    assert sorted(pgkeel.migrations.__all__) == sorted(pgkeel.migrations._HOMES)
    for name in pgkeel.migrations.__all__:
        assert getattr(pgkeel.migrations, name) is not None, name
    assert pgkeel.migrations.up is runner.up
    assert pgkeel.migrations.status is status_report.status
    for name in ("render_json", "render_sarif", "render_text"):
        assert getattr(pgkeel.report, name).__name__ == f"pgkeel.report.{name}"
    with pytest.raises(AttributeError):
        _ = pgkeel.migrations.no_such_name


# `pgkeel lint FILE` offline: neither the Typer CLI, Rich, psycopg, the catalog reader nor
# the schema rules (each costs tens of ms; a pre-commit hook runs it on every commit).
_NOT_FOR_LINT = (
    "typer",
    "rich",
    "click",
    "psycopg",
    "pgkeel.cli",
    "pgkeel.catalog",
    "pgkeel.lint.schema",
    "pgkeel.lint.context",
    "pgkeel.check",
    # pglast's deparser (pglast.visitors imports pglast.stream and the printers): the
    # rules walk trees with _ddl.walk, and a one-file lint stays under the 0.3 s target.
    "pglast.visitors",
    "pglast.stream",
    "pglast.printers",
    *(f"pgkeel.lint.rules.{family}" for family in (
        "catalog_health", "columns", "indexes", "keys", "normalization", "policies",
        "privileges", "rls", "security", "types")),
)


def test_lint_one_file_skips_other_commands_modules(tmp_path: Path) -> None:
    (tmp_path / "one.sql").write_text("CREATE INDEX t_b_idx ON t (b);\n")
    done, loaded = _modules_loaded("lint", "one.sql", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "[require-concurrent-index]" in done.stdout
    assert "pgkeel.lint.migration.rules.hygiene" in loaded
    unwanted = sorted(m for m in loaded if m.startswith(_NOT_FOR_LINT))
    assert unwanted == []
