"""``pgkeel connect``: the handshake.

With ``SUPABASE_URL`` and a key in ``src/.env`` it also does the skill's Supabase
handshake through supabase-py (:mod:`pgkeel.supabase_api`) and exits 3 when the API
cannot be reached.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, out, resolve_url, settings

if TYPE_CHECKING:
    from pgkeel.supabase_api import Handshake

__all__ = ["connect_command"]

_NOTABLE = ("pg_stat_statements", "hypopg", "pgcrypto", "uuid-ossp")


def connect_command(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Connect, run a minimal query, and print what the server offers.

    Example: [bold]pgkeel connect -d postgresql://app@localhost/app[/bold]
    """
    from rich.table import Table
    from rich.text import Text

    from pgkeel.connect import reach  # here: psycopg is this command's cost only

    facts = reach(resolve_url(database_url, project))
    api = _supabase(project, facts.rls_tables)
    if as_json:
        out.print_json(json.dumps({
            "dsn": facts.dsn,
            "server_version": facts.server_version,
            "database": facts.database,
            "user": facts.user,
            "latency_ms": round(facts.latency_ms, 3),
            "extensions_installed": {e.name: e.installed for e in facts.installed_extensions},
            "extensions_available": [e.name for e in facts.extensions],
            "rls_tables": list(facts.rls_tables),
            "shared_preload_libraries": None if facts.preload_libraries is None
            else list(facts.preload_libraries),
            "extensions_setup": {name: list(steps) for name in _NOTABLE
                                 if (steps := facts.setup_steps(name))},
            **({"supabase": asdict(api)} if api else {}),
        }))
        _exit_for(api)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    # Names come from the server and the user: Text cells keep "[...]" from being markup.
    table.add_row("connected", Text(facts.dsn))
    table.add_row("server", f"PostgreSQL {facts.server_version}")
    table.add_row("database", Text(facts.database))
    table.add_row("user", Text(facts.user))
    table.add_row("latency", f"{facts.latency_ms:.2f} ms (SELECT 1 round trip)")
    installed = ", ".join(f"{e.name} {e.installed}" for e in facts.installed_extensions)
    table.add_row("extensions", installed or "none installed")
    below: dict[str, tuple[str, ...]] = {}
    for name in _NOTABLE:
        ext = facts.extension(name)
        state = ("not available" if ext is None else
                 f"installed {ext.installed}" if ext.installed else "available")
        steps = facts.setup_steps(name)
        if ext and ext.installed and steps:
            state += ", not loaded"
        if len(steps) == 1:
            state += f": {steps[0]}"
        elif steps:
            state += ": steps below"
            below[name] = steps
        table.add_row(f"  {name}", Text(state))
    rls = f"{len(facts.rls_tables)} table(s): " + ", ".join(facts.rls_tables[:8]) \
        if facts.rls_tables else "no table has RLS enabled"
    table.add_row("row-level security", Text(rls))
    if api is not None:
        table.add_row("supabase", Text(f"{api.url} ({api.key_name}): {api.detail}"))
    out.print(table)
    # Steps go on lines of their own, never wrapped, so they can be pasted into psql.
    for name, steps in below.items():
        out.print(f"to use {name} (ALTER SYSTEM needs a superuser):")
        for number, step in enumerate(steps):
            # SQL runs as printed; a step in words is a comment ("then" only after one).
            words = f"  -- then {step}" if number else f"  -- {step}"
            out.print(Text(f"  {step};" if step[0].isupper() else words))
    _exit_for(api)


def _supabase(project: Path | None, rls_tables: tuple[str, ...]) -> Handshake | None:
    """The Supabase handshake when ``src/.env`` holds SUPABASE_URL and a key: a select
    on the first RLS table of ``public`` (what the API exposes), else on a table name
    PostgREST answers for even when absent (its error proves the API answered)."""
    from pgkeel.supabase_api import handshake, supabase_env

    found = supabase_env(settings(None, project).root)
    if found is None:
        return None
    url, key_name, key = found
    exposed = [t.removeprefix("public.") for t in rls_tables if t.startswith("public.")]
    return handshake(url, key_name, key, exposed[0] if exposed else "pgkeel_handshake")


def _exit_for(api: Handshake | None) -> None:
    """Exit 3 (after the output) when the Supabase API could not be reached."""
    if api is not None and not api.reached:
        err.print(f"error: Supabase API: {api.detail} — fix: check SUPABASE_URL and the "
                  "key in src/.env, and that the project is running", markup=False,
                  highlight=False)
        raise typer.Exit(3)
