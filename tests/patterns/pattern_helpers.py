"""What every generator test does: write the migration, lint it, verify it, apply it
on a database with rows and roll it back, every stored value reading back the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgkeel.catalog.diff import compare
from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.catalog.model import Snapshot
from pgkeel.connect import connect
from pgkeel.lint.migration.config import LintConfig
from pgkeel.lint.migration.context import LintSettings
from pgkeel.lint.migration.live import catalog_facts
from pgkeel.lint.migration.run import lint_paths
from pgkeel.migrations import runner
from pgkeel.migrations._write import MigrationDraft, write_migrations
from pgkeel.migrations.verify import verify
from pgkeel.patterns import Generated
from pgkeel.report.findings import Severity


@dataclass
class Applied:
    """A generated migration applied on the test database: its file and notes."""

    path: Path
    generated: Generated


def rows(url: str) -> dict[str, list[str]]:
    """Every user table's rows as text, sorted (what must read back the same)."""
    out: dict[str, list[str]] = {}
    with connect(url) as conn:
        tables = conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'pgkeel') "
            "ORDER BY 1").fetchall()
        for (name,) in tables:
            out[name] = [r[0] for r in conn.execute(
                f"SELECT t::text FROM {name} t ORDER BY 1").fetchall()]
    return out


def check_generated(url: str, tmp_path: Path, base_sql: str,
                    generate: Callable[[Snapshot], Generated],
                    exercise: Callable[[Any], None] | None = None) -> Applied:
    """Create ``base_sql`` (schema and rows) at ``url``, generate, then prove the
    migration: lint (no warning or error), verify (reversible, with generated rows),
    apply, ``exercise(conn)`` inside a rolled-back transaction, roll back, compare rows.
    """
    with connect(url) as conn:
        conn.execute(base_sql)
        conn.commit()
        snap = read_catalog(conn)
    generated = generate(snap)
    live = tmp_path / "live"
    (path,) = write_migrations(live, [generated.draft])

    with connect(url) as conn:  # as `pgkeel lint -d URL`: the target's catalog and version
        facts = catalog_facts(conn)
    result = lint_paths([path], LintConfig(LintSettings()), catalog=facts)
    bad = [f for f in result.findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    assert not bad, [f"{f.rule}: {f.message} (line {f.line})" for f in bad]

    scratch = tmp_path / "verify"
    write_migrations(scratch, [MigrationDraft("base schema", base_sql,
                                              down="-- the test's base",
                                              down_noop=True)],
                     now=datetime(2000, 1, 1, tzinfo=UTC))
    (scratch / path.name).write_bytes(path.read_bytes())
    checked = verify(url, scratch, with_data=True, from_version=path.name.split("_")[0])
    assert [c.verdict for c in checked.migrations] == ["reversible"], \
        [(c.verdict, c.error, c.down_differences) for c in checked.migrations]

    before = rows(url)
    runner.up(url, live)
    if exercise is not None:
        with connect(url) as conn:
            conn.autocommit = False
            exercise(conn)
            conn.rollback()
    runner.rollback(url, live)
    assert rows(url) == before
    with connect(url) as conn:
        # The runner's own history (schema pgkeel) is the only thing left.
        left = [d for d in compare(snap, read_catalog(conn))
                if not (d.name == "pgkeel" or d.name.startswith("pgkeel."))]
        assert left == []
    return Applied(path, generated)
