"""A minimal ``auth`` schema for plain PostgreSQL, mirroring Supabase's.

What Supabase provides and policies use: the roles ``anon`` and ``authenticated``
(NOLOGIN) and ``service_role`` (NOLOGIN, BYPASSRLS) (Supabase docs, "Row Level
Security" and "Postgres Roles"); ``auth.users`` (here only ``id`` and ``email``);
``auth.uid()``, ``auth.role()`` and ``auth.jwt()``. ``auth.uid()`` reads the legacy
``request.jwt.claim.sub`` setting first and falls back to ``request.jwt.claims ->>
'sub'`` like Supabase's own definition (a Supabase schema dump), so both ways
PostgREST passes identity work (PostgREST docs, "Transaction-Scoped Settings").
Roles belong to the whole cluster: only the ones missing from the snapshot are created,
and only those are dropped by the down.
"""

from __future__ import annotations

from pgkeel.catalog.model import Snapshot
from pgkeel.sqltext import ident, literal

__all__ = ["ROLES", "has_uid", "stub"]

#: Supabase's API roles and their attributes.
ROLES = {"anon": "NOLOGIN", "authenticated": "NOLOGIN", "service_role": "NOLOGIN BYPASSRLS"}

_SETTING = ("NULLIF(pg_catalog.current_setting({}, true), '')")
_CLAIMS = f"{_SETTING.format(literal('request.jwt.claims'))}::jsonb"


def has_uid(snapshot: Snapshot) -> bool:
    """True when the database has an ``auth.uid()`` function."""
    return any((f.schema, f.name, f.arguments) == ("auth", "uid", "")
               for f in snapshot.functions)


def stub(snapshot: Snapshot) -> tuple[list[str], list[str], list[str]]:
    """``(up, down, notes)`` creating the missing roles and the ``auth`` schema."""
    have = {r.name for r in snapshot.roles}
    missing = [r for r in ROLES if r not in have]
    up = [f"DO $$ BEGIN\n    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = "
          f"{literal(r)}) THEN\n        CREATE ROLE {ident(r)} {ROLES[r]};\n    END IF;\n"
          "END $$;" for r in missing]
    roles = ", ".join(ident(r) for r in ROLES)
    up += [
        "CREATE SCHEMA IF NOT EXISTS auth;",
        "CREATE TABLE IF NOT EXISTS auth.users (id uuid PRIMARY KEY, email text);",
        "CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE "
        f"SET search_path = '' AS $$ SELECT COALESCE({_CLAIMS}, '{{}}'::jsonb) $$;",
        "CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE "
        "SET search_path = '' AS $$ SELECT COALESCE("
        f"{_SETTING.format(literal('request.jwt.claim.sub'))}, {_CLAIMS} ->> 'sub')::uuid $$;",
        "CREATE OR REPLACE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE "
        "SET search_path = '' AS $$ SELECT COALESCE("
        f"{_SETTING.format(literal('request.jwt.claim.role'))}, {_CLAIMS} ->> 'role') $$;",
        f"GRANT USAGE ON SCHEMA auth TO {roles};",
    ]
    down = [
        f"REVOKE USAGE ON SCHEMA auth FROM {roles};",
        "DROP FUNCTION IF EXISTS auth.role();",
        "DROP FUNCTION IF EXISTS auth.uid();",
        "DROP FUNCTION IF EXISTS auth.jwt();",
        "DROP TABLE IF EXISTS auth.users;",
        "DROP SCHEMA IF EXISTS auth;",
    ] + [f"DROP ROLE IF EXISTS {ident(r)};" for r in reversed(missing)]
    notes = ["auth stub: for plain PostgreSQL only; on Supabase the auth schema and roles "
             "exist and this migration must not run"]
    if missing:
        notes.append(f"roles {', '.join(missing)} are created for the whole cluster; the "
                     "down drops them, which fails while another database uses them")
    return up, down, notes
