"""``generate soft-delete``: a ``deleted_at`` column, partial unique indexes, a view of
live rows.

The pitfalls it handles come from Supabase's and PostgreSQL's docs and user reports:

- A unique constraint keeps a deleted row's key taken, so the same name cannot be
  created again; it becomes a partial unique index ``WHERE deleted_at IS NULL``
  (PostgreSQL docs, "Partial Indexes", 11.8, example 11.3). ``INSERT ... ON CONFLICT
  (cols)`` only infers a partial index when it repeats the predicate
  (INSERT docs, "ON CONFLICT Clause", ``index_predicate``): the notes list them.
- Reads of live rows go through a view; on PostgreSQL 15+ it is ``security_invoker``
  so the table's RLS policies apply to the caller, not the view's owner (CREATE VIEW
  docs; splinter lint 0010 ``security_definer_view``).
- The "not deleted" filter stays out of the SELECT policy: PostgreSQL applies the
  SELECT policy's USING to the new row of an UPDATE that reads the table (CREATE
  POLICY docs, "Policies Applied by Command Type"), so an owner setting
  ``deleted_at`` through PostgREST would get 42501 (supabase/supabase-js#1941).
- Foreign keys pointing at the table stay satisfied by a deleted parent: the notes
  name them.

Indexes are built and dropped ``CONCURRENTLY`` (CREATE INDEX docs, "Building Indexes
Concurrently"), so the section runs ``transaction:false``.
"""

from __future__ import annotations

from pgkeel.catalog.model import Snapshot, Table, UniqueConstraint
from pgkeel.errors import UsageError
from pgkeel.patterns._common import Generated, comment, draft, find_table
from pgkeel.sqltext import ident, qualified_ident

__all__ = ["COLUMN", "generate"]

#: The column that marks a row deleted.
COLUMN = "deleted_at"
_LIVE = f"{ident(COLUMN)} IS NULL"


def _name(base: str, suffix: str) -> str:
    """``base`` + ``suffix`` within PostgreSQL's 63-byte identifier limit."""
    room = 63 - len(suffix.encode())
    return base.encode()[:room].decode(errors="ignore") + suffix


def _build(table: Table, index: str, create: str) -> list[str]:
    """``create`` (a CONCURRENTLY build of ``index``) preceded by dropping what a failed
    earlier try left: an INVALID index that ``IF NOT EXISTS`` would keep skipping
    (lint rule ``concurrent-index-if-not-exists``; CREATE INDEX docs, "Building
    Indexes Concurrently")."""
    return [f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_ident(table.schema, index)};",
            create]


def _referenced(snapshot: Snapshot, table: Table, columns: tuple[str, ...]) -> list[str]:
    """Foreign keys of other tables whose referenced columns are ``columns``."""
    return [f"{other.qualified}.{fk.name}" for other in snapshot.tables
            for fk in other.foreign_keys
            if (fk.ref_schema, fk.ref_table) == (table.schema, table.name)
            and set(fk.ref_columns) == set(columns)]


def _convert(snapshot: Snapshot, table: Table, unique: UniqueConstraint,
             notes: list[str]) -> tuple[list[str], list[str]] | None:
    """The up and down statements turning ``unique`` into a partial unique index, or
    None (with a note) when it must stay a constraint."""
    target = qualified_ident(table.schema, table.name)
    cols = ", ".join(ident(c) for c in unique.columns)
    users = _referenced(snapshot, table, unique.columns)
    if users or unique.deferrable:
        why = (f"foreign keys {', '.join(users)} reference it" if users
               else "it is DEFERRABLE (a unique index is not)")
        notes.append(f"unique constraint {unique.name} on ({cols}) kept: {why}; a deleted "
                     "row keeps its key taken")
        return None
    partial = _name(unique.name, "_live")
    nulls = " NULLS NOT DISTINCT" if unique.nulls_not_distinct else ""
    notes.append(f"INSERT ... ON CONFLICT ({cols}) on {table.qualified} must now read "
                 f"ON CONFLICT ({cols}) WHERE {_LIVE} (the partial index {partial})")
    notes.append(f"restoring a row of {table.qualified} (deleted_at = NULL) fails with "
                 f"23505 when a live row has taken its ({cols})")
    up = [*_build(table, partial, f"CREATE UNIQUE INDEX CONCURRENTLY {ident(partial)} ON "
                  f"{target} ({cols}){nulls} WHERE {_LIVE};"),
          # The guarantee is not lost: the partial index above enforces it among live rows.
          f"-- pgkeel:disable drop-constraint -- {partial} now enforces it among live rows\n"
          f"ALTER TABLE {target} DROP CONSTRAINT IF EXISTS {ident(unique.name)};"]
    down = [*_build(table, unique.name, f"CREATE UNIQUE INDEX CONCURRENTLY "
                    f"{ident(unique.name)} ON {target} ({cols}){nulls};"),
            f"ALTER TABLE {target} ADD CONSTRAINT {ident(unique.name)} UNIQUE USING INDEX "
            f"{ident(unique.name)};",
            f"DROP INDEX CONCURRENTLY IF EXISTS {qualified_ident(table.schema, partial)};"]
    return up, down


def generate(snapshot: Snapshot, name: str) -> Generated:
    """The migration making ``name`` soft-deletable; see the module docstring.

    Raises ``UsageError`` for an unknown table or one that has ``deleted_at`` already.
    """
    table = find_table(snapshot, name)
    if any(c.name == COLUMN for c in table.columns):
        raise UsageError(f"{table.qualified} already has a {COLUMN} column",
                         hint="soft delete is set up; review its indexes by hand")
    target = qualified_ident(table.schema, table.name)
    notes: list[str] = []
    up = [[f"ALTER TABLE {target} ADD COLUMN IF NOT EXISTS {ident(COLUMN)} timestamptz;"]]
    down: list[list[str]] = []
    for unique in table.unique_constraints:
        if unique.primary:
            continue
        converted = _convert(snapshot, table, unique, notes)
        if converted is not None:
            up.append(converted[0])
            down.insert(0, converted[1])
    key = table.primary_key.columns if table.primary_key else (COLUMN,)
    live_index = _name(table.name, "_live_idx")
    up.append(_build(table, live_index, f"CREATE INDEX CONCURRENTLY {ident(live_index)} ON "
                     f"{target} ({', '.join(ident(c) for c in key)}) WHERE {_LIVE};"))
    down.insert(0, [f"DROP INDEX CONCURRENTLY IF EXISTS "
                    f"{qualified_ident(table.schema, live_index)};"])
    view = qualified_ident(table.schema, _name(table.name, "_live"))
    invoker = snapshot.server_version_num >= 150000
    option = " WITH (security_invoker = true)" if invoker else ""
    up.append([f"CREATE OR REPLACE VIEW {view}{option} AS\n"
               f"    SELECT * FROM {target} WHERE {_LIVE};"])
    down.insert(0, [f"DROP VIEW IF EXISTS {view};"])
    down.append([f"ALTER TABLE {target} DROP COLUMN IF EXISTS {ident(COLUMN)};"])
    if not invoker:
        notes.append(f"PostgreSQL {snapshot.server_version} has no security_invoker: "
                     f"the view {view} reads with its owner's rights, bypassing RLS; "
                     "grant it only to roles that may see every live row")
    for fk in _referenced_any(snapshot, table):
        notes.append(f"foreign key {fk} still accepts a soft-deleted parent: delete or "
                     "hide its children too (their reads may now show orphans)")
    if table.rls_enabled:
        notes.append(f"{table.qualified} has RLS: keep '{COLUMN} IS NULL' out of its SELECT "
                     "policy (reads filter through the view), or an owner's soft-delete "
                     "UPDATE fails with 42501")
        for policy in table.policies:
            if policy.command in ("SELECT", "ALL") and COLUMN in (policy.using or ""):
                notes.append(f"policy {policy.name} already filters on {COLUMN}: owners "
                             "cannot soft-delete through it; move the filter to the view")
    header = comment([
        f"Soft delete for {table.qualified} (pgkeel generate soft-delete).",
        f"Rows are deleted by setting {COLUMN}; read live rows through {view}.",
        "The down drops the column: which rows were deleted is lost, and restoring",
        "the unique constraints fails while a deleted row duplicates a live one.",
    ])
    return Generated(draft(f"soft delete {table.name}", up, down, header), tuple(notes))


def _referenced_any(snapshot: Snapshot, table: Table) -> list[str]:
    return [f"{other.qualified}.{fk.name}" for other in snapshot.tables
            for fk in other.foreign_keys
            if (fk.ref_schema, fk.ref_table) == (table.schema, table.name)]
