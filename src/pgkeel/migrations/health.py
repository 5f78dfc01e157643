"""What a migration run can leave half-done in the catalog: invalid indexes and
``NOT VALID`` constraints.

A failed ``CREATE INDEX CONCURRENTLY`` (or ``REINDEX CONCURRENTLY``) leaves an index
marked invalid: it costs every write and is never used for reads, and a retry with
``IF NOT EXISTS`` silently keeps it (PostgreSQL docs, ``CREATE INDEX``, "Building
Indexes Concurrently"). A constraint added ``NOT VALID`` and never validated leaves old
rows unchecked (``ALTER TABLE``, "VALIDATE CONSTRAINT"). ``up`` reports both after it
runs, as :class:`~pgkeel.report.findings.Finding` objects with the ids of the matching
catalog rules (``invalid-index``, ``not-valid-constraint``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg import sql

from pgkeel.report.findings import Finding, Severity

if TYPE_CHECKING:
    import psycopg

__all__ = ["invalid_indexes", "not_valid_constraints"]

_USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema')"


def invalid_indexes(conn: psycopg.Connection[tuple[object, ...]]) -> list[Finding]:
    """Return one warning per invalid index, with the ``DROP INDEX CONCURRENTLY`` to run.

    An index whose concurrent build is still running is invalid too; callers run this
    after their own statements finished, under pgkeel's lock.
    """
    rows = conn.execute(
        "SELECT n.nspname, c.relname, t.relname"
        " FROM pg_catalog.pg_index i"
        " JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_catalog.pg_class t ON t.oid = i.indrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE NOT i.indisvalid AND {_USER_SCHEMAS}"
        " ORDER BY 1, 2"
    ).fetchall()
    findings = []
    for schema, index, table in rows:
        name = sql.Identifier(str(schema), str(index))
        drop = sql.SQL("DROP INDEX CONCURRENTLY {};").format(name).as_string(conn)
        findings.append(Finding(
            rule="invalid-index",
            severity=Severity.WARNING,
            message=f"index {schema}.{index} on {table} is invalid (a failed concurrent "
            "build left it): it slows every write and is never used",
            object=f"{schema}.{index}",
            fix=f"{drop} then build it again",
        ))
    return findings


def not_valid_constraints(conn: psycopg.Connection[tuple[object, ...]]) -> list[Finding]:
    """Return one warning per ``NOT VALID`` constraint, with the ``VALIDATE`` to run."""
    rows = conn.execute(
        "SELECT n.nspname, t.relname, c.conname"
        " FROM pg_catalog.pg_constraint c"
        " JOIN pg_catalog.pg_class t ON t.oid = c.conrelid"
        " JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace"
        f" WHERE NOT c.convalidated AND {_USER_SCHEMAS}"
        " ORDER BY 1, 2, 3"
    ).fetchall()
    findings = []
    for schema, table, name in rows:
        validate = sql.SQL("ALTER TABLE {} VALIDATE CONSTRAINT {};").format(
            sql.Identifier(str(schema), str(table)), sql.Identifier(str(name))
        ).as_string(conn)
        findings.append(Finding(
            rule="not-valid-constraint",
            severity=Severity.WARNING,
            message=f"constraint {name} on {schema}.{table} is NOT VALID: rows older than "
            "it were never checked",
            object=f"{schema}.{table}.{name}",
            fix=validate,
        ))
    return findings
