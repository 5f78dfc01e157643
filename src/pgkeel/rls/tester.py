"""``pgkeel rls test``: act as each persona the way PostgREST does, per RLS table and
command, and report every row of another tenant a persona can read or change.

Impersonation (PostgREST docs, "Authentication" and "Transactions"): inside one
transaction, ``SET LOCAL ROLE`` to the persona's role and the claims as transaction-
local settings, both ``request.jwt.claims`` (JSON) and the legacy per-claim
``request.jwt.claim.sub``/``.role``, so either version of ``auth.uid()`` sees the
persona. ``auth.uid()`` is checked first: a mismatch would make every "denied" case
pass for the wrong reason (pitfall R10 in Supabase test-helper reports). Everything is
rolled back.

How a denial shows depends on the command (Supabase docs, "Testing your policies";
CREATE POLICY docs): SELECT, UPDATE and DELETE filtered by USING return fewer rows
without an error, so rows are counted (``RETURNING``); an INSERT failing WITH CHECK,
or a missing grant, raises 42501. An INSERT is tried with a copy of an existing row of
the tenant: RLS's WITH CHECK runs before constraints, so any error other than 42501
(a duplicate key) still means the policy let the row in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.errors import DatabaseError
from pgkeel.rls.personas import Persona, Personas

__all__ = ["COMMANDS", "Case", "Outcome", "RlsReport", "check_isolation"]

COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_DENIED = "42501"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one statement did: ``allowed`` (rows counted in ``rows``; INSERT: 1) or
    denied; ``sqlstate`` of the error that denied it or that followed the policy."""

    allowed: bool
    rows: int = 0
    sqlstate: str | None = None

    def text(self) -> str:
        """``denied``, or ``N rows``."""
        return f"{self.rows} rows" if self.allowed else "denied"


@dataclass(frozen=True, slots=True)
class Case:
    """One table, command and persona: the outcome on the persona's own tenant's rows
    (None: it has no tenant) and on every other tenant's rows; ``leak`` when a
    non-bypassing persona reached another tenant's rows; ``denied_own`` when it could
    not reach its own; ``policies`` the policies that could have allowed it."""

    table: str
    command: str
    persona: str
    own: Outcome | None
    other: Outcome
    leak: bool
    denied_own: bool
    policies: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RlsReport:
    """The result: ``cases`` in table, command, persona order; ``uid_problems`` (one
    sentence each) when ``auth.uid()`` did not return a persona's id; ``skipped``
    tables with RLS but no tenant column."""

    personas: Personas
    tables: tuple[str, ...]
    cases: tuple[Case, ...]
    uid_problems: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()

    @property
    def leaks(self) -> tuple[Case, ...]:
        """The cases where a persona reached another tenant's rows."""
        return tuple(c for c in self.cases if c.leak)

    @property
    def rows_leaked(self) -> int:
        """Rows of other tenants readable or changeable, summed over the leaks."""
        return sum(c.other.rows for c in self.leaks)

    @property
    def ok(self) -> bool:
        """No leak, and every persona's identity reached ``auth.uid()``."""
        return not self.leaks and not self.uid_problems


def _policies(table: Table, command: str, role: str) -> tuple[str, ...]:
    """The permissive policies that apply to ``role`` for ``command``."""
    return tuple(p.name for p in table.policies if p.permissive
                 and p.command in (command, "ALL")
                 and (role in p.roles or "public" in p.roles))


def _impersonate(conn: psycopg.Connection[Any], persona: Persona) -> None:
    try:
        conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(persona.role)))
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot act as persona {persona.name}: {exc.diag.message_primary}",
            sqlstate=exc.sqlstate,
            hint=f"create role {persona.role}, and connect as a role that may SET ROLE to "
            f"it (GRANT {persona.role} TO the connecting role), as PostgREST's "
            "authenticator does") from exc
    conn.execute("SELECT set_config('request.jwt.claims', %s, true), "
                 "set_config('request.jwt.claim.sub', %s, true), "
                 "set_config('request.jwt.claim.role', %s, true)",
                 [json.dumps(persona.claims()), persona.user_id or "", persona.role])


def _uid_problem(conn: psycopg.Connection[Any], persona: Persona) -> str | None:
    if persona.user_id is None:
        return None
    try:
        with conn.transaction():
            row = conn.execute("SELECT auth.uid()::text").fetchone()
    except psycopg.Error as exc:
        return f"persona {persona.name}: auth.uid() failed: {exc.diag.message_primary}"
    got = row[0] if row else None
    if got != persona.user_id:
        return (f"persona {persona.name}: auth.uid() returned {got} instead of "
                f"{persona.user_id}; its cases would pass for the wrong reason")
    return None


def _count(conn: psycopg.Connection[Any], query: sql.Composable, params: list[Any]
           ) -> Outcome:
    try:
        with conn.transaction(force_rollback=True):
            return Outcome(True, len(conn.execute(query, params).fetchall()))
    except psycopg.Error as exc:
        state = exc.sqlstate
        return Outcome(state != _DENIED, 0, state)


def _insert(conn: psycopg.Connection[Any], target: sql.Composable, sample: Any
            ) -> Outcome:
    if sample is None:
        return Outcome(False, 0, "no row to copy")
    query = sql.SQL("INSERT INTO {t} SELECT * FROM jsonb_populate_record(NULL::{t}, %s)"
                    ).format(t=target)
    try:
        with conn.transaction(force_rollback=True):
            conn.execute(query, [json.dumps(sample)])
    except psycopg.Error as exc:
        # WITH CHECK runs before constraints: any other error came after the policy.
        return Outcome(exc.sqlstate != _DENIED, int(exc.sqlstate != _DENIED),
                       exc.sqlstate)
    return Outcome(True, 1)


def _blind(conn: psycopg.Connection[Any], table: Table, command: str, column: str,
           value: Any, own_rows: int) -> Outcome:
    """The rows beyond the persona's own tenant's that an UPDATE or DELETE reading no
    column reaches: SELECT policies apply only when a statement reads the table
    (CREATE POLICY docs, "Policies Applied by Command Type"), so a permissive UPDATE or
    DELETE policy leaks through it even when the SELECT policy is right."""
    target = sql.Identifier(table.schema, table.name)
    query = (sql.SQL("UPDATE {t} SET {c} = %s").format(t=target, c=sql.Identifier(column))
             if command == "UPDATE" else sql.SQL("DELETE FROM {t}").format(t=target))
    try:
        with conn.transaction(force_rollback=True):
            cursor = conn.execute(query, [value] if command == "UPDATE" else [])
            return Outcome(True, max(0, cursor.rowcount - own_rows))
    except psycopg.Error as exc:
        return Outcome(exc.sqlstate != _DENIED, 0, exc.sqlstate)


def _run(conn: psycopg.Connection[Any], table: Table, command: str, column: str,
         tenant: Any, own: bool, sample: Any) -> Outcome:
    """``command`` on the rows of ``tenant`` (``own``) or of every other tenant, as
    PostgREST sends it (a WHERE, and RETURNING)."""
    target = sql.Identifier(table.schema, table.name)
    col = sql.Identifier(column)
    where = (sql.SQL("{c} IS NOT DISTINCT FROM %s") if own
             else sql.SQL("{c} IS DISTINCT FROM %s")).format(c=col)
    if command == "INSERT":
        return _insert(conn, target, sample)
    query = {
        "SELECT": sql.SQL("SELECT 1 FROM {t} WHERE {w}"),
        "UPDATE": sql.SQL("UPDATE {t} SET {c} = {c} WHERE {w} RETURNING 1"),
        "DELETE": sql.SQL("DELETE FROM {t} WHERE {w} RETURNING 1"),
    }[command].format(t=target, c=col, w=where)
    return _count(conn, query, [tenant])


def _worst(a: Outcome, b: Outcome) -> Outcome:
    """The outcome reaching more rows (a denial only when both deny)."""
    if a.allowed and b.allowed:
        return a if a.rows >= b.rows else b
    return a if a.allowed else b


def _samples(conn: psycopg.Connection[Any], table: Table, column: str
             ) -> dict[Any, tuple[Any, int]]:
    """Per tenant of ``table``: one of its rows as JSON and its row count, read as the
    connecting role."""
    rows = conn.execute(sql.SQL(
        "SELECT DISTINCT ON ({c}) {c}, to_jsonb(t), count(*) OVER (PARTITION BY {c}) "
        "FROM {t} t ORDER BY {c}").format(
        c=sql.Identifier(column), t=sql.Identifier(table.schema, table.name))).fetchall()
    return {tenant: (row, count) for tenant, row, count in rows}


def _other_sample(samples: dict[Any, tuple[Any, int]], tenant: Any) -> Any:
    return next((row for key, (row, _) in samples.items() if key != tenant), None)


def check_isolation(conn: psycopg.Connection[Any], snapshot: Snapshot, personas: Personas
             ) -> RlsReport:
    """Act as every persona on every table of ``snapshot`` with RLS enabled.

    ``conn`` must be allowed to ``SET ROLE`` to each persona's role (a superuser, or
    PostgREST's authenticator); nothing it does is kept (each persona's work runs in
    a transaction that is rolled back). Tables with RLS but without
    ``personas.tenant_column`` are listed in ``skipped``. Raises ``DatabaseError`` when
    ``conn`` cannot act as a persona's role (missing, or not granted), and
    ``psycopg.Error`` for failures outside the tested statements.
    """
    column = personas.tenant_column
    rls_tables = [t for t in snapshot.tables if t.rls_enabled and t.schema not in
                  ("pg_catalog", "information_schema", "auth", "pgkeel")]
    tables = [t for t in rls_tables if any(c.name == column for c in t.columns)]
    skipped = tuple(t.qualified for t in rls_tables if t not in tables)
    samples = {t.qualified: _samples(conn, t, column) for t in tables}
    if not conn.autocommit:
        conn.rollback()
    cases: list[Case] = []
    problems: list[str] = []
    for persona in personas.personas:
        with conn.transaction(force_rollback=True):
            _impersonate(conn, persona)
            problem = _uid_problem(conn, persona)
            if problem:
                problems.append(problem)
                continue
            for table in tables:
                mine = samples[table.qualified]
                for command in COMMANDS:
                    own = None
                    own_row, own_rows = mine.get(persona.tenant, (None, 0))
                    if persona.tenant is not None:
                        own = _run(conn, table, command, column, persona.tenant, True,
                                   own_row)
                    other = _run(conn, table, command, column, persona.tenant, False,
                                 _other_sample(mine, persona.tenant))
                    if command in ("UPDATE", "DELETE") and mine:
                        value = persona.tenant if persona.tenant is not None \
                            else next(iter(mine))
                        other = _worst(other, _blind(conn, table, command, column,
                                                     value, own_rows))
                    cases.append(Case(
                        table.qualified, command, persona.name, own, other,
                        leak=other.allowed and other.rows > 0 and not persona.bypasses,
                        denied_own=own is not None and not own.allowed,
                        policies=_policies(table, command, persona.role)))
    cases.sort(key=lambda c: (c.table, COMMANDS.index(c.command)))
    return RlsReport(personas, tuple(t.qualified for t in tables), tuple(cases),
                     tuple(problems), skipped)
