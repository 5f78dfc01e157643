"""The tenant schema with the generated RLS migration applied, and personas for it."""

from __future__ import annotations

from pathlib import Path

from tenants import BASE, ORG_A, ORG_B, OUTSIDER, USER_A, USER_B

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.connect import connect
from pgkeel.migrations import runner
from pgkeel.migrations._write import write_migrations
from pgkeel.patterns import rls

PERSONAS = f"""
tenant_column: organization_id
personas:
  - {{name: alice, role: authenticated, user_id: "{USER_A}", tenant: {ORG_A}}}
  - {{name: bob, role: authenticated, user_id: "{USER_B}", tenant: {ORG_B}}}
  - {{name: outsider, role: authenticated, user_id: "{OUTSIDER}"}}
  - {{name: anon, role: anon}}
  - {{name: service, role: service_role}}
"""


def protected(url: str, tmp_path: Path) -> Path:
    """Create the tenant schema at ``url``, apply ``generate rls`` (with the auth stub)
    through the runner; return the personas file."""
    with connect(url) as conn:
        conn.execute(BASE)
        snap = read_catalog(conn)
    generated = rls.generate(snap, "projects", tenant_column="organization_id",
                             with_auth_stub=True)
    write_migrations(tmp_path / "migrations", [generated.draft])
    runner.up(url, tmp_path / "migrations")
    path = tmp_path / "personas.yaml"
    path.write_text(PERSONAS)
    return path
