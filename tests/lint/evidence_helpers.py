"""Run rules with a ``[check]`` config, and undo fixes: for the evidence-based rule tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgkeel.lint import lint_database
from pgkeel.lint.context import CheckConfig
from pgkeel.report import Finding
from pgkeel.testing import TestDatabase

__all__ = ["checked", "column_text", "run_script"]


def checked(db: TestDatabase, rule: str, schema_sql: str = "",
            **options: Any) -> dict[str, Finding]:
    """Run ``schema_sql``, then ``rule`` with ``options`` as its ``[check]`` options."""
    config = CheckConfig(options={rule: options}) if options else None
    with db.connect() as conn:
        if schema_sql:
            conn.execute(schema_sql)
        found = lint_database(conn, select=[rule], config=config)[1]
    return {f.object or "": f for f in found}


def run_script(db: TestDatabase, text: str, workdir: Path,
               zone: str = "America/New_York") -> None:
    """Run ``text`` with psql ``ON_ERROR_STOP``, in a session whose zone is ``zone``."""
    script = workdir / "script.sql"
    script.write_text(f"SET TimeZone = '{zone}';\n{text}\n", encoding="utf-8")
    db.run_sql_file(script)


def column_text(db: TestDatabase, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` read in UTC."""
    with db.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        return list(conn.execute(query).fetchall())
