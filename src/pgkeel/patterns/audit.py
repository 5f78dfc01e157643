"""``generate audit``: a supa_audit-style change history, without an extension.

The design follows supabase/supa_audit (its README and ``supa_audit--0.3.1.sql``):

- one table ``audit.record_version``: ``op``, ``ts``, ``table_oid``/``table_schema``/
  ``table_name``, ``record``/``old_record`` as jsonb, CHECK constraints tying which
  fields each op sets, and the acting user (``auth_uid``, ``auth_role``) read from
  PostgREST's ``request.jwt.claims`` when the request set it (PostgREST docs,
  "Transaction-Scoped Settings");
- a stable ``record_id``/``old_record_id`` derived from the table OID and the primary
  key values, so one row's history is an indexed lookup and equal keys of different
  tables never collide (supa_audit rejected raw keys, supabase/supa_audit#57). supa_audit
  takes a UUIDv5 from ``uuid-ossp``; here it is ``md5(...)::uuid`` so nothing needs an
  extension (a missing ``uuid-ossp`` broke inserts there, supa_audit#17);
- BRIN on ``ts`` (append-only, time-ordered: BRIN docs, 71.1), partial btrees on the
  record ids, a btree on ``table_oid`` (query history by OID, not by name);
- per table, an AFTER INSERT/UPDATE/DELETE row trigger and an AFTER TRUNCATE statement
  trigger; the trigger passes the primary key's column names as arguments, so no row
  pays a catalog lookup. Tables without a primary key are refused (supa_audit's
  ``enable_tracking`` does the same).

The trigger function is SECURITY DEFINER with an empty ``search_path`` (splinter lint
0011) so writers need no grant on ``audit``; EXECUTE is revoked from PUBLIC (a trigger
function is not checked for EXECUTE when it fires; CREATE TRIGGER docs).
"""

from __future__ import annotations

from collections.abc import Sequence

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.errors import UsageError
from pgkeel.patterns._common import Generated, comment, draft, find_table
from pgkeel.sqltext import ident, literal, qualified_ident

__all__ = ["SCHEMA", "TABLE", "generate"]

SCHEMA = "audit"
TABLE = "record_version"

_SETUP = [
    "CREATE SCHEMA IF NOT EXISTS audit;",
    """CREATE TABLE IF NOT EXISTS audit.record_version (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    record_id uuid,
    old_record_id uuid,
    op text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
    ts timestamptz NOT NULL DEFAULT pg_catalog.now(),
    table_oid oid NOT NULL,
    table_schema name NOT NULL,
    table_name name NOT NULL,
    record jsonb,
    old_record jsonb,
    auth_uid text,
    auth_role text,
    CHECK ((op IN ('INSERT', 'UPDATE')) = (record_id IS NOT NULL AND record IS NOT NULL)),
    CHECK ((op IN ('UPDATE', 'DELETE')) = (old_record_id IS NOT NULL
                                            AND old_record IS NOT NULL))
);""",
    "CREATE INDEX IF NOT EXISTS record_version_ts ON audit.record_version USING brin (ts);",
    "CREATE INDEX IF NOT EXISTS record_version_record_id ON audit.record_version "
    "(record_id) WHERE record_id IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS record_version_old_record_id ON audit.record_version "
    "(old_record_id) WHERE old_record_id IS NOT NULL;",
    "CREATE INDEX IF NOT EXISTS record_version_table_oid ON audit.record_version "
    "(table_oid);",
    """CREATE OR REPLACE FUNCTION audit.to_record_id(table_oid oid, pkey text[], rec jsonb)
    RETURNS uuid LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
    SELECT CASE WHEN rec IS NULL THEN NULL ELSE pg_catalog.md5(
        table_oid::text || ':' || (SELECT pg_catalog.jsonb_agg(rec -> k ORDER BY n)
                                   FROM pg_catalog.unnest(pkey) WITH ORDINALITY AS u(k, n)
                                  )::text)::uuid END
$$;""",
    """CREATE OR REPLACE FUNCTION audit.record_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
    new_rec jsonb;
    old_rec jsonb;
    claims jsonb := NULLIF(
        pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_rec := pg_catalog.to_jsonb(NEW);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_rec := pg_catalog.to_jsonb(OLD);
    END IF;
    INSERT INTO audit.record_version (record_id, old_record_id, op, table_oid,
                                      table_schema, table_name, record, old_record,
                                      auth_uid, auth_role)
    VALUES (audit.to_record_id(TG_RELID, TG_ARGV, new_rec),
            audit.to_record_id(TG_RELID, TG_ARGV, old_rec), TG_OP, TG_RELID,
            TG_TABLE_SCHEMA, TG_TABLE_NAME, new_rec, old_rec,
            claims ->> 'sub', claims ->> 'role');
    RETURN NULL;
END
$$;""",
    "REVOKE EXECUTE ON FUNCTION audit.record_change() FROM PUBLIC;",
]

_TEARDOWN = [
    "DROP FUNCTION IF EXISTS audit.record_change();",
    "DROP FUNCTION IF EXISTS audit.to_record_id(oid, text[], jsonb);",
    "DROP TABLE IF EXISTS audit.record_version;",
    "DROP SCHEMA IF EXISTS audit;",
]

ROW_TRIGGER = "audit_record_change"
TRUNCATE_TRIGGER = "audit_record_truncate"


def _installed(snapshot: Snapshot) -> bool:
    return any((t.schema, t.name) == (SCHEMA, TABLE) for t in snapshot.tables)


def _tracked(table: Table) -> bool:
    return any(t.name == ROW_TRIGGER for t in table.triggers)


def generate(snapshot: Snapshot, names: Sequence[str]) -> Generated:
    """The migration tracking every change to ``names`` in ``audit.record_version``
    (created by this migration when missing, and dropped by its down then).

    Raises ``UsageError`` for an unknown table, a table without a primary key, or
    when every table is tracked already.
    """
    tables = [find_table(snapshot, n) for n in dict.fromkeys(names)]
    for table in tables:
        if table.primary_key is None:
            raise UsageError(f"{table.qualified} has no primary key: its rows have no "
                             "stable identity to audit",
                             hint="add a primary key first (pgkeel check lists the fix)")
        if (table.schema, table.name) == (SCHEMA, TABLE):
            raise UsageError("audit.record_version cannot audit itself",
                             hint="name the application's tables")
    notes = [f"{t.qualified} is tracked already; skipped" for t in tables if _tracked(t)]
    todo = [t for t in tables if not _tracked(t)]
    if not todo:
        raise UsageError("nothing to generate: " + "; ".join(notes),
                         hint="name tables that are not audited yet")
    fresh = not _installed(snapshot)
    up: list[list[str]] = [list(_SETUP)] if fresh else []
    down: list[list[str]] = [list(_TEARDOWN)] if fresh else []
    for table in todo:
        target = qualified_ident(table.schema, table.name)
        assert table.primary_key is not None  # refused above
        keys = ", ".join(literal(c) for c in table.primary_key.columns)
        up.append([
            f"CREATE OR REPLACE TRIGGER {ident(ROW_TRIGGER)} AFTER INSERT OR UPDATE OR "
            f"DELETE ON {target}\n    FOR EACH ROW EXECUTE FUNCTION "
            f"audit.record_change({keys});",
            f"CREATE OR REPLACE TRIGGER {ident(TRUNCATE_TRIGGER)} AFTER TRUNCATE ON "
            f"{target}\n    FOR EACH STATEMENT EXECUTE FUNCTION audit.record_change();"])
        down.insert(0, [f"DROP TRIGGER IF EXISTS {ident(TRUNCATE_TRIGGER)} ON {target};",
                        f"DROP TRIGGER IF EXISTS {ident(ROW_TRIGGER)} ON {target};"])
    notes.append("a data-only restore or a COPY seed fires the audit triggers too: "
                 "disable them (ALTER TABLE ... DISABLE TRIGGER audit_record_change) "
                 "while loading, or the history doubles")
    if fresh:
        notes.append("the down drops audit.record_version and the history it holds")
    header = comment([
        "Audit trail (pgkeel generate audit), supa_audit's design without an extension.",
        "History of one row: SELECT * FROM audit.record_version WHERE record_id = "
        "audit.to_record_id('t'::regclass, ARRAY['id'], to_jsonb(row)) ORDER BY id;",
    ])
    return Generated(draft("audit " + " ".join(t.name for t in todo), up, down, header),
                     tuple(notes))
