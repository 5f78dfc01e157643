"""Personas for ``pgkeel rls test``: from a YAML file, or derived from the membership
table's rows.

The persona set follows the Supabase docs' "Test your policies" checklist and
basejump's ``supabase_test_helpers``: a user of tenant A, a user of tenant B, an
authenticated outsider, ``anon`` and ``service_role``. The YAML file::

    tenant_column: organization_id      # optional, this is the default
    personas:
      - {name: alice, role: authenticated, user_id: 0000...0a, tenant: 1}
      - {name: bob, role: authenticated, user_id: 0000...0b, tenant: 2}
      - {name: outsider, role: authenticated, user_id: 0000...ff}
      - {name: anon, role: anon}
      - {name: service, role: service_role}
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.errors import UsageError

__all__ = ["SERVICE_ROLE", "Persona", "Personas", "derive_personas", "load_personas"]

#: The role that bypasses RLS by design (Supabase docs, "Row Level Security").
SERVICE_ROLE = "service_role"


#: The derived outsider's user id: a fixed uuid no membership row holds.
_OUTSIDER = str(uuid.uuid5(uuid.NAMESPACE_URL, "pgkeel:rls:outsider"))


@dataclass(frozen=True, slots=True)
class Persona:
    """One identity: its database ``role``, JWT ``sub`` (``user_id``, None for anon or
    service_role) and the ``tenant`` it belongs to (None: belongs to none)."""

    name: str
    role: str
    user_id: str | None = None
    tenant: Any = None

    @property
    def bypasses(self) -> bool:
        """True for ``service_role``: it is expected to reach every row."""
        return self.role == SERVICE_ROLE

    def claims(self) -> dict[str, Any]:
        """The JWT claims PostgREST would put in ``request.jwt.claims``."""
        claims: dict[str, Any] = {"role": self.role}
        if self.user_id is not None:
            claims["sub"] = self.user_id
        return claims


@dataclass(frozen=True, slots=True)
class Personas:
    """The personas and the column naming a row's tenant in every tested table."""

    personas: tuple[Persona, ...]
    tenant_column: str = "organization_id"
    source: str = field(default="derived")


def load_personas(path: Path) -> Personas:
    """Read ``path`` (YAML, module docstring).

    Raises ``UsageError`` naming the file (and the persona) for unreadable YAML, a
    missing ``personas`` list, a persona without ``name`` or ``role``, or a duplicate
    name; ``OSError`` when the file cannot be read.
    """
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UsageError(f"{path} is not valid YAML: {exc}", path=path,
                         line=None if line is None else line + 1,
                         hint="fix the YAML syntax") from exc
    items = data.get("personas") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise UsageError(f"{path} has no 'personas' list", path=path,
                         hint="write personas: [{name: alice, role: authenticated, "
                         "user_id: ..., tenant: 1}, ...]")
    personas = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not item.get("name") or not item.get("role"):
            raise UsageError(f"{path}: persona {index + 1} needs a name and a role",
                             path=path, hint="e.g. {name: anon, role: anon}")
        user = item.get("user_id")
        personas.append(Persona(str(item["name"]), str(item["role"]),
                                None if user is None else str(user), item.get("tenant")))
    names = [p.name for p in personas]
    if len(set(names)) != len(names):
        raise UsageError(f"{path}: persona names repeat", path=path,
                         hint="give each persona its own name")
    column = data.get("tenant_column", "organization_id")
    return Personas(tuple(personas), str(column), str(path))


def derive_personas(conn: psycopg.Connection[Any], membership: str,
                    tenant_column: str) -> Personas | None:
    """Personas from the rows of ``membership`` (``schema.table``): one member of each
    of the first two tenants, an outsider (a fresh uuid), ``anon`` and
    ``service_role``. None when the table is missing or has fewer than two tenants.
    """
    schema, _, table = membership.rpartition(".")
    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                          [f"{schema or 'public'}.{table}"]).fetchone()
    if not exists or not exists[0]:
        return None
    rows = conn.execute(sql.SQL(
        "SELECT DISTINCT ON ({t}) {t}, user_id::text FROM {m} ORDER BY {t}, user_id LIMIT 2"
    ).format(t=sql.Identifier(tenant_column),
             m=sql.Identifier(schema or "public", table))).fetchall()
    if len(rows) < 2:
        return None
    (tenant_a, user_a), (tenant_b, user_b) = rows
    return Personas((
        Persona("member_a", "authenticated", user_a, tenant_a),
        Persona("member_b", "authenticated", user_b, tenant_b),
        Persona("outsider", "authenticated", _OUTSIDER),
        Persona("anon", "anon"),
        Persona("service_role", SERVICE_ROLE),
    ), tenant_column, f"derived from {schema or 'public'}.{table}")
