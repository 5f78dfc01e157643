"""Run one schema rule on a real database built from SQL, and apply its fixes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pgkeel.catalog import snapshot
from pgkeel.lint import lint_snapshot
from pgkeel.report import Finding
from pgkeel.report.render_text import fixes_script
from pgkeel.testing import TestDatabase

__all__ = ["apply_fixes", "findings"]


def findings(db: TestDatabase, rule: str, schema_sql: str = "") -> dict[str, Finding]:
    """Run ``schema_sql`` (if any) on ``db``, then ``rule``; findings by object."""
    with db.connect() as conn:
        if schema_sql:
            conn.execute(schema_sql)
        found = lint_snapshot(snapshot(conn), select=[rule])
    by_object = {f.object or "": f for f in found}
    assert len(by_object) == len(found), f"two findings on one object: {found}"
    return by_object


def apply_fixes(db: TestDatabase, found: Iterable[Finding], workdir: Path) -> None:
    """Run the suggested-fixes script of ``found`` with psql, as a user would.

    psql sends each statement on its own, so ``CREATE INDEX CONCURRENTLY`` works.
    """
    found = list(found)
    assert all(f.fix for f in found), found
    script = workdir / "fixes.sql"
    script.write_text(fixes_script(found) + "\n", encoding="utf-8")
    db.run_sql_file(script)
