"""Run one schema rule on a real database built from SQL, and apply its fixes.

:func:`prove_fixes` proves a rule's fixes both ways a user applies them: the script
``pgkeel check --fix-sql`` prints, run with ``psql -v ON_ERROR_STOP=1 -f``; and the
migrations ``pgkeel check --write-migration`` writes, applied with ``migrate up`` and
undone with ``migrate rollback``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgkeel.catalog import model as catalog_model
from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.connect import connect
from pgkeel.errors import IrreversibleMigration
from pgkeel.lint import lint_database
from pgkeel.lint.schema import audited
from pgkeel.migrations import rollback, up
from pgkeel.migrations.from_fixes import write_fix_migrations
from pgkeel.report import Finding
from pgkeel.report.fix_script import fix_sql, plan_fixes
from pgkeel.testing import TestDatabase

__all__ = ["apply_fixes", "findings", "prove_fixes", "undo_sql"]


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

    The script is exactly what ``pgkeel check --fix-sql`` prints for ``found``
    (:func:`~pgkeel.report.fix_script.fix_sql`).
    """
    found = list(found)
    assert all(f.fix for f in found), found
    script = workdir / "fixes.sql"
    script.write_text(fix_sql(found), encoding="utf-8")
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


# Sizes and row estimates change with a rewrite; fields the model leaves out of
# equality (queries, index scans, sequence positions, statistics' age) are not structure.
_NOT_STRUCTURE = {"size_bytes", "row_estimate"} | {
    f.name for cls in vars(catalog_model).values()
    if is_dataclass(cls) and isinstance(cls, type) for f in fields(cls) if not f.compare}


def _structure(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The audited catalog without sizes and row estimates (which a rewrite changes)."""
    plain = audited(read_catalog(conn)).to_dict()

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in _NOT_STRUCTURE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(plain)  # type: ignore[no-any-return]


def _differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Where two plain catalog structures differ, as ``path: before != after`` lines."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [d for k in sorted(set(before) | set(after), key=str)
                for d in _differences(before.get(k), after.get(k), f"{path}.{k}")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after, strict=True))
                for d in _differences(b, a, f"{path}[{i}]")]
    return [] if before == after else [f"{path}: {before!r} != {after!r}"[:1500]]


def _after_fix(db_url: str, rule: str, found: dict[str, Finding],
               before_all: set[tuple[str, str | None]],
               before: dict[str, list[tuple[str | None, ...]]], types: dict[str, str],
               how: str) -> None:
    """Assert the fixed state: findings gone, none new, every value the same."""
    with connect(db_url) as conn:
        after_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        after, _ = _table_values(conn, types)
    still = sorted(o for r, o in after_all if r == rule and o in found)
    assert not still, f"{rule} ({how}): still reported after its fix: {still}"
    new = sorted(after_all - before_all)
    assert not new, f"{rule} ({how}): its fix caused new findings: {new}"
    for column, rows in before.items():
        assert column in after, f"{rule} ({how}): column {column} is gone after the fix"
        assert after[column] == rows, f"{rule} ({how}): values of {column} changed"


def _prove_migration(db: TestDatabase, twin: str, rule: str, schema_sql: str, workdir: Path,
                     session_zone: str) -> None:
    """The fixes as ``check --write-migration`` writes them: up, re-check, rollback.

    ``twin`` is a copy of ``db`` made before ``schema_sql`` ran on it (so what a test
    set up first, such as roles' grants or an ``auth`` schema, is there too).
    """
    try:
        url = db.cluster.url(twin)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(schema_sql)
        with psycopg.connect(url, autocommit=True) as conn:
            found = {f.object or "": f for f in lint_database(conn, select=[rule])[1]}
            before_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
            before, types = _table_values(conn)
            structure = _structure(conn)
        directory = workdir / f"migrations-{twin}"  # one set per proof, never mixed
        paths = write_fix_migrations(found.values(), directory, f"fix {rule}")
        assert paths, f"{rule}: no migration written for {sorted(found)}"
        zoned = make_conninfo(url, options=f"-c TimeZone={session_zone}")
        up(zoned, directory)
        _after_fix(url, rule, found, before_all, before, types, "migration up")
        if any(f.fix and not f.fix_down for f in found.values()):
            with pytest.raises(IrreversibleMigration):
                rollback(zoned, directory, everything=True)
            return
        rollback(zoned, directory, everything=True)
        with psycopg.connect(url, autocommit=True) as conn:
            after = _structure(conn)
        assert after == structure, (
            f"{rule}: rollback left another catalog: {_differences(structure, after)}")
        with psycopg.connect(url, autocommit=True) as conn:
            restored, _ = _table_values(conn, types)
        assert restored == before, f"{rule}: values changed by the migration's up and down"
    finally:
        db.cluster.drop_database(twin)


def undo_sql(found: Iterable[Finding]) -> str:
    """The ``fix_down`` of each finding, newest fix first, each shared statement once.

    What a migration's down section holds (:func:`pgkeel.report.fix_script.plan_fixes`):
    a statement several undos repeat (dropping a shared trigger function) runs once,
    after the others.
    """
    plan = plan_fixes(found)
    return "\n".join(step.sql for part in (plan.down_inside, plan.down_outside)
                     for _finding, steps in part for step in steps)


def prove_fixes(db: TestDatabase, rule: str, schema_sql: str, workdir: Path,
                *, session_zone: str = "America/New_York") -> dict[str, Finding]:
    """Prove ``rule``'s fixes on ``db`` after ``schema_sql`` (which must insert rows).

    DESIGN.md principle 7: the rule must find something. Then, two ways:

    1. the script ``pgkeel check --fix-sql`` prints for those findings runs with psql
       ``ON_ERROR_STOP`` (in a session whose time zone is ``session_zone``, so a
       conversion that leans on the session's zone is caught);
    2. on a second database built from ``schema_sql``, the migrations
       ``check --write-migration`` writes are applied with ``migrate up`` (same zone),
       then undone with ``migrate rollback``: the catalog (sizes aside) and every value
       must be as before; when a fix has no ``fix_down``, the rollback must refuse
       (``IrreversibleMigration``) instead.

    After each fix, ``rule`` reports none of the fixed objects, no rule reports a
    finding that was not there before, and every value that existed before reads back
    the same (as text of its former type, in UTC; columns a fix added are not
    compared). Returns the findings that were fixed.
    """
    twin = db.cluster.create_database(template=db.name)
    found = findings(db, rule, schema_sql)
    assert found, f"{rule}: nothing found, so no fix was proved"
    with db.connect() as conn:
        before_all = {(f.rule, f.object) for f in lint_database(conn)[1]}
        before, types = _table_values(conn)
    assert any(before.values()), "prove_fixes needs rows: insert some in schema_sql"
    script = workdir / "fixes.sql"
    script.write_text(f"SET TimeZone = '{session_zone}';\n" + fix_sql(found.values()),
                      encoding="utf-8")
    db.run_sql_file(script)
    _after_fix(db.url, rule, found, before_all, before, types, "--fix-sql")
    _prove_migration(db, twin, rule, schema_sql, workdir, session_zone)
    return found
