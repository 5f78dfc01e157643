"""``generate timestamps``: ``created_at``/``updated_at`` and the trigger that keeps
``updated_at`` true.

Both columns are ``timestamptz NOT NULL DEFAULT now()``. ``now()`` is STABLE, so since
PostgreSQL 11 ``ADD COLUMN ... DEFAULT now()`` stores the value once in the catalog
instead of rewriting the table: existing rows read the migration's time, without a
backfill UPDATE and without a long lock (ALTER TABLE docs, Notes). One shared trigger
function per schema (``pgkeel_set_updated_at``, the one the ``updated-at-not-maintained``
fix installs) stamps ``updated_at``; the trigger's ``WHEN (OLD.* IS DISTINCT FROM
NEW.*)`` skips no-op updates (CREATE TRIGGER docs, "WHEN"; the moddatetime pitfall in
Supabase's docs), so a row that did not change keeps its stamp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.errors import UsageError
from pgkeel.lint.rules._catalog import SET_UPDATED_AT
from pgkeel.patterns._common import Generated, comment, draft, find_table
from pgkeel.report.findings import Finding
from pgkeel.sqltext import ident, qualified_ident

__all__ = ["RULES", "generate", "reported_tables"]

#: The schema rules whose tables ``--all`` covers.
RULES = ("missing-timestamps", "updated-at-not-maintained")

_FUNCTION_BODY = ("RETURNS trigger LANGUAGE plpgsql SET search_path = '' AS $$\n"
                  "BEGIN\n    NEW.updated_at := pg_catalog.now();\n    RETURN NEW;\nEND\n$$;")


def reported_tables(snapshot: Snapshot, findings: Iterable[Finding]) -> list[str]:
    """The ``schema.table`` names of the tables ``findings`` of :data:`RULES` name, in
    the snapshot's order, once each."""
    named = {f.object for f in findings if f.rule in RULES and f.object}
    return [t.qualified for t in snapshot.tables
            if t.qualified in named or f"{t.schema}.{t.name}" in named]


def _has_function(snapshot: Snapshot, schema: str) -> bool:
    return any(f.schema == schema and f.name == SET_UPDATED_AT and f.arguments == ""
               for f in snapshot.functions)


def _stamped(table: Table) -> bool:
    """True when a BEFORE UPDATE row trigger of ``table`` runs pgkeel's function."""
    return any(t.timing == "BEFORE" and "UPDATE" in t.events and t.level == "ROW"
               and t.function.rsplit(".", 1)[-1].strip('"').startswith(SET_UPDATED_AT)
               for t in table.triggers)


def _trigger_name(table: Table) -> str:
    used = {t.name for t in table.triggers}
    return next(n for i in range(len(used) + 1)
                if (n := SET_UPDATED_AT + (f"_{i}" if i else "")) not in used)


def generate(snapshot: Snapshot, names: Sequence[str]) -> Generated:
    """The migration adding the missing timestamp columns and triggers to ``names``.

    Columns that exist are kept as they are (a note says so); a table already stamped
    by pgkeel's trigger gets no second one. Raises ``UsageError`` for an unknown table,
    or when every table already has both columns and the trigger.
    """
    tables = [find_table(snapshot, n) for n in dict.fromkeys(names)]
    notes: list[str] = []
    up: list[list[str]] = []
    down: list[list[str]] = []
    functions: set[str] = set()
    for table in tables:
        have = {c.name: c for c in table.columns}
        add = [c for c in ("created_at", "updated_at") if c not in have]
        for name in ("created_at", "updated_at"):
            if name in have and have[name].type_name != "timestamptz":
                notes.append(f"{table.qualified}.{name} exists as {have[name].type}; "
                             "kept as it is")
        trigger = None if _stamped(table) else _trigger_name(table)
        if not add and trigger is None:
            notes.append(f"{table.qualified} already has both columns and the trigger")
            continue
        target = qualified_ident(table.schema, table.name)
        function = qualified_ident(table.schema, SET_UPDATED_AT)
        if trigger is not None and not _has_function(snapshot, table.schema) \
                and table.schema not in functions:
            functions.add(table.schema)
            up.insert(0, [f"CREATE OR REPLACE FUNCTION {function}() {_FUNCTION_BODY}"])
            down.append([f"DROP FUNCTION IF EXISTS {function}();"])
        group, undo = [], []
        if trigger is not None:
            group.append(f"CREATE OR REPLACE TRIGGER {ident(trigger)} BEFORE UPDATE "
                         f"ON {target}\n"
                         "    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*)\n"
                         f"    EXECUTE FUNCTION {function}();")
            undo.append(f"DROP TRIGGER IF EXISTS {ident(trigger)} ON {target};")
        if add:
            group.append(f"ALTER TABLE {target}\n" + ",\n".join(
                f"    ADD COLUMN IF NOT EXISTS {ident(c)} timestamptz NOT NULL "
                "DEFAULT pg_catalog.now()"
                for c in add) + ";")
            undo.append(f"ALTER TABLE {target}\n" + ",\n".join(
                f"    DROP COLUMN IF EXISTS {ident(c)}" for c in reversed(add)) + ";")
        up.append(group)
        down.insert(0, undo)
    if not any(up):
        raise UsageError("nothing to generate: " + "; ".join(notes),
                         hint="name tables that lack created_at/updated_at or the trigger")
    header = comment([
        "Row timestamps (pgkeel generate timestamps).",
        "created_at/updated_at: timestamptz NOT NULL DEFAULT now(); existing rows read",
        "this migration's time (a catalog default, no table rewrite, PostgreSQL 11+).",
        "updated_at is stamped by a BEFORE UPDATE trigger on real changes only.",
        "The down drops the columns: the stamps they hold are lost.",
    ])
    return Generated(draft("add row timestamps", up, down, header), tuple(notes))
