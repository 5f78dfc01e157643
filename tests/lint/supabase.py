"""A stand-in for Supabase's ``auth`` schema and API roles, built on a test database.

What the security rules must recognise, as a Supabase project has it (Supabase docs,
"Row Level Security"; PostgREST docs, "Authentication"):

- roles ``anon``, ``authenticated`` and ``service_role`` (``NOLOGIN``; the last
  ``BYPASSRLS``). Roles are cluster-wide and shared by every test database on the
  cluster, and tests run in parallel: they are created only when missing, a
  concurrent creation is tolerated, and they are never dropped;
- schema ``auth`` with ``auth.uid()`` reading the ``sub`` claim of
  ``request.jwt.claims`` and ``auth.jwt()`` returning the claims, and a minimal
  ``auth.users`` (its ``raw_user_meta_data`` is what users can edit);
- the grants Supabase gives: ``USAGE`` on ``public`` and ``auth`` to the API roles,
  and default privileges so every new table, sequence and function in ``public`` is
  theirs to use (per database, so per test).
"""

from __future__ import annotations

from pgkeel.testing import TestDatabase

__all__ = ["SUPABASE", "install_supabase"]

SUPABASE = """
DO $$
DECLARE r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'service_role'] LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN', r)
          || CASE WHEN r = 'service_role' THEN ' BYPASSRLS' ELSE '' END;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;  -- a parallel test won
      END;
    END IF;
  END LOOP;
END $$;
CREATE SCHEMA IF NOT EXISTS auth;
CREATE TABLE IF NOT EXISTS auth.users (
  id uuid PRIMARY KEY, email text, raw_user_meta_data jsonb, raw_app_meta_data jsonb
);
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('request.jwt.claims', true)::jsonb ->> 'sub', '')::uuid
$$;
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
GRANT USAGE ON SCHEMA public, auth TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public
  GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;
"""


def install_supabase(db: TestDatabase) -> None:
    """Give ``db`` Supabase's API roles, ``auth`` schema and default grants."""
    with db.connect() as conn:
        conn.execute(SUPABASE)
