"""Another tool's migration history in a database pgkeel has not migrated yet.

A team moving to pgkeel points it at a database its old tool migrated. pgkeel's own
history is empty there, so every file looks pending and ``up`` would run them all
again: harmless when the first one fails ("relation already exists"), damaging when
the files are idempotent (``CREATE ... IF NOT EXISTS``, ``DO $$ ... IF NOT EXISTS``,
as Supabase's dbmate migrations are written) and later ones change data. So ``up``
refuses and names ``pgkeel migrate baseline``.

The tables, as each tool creates them by default: dbmate, ``schema_migrations
(version varchar PRIMARY KEY)``, one row per applied file (``amacneil/dbmate``,
``pkg/driver/postgres/postgres.go``); golang-migrate, ``schema_migrations (version
bigint, dirty boolean)``, one row holding the last version applied
(``golang-migrate/migrate``, ``database/postgres/postgres.go``); diesel,
``__diesel_schema_migrations (version varchar(50), run_on timestamp)``, one row per
migration, the folder's digits without dashes (``diesel_migrations``). Rails'
``schema_migrations (version varchar)`` reads as dbmate's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from pgkeel.errors import Refused

if TYPE_CHECKING:
    from pgkeel.migrations.files import Migration

__all__ = ["refuse_rerun"]

_TABLES = ("schema_migrations", "__diesel_schema_migrations")
_SHOWN = 5  # file names listed before "and N more"


def refuse_rerun(conn: psycopg.Connection[tuple[object, ...]],
                 migrations: list[Migration]) -> None:
    """Raise ``Refused`` (exit 4) when another tool's history table (in the search
    path) records migrations that are files in ``migrations``; call only while
    pgkeel's own history has no row. A table whose versions match no file (another
    application's, or a history renumbered by ``import --start``) stops nothing.

    The hint names the ``baseline`` that adopts them: the newest recorded version
    that has a file here, and any file sorting before it that the table does not
    record (baseline would mark it applied too). A table that cannot be read is
    passed over: this is a guard, not a requirement.
    """
    for name in _TABLES:
        found = _read(conn, name)
        if found is None:
            continue
        where, versions, single = found
        refusal = _refusal(where, name, versions, single, migrations) if versions else None
        if refusal is not None:
            raise refusal


def _read(conn: psycopg.Connection[tuple[object, ...]],
          name: str) -> tuple[str, list[str], bool] | None:
    """``(qualified name, recorded versions, one-row golang-migrate layout)``, or None."""
    row = conn.execute(
        "SELECT c.oid::regclass::text, EXISTS (SELECT FROM pg_catalog.pg_attribute a"
        "  WHERE a.attrelid = c.oid AND a.attname = 'dirty' AND NOT a.attisdropped)"
        " FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(%s)", (name,)
    ).fetchone()
    if row is None:
        return None
    try:
        with conn.transaction():
            versions = [str(r[0]) for r in conn.execute(
                sql.SQL("SELECT version::text FROM {} WHERE version IS NOT NULL").format(
                    sql.Identifier(name))).fetchall()]
    except psycopg.Error:
        return None
    return str(row[0]), versions, bool(row[1])


def _refusal(where: str, name: str, versions: list[str], single: bool,
             migrations: list[Migration]) -> Refused | None:
    """The refusal when a recorded version is a file here, else None."""
    tool = ("diesel" if name.startswith("__diesel") else
            "golang-migrate" if single else "dbmate")
    if single:
        # golang-migrate keeps only the last version; every file up to it was applied.
        last = max(int(v) for v in versions if v.isdigit()) if any(
            v.isdigit() for v in versions) else None
        # The last version must itself be a file here (by value: golang-migrate
        # stores 0189 as 189), else the table is not this folder's history.
        known = last is not None and any(int(m.version) == last for m in migrations)
        applied = {m.version for m in migrations if known and int(m.version) <= (last or 0)}
        said = f"last version {versions[0]}"
    else:
        applied = {m.version for m in migrations} & set(versions)
        said = f"{len(versions)} version(s)"
    message = (f"this database holds {tool}'s migration history ({where}: {said}) and "
               "none of pgkeel's yet, so `up` would run the migrations it applied again")
    matched = [m for m in migrations if m.version in applied]
    if not matched:
        # No version is a file here: another application's table (Rails keeps one of
        # the same name), or a history renumbered by `import --start`, whose docs
        # name the baseline. Evidence, not a table name, decides a refusal.
        return None
    newest = matched[-1]
    skipped = [m.path.name for m in migrations
               if m.sort_key < newest.sort_key and m.version not in applied]
    gaps = ""
    if skipped:
        listed = ", ".join(skipped[:_SHOWN]) + (
            f" and {len(skipped) - _SHOWN} more" if len(skipped) > _SHOWN else "")
        gaps = (f"; it would also mark {listed} as applied, which {where} does not "
                "record: apply those by hand first, or move them after it")
    return Refused(message, hint=(
        f"record them as applied with `pgkeel migrate baseline {newest.version}` "
        f"({newest.path.name}, the last file {where} records), then `pgkeel migrate up`"
        f"{gaps}; if {where} is not this folder's history, rename it"))

