"""Run one schema rule on a real database built from SQL, and apply its fixes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.lint import lint_database
from pgkeel.report import Finding
from pgkeel.report.render_text import fixes_script
from pgkeel.testing import TestDatabase

__all__ = ["apply_fixes", "findings", "prove_fixes"]


def findings(db: TestDatabase, rule: str, schema_sql: str = "") -> dict[str, Finding]:
    """Run ``schema_sql`` (if any) on ``db``, then ``rule``; findings by object."""
    with db.connect() as conn:
        if schema_sql:
            conn.execute(schema_sql)
        found = lint_database(conn, select=[rule])[1]
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


def _table_values(conn: psycopg.Connection[Any], types: dict[str, str] | None = None
                  ) -> tuple[dict[str, list[tuple[str | None, ...]]], dict[str, str]]:
    """Every user table's values per column, and each column's type.

    Each value is read as text of ``types[column]`` (the type it had before a fix;
    its own type when None), in UTC, so a fix that rounded a number or moved a
    timestamp through some other zone shows up. Rows are sorted, so columns compare
    as multisets whatever the physical order. Returns ``(values, types)``.
    """
    conn.execute("SET TimeZone = 'UTC'")
    columns = conn.execute(
        """SELECT format('%I.%I', n.nspname, c.relname), a.attname,
                  format_type(a.atttypid, a.atttypmod)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
             AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pgkeel')
             AND n.nspname NOT LIKE 'pg\\_%'
           ORDER BY 1, a.attnum""").fetchall()
    values: dict[str, list[tuple[str | None, ...]]] = {}
    seen: dict[str, str] = {}
    for table, column, type_ in columns:
        key = f"{table}.{column}"
        seen[key] = type_
        if types is not None and key not in types:
            continue  # added by the fix
        as_type = types[key] if types is not None else type_
        rows = conn.execute(sql.SQL("SELECT ({})::{}::text FROM {}").format(
            sql.Identifier(column), sql.SQL(as_type), sql.SQL(table))).fetchall()
        values[key] = sorted(rows, key=lambda r: (r[0] is None, r[0] or ""))
    return values, seen


def prove_fixes(db: TestDatabase, rule: str, schema_sql: str, workdir: Path,
                *, session_zone: str = "America/New_York") -> dict[str, Finding]:
    """Prove ``rule``'s fixes on ``db`` after ``schema_sql`` (which must insert rows).

    DESIGN.md principle 7: the rule must find something; its fix script runs with
    psql ``ON_ERROR_STOP`` (in a session whose time zone is ``session_zone``, so a
    conversion that leans on the session's zone is caught); afterwards ``rule``
    reports none of the fixed objects, no rule reports a finding that was not there
    before, and every value that existed before reads back the same (as text of
    its former type, in UTC; columns a fix added are not compared). Returns the
    findings that were fixed.
    """
    found = findings(db, rule, schema_sql)
    assert found, f"{rule}: nothing found, so no fix was proved"
    with db.connect() as conn:
        before_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        before, types = _table_values(conn)
    assert any(before.values()), "prove_fixes needs rows: insert some in schema_sql"
    script = workdir / "fixes.sql"
    script.write_text(f"SET TimeZone = '{session_zone}';\n"
                      + fixes_script(list(found.values())) + "\n", encoding="utf-8")
    db.run_sql_file(script)
    with db.connect() as conn:
        after_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        after, _ = _table_values(conn, types)
    still = sorted(o for r, o in after_all if r == rule and o in found)
    assert not still, f"{rule}: still reported after its fix: {still}"
    new = sorted(after_all - before_all)
    assert not new, f"{rule}: its fix caused new findings: {new}"
    for column, rows in before.items():
        assert column in after, f"{rule}: column {column} is gone after the fix"
        assert after[column] == rows, f"{rule}: values of {column} changed by the fix"
    return found
