"""generate soft-delete: partial unique indexes, a live-rows view, the RLS trap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from pattern_helpers import check_generated

from pgkeel.patterns import soft_delete
from pgkeel.testing import TestDatabase

BASE = """
CREATE TABLE public.projects (
    id bigint PRIMARY KEY, name text NOT NULL, owner_name text NOT NULL,
    CONSTRAINT projects_name_key UNIQUE (name));
CREATE TABLE public.tasks (id bigint PRIMARY KEY,
                          project_id bigint NOT NULL REFERENCES public.projects (id));
CREATE INDEX tasks_project_id_idx ON public.tasks (project_id);
INSERT INTO public.projects SELECT g, 'p' || g, 'sd_owner' FROM generate_series(1, 100) g;
INSERT INTO public.tasks SELECT g, g FROM generate_series(1, 100) g;
ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sd_owner') THEN
        CREATE ROLE sd_owner;
    END IF;
END $$;
GRANT SELECT, INSERT, UPDATE ON public.projects TO sd_owner;
CREATE POLICY projects_read ON public.projects FOR SELECT TO sd_owner
    USING (owner_name = current_user);
CREATE POLICY projects_update ON public.projects FOR UPDATE TO sd_owner
    USING (owner_name = current_user) WITH CHECK (owner_name = current_user);
"""


def exercise(conn: Any) -> None:
    conn.execute("GRANT SELECT ON public.projects_live TO sd_owner")
    conn.execute("SET ROLE sd_owner")
    # The owner soft-deletes through a statement that reads the table (RETURNING).
    done = conn.execute("UPDATE projects SET deleted_at = now() WHERE id = 1 "
                        "RETURNING id").fetchall()
    assert done == [(1,)]
    assert conn.execute("SELECT count(*) FROM projects_live").fetchone()[0] == 99
    conn.execute("RESET ROLE")
    # The deleted name is free again; a live duplicate is still refused.
    conn.execute("INSERT INTO projects VALUES (1001, 'p1', 'sd_owner')")
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute("INSERT INTO projects VALUES (1002, 'p2', 'sd_owner')")
    conn.rollback()
    # ON CONFLICT must repeat the predicate to infer the partial index.
    conn.execute("INSERT INTO projects VALUES (1003, 'p3', 'sd_owner') "
                 "ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING")
    with pytest.raises(psycopg.errors.InvalidColumnReference):
        conn.execute("INSERT INTO projects VALUES (1003, 'p3', 'sd_owner') "
                     "ON CONFLICT (name) DO NOTHING")
    conn.rollback()


def test_soft_delete_with_rls_and_children(pg_database: TestDatabase,
                                           tmp_path: Path) -> None:
    applied = check_generated(pg_database.url, tmp_path, BASE,
                              lambda s: soft_delete.generate(s, "projects"), exercise)
    notes = "\n".join(applied.generated.notes)
    assert "ON CONFLICT (\"name\") WHERE \"deleted_at\" IS NULL" in notes
    assert "public.tasks.tasks_project_id_fkey" in notes
    assert "42501" in notes
    assert "security_invoker = true" in applied.path.read_text()
