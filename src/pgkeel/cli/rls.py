"""``pgkeel rls test``: prove tenant isolation by acting as each persona.

Calls :func:`pgkeel.rls.check_isolation` and prints a table x command x persona
matrix (each cell: the persona's own tenant's rows it reached / other tenants' rows),
then one error line per leak naming table, command, persona and policy. Exit 1 on a
leak (or when ``auth.uid()`` did not return a persona's id), 2 when there are no
personas, 3 when the database cannot be reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, note, out, resolve_url

if TYPE_CHECKING:
    from pgkeel.rls import Case, RlsReport

__all__ = ["app"]

app = typer.Typer(help="Row Level Security: prove tenant isolation.", no_args_is_help=True)


def _cell(case: Case) -> str:
    other = case.other.text()
    if case.leak:
        other = f"[bold red]{other}[/bold red]"
    if case.own is None:
        return f"other: {other}"
    own = case.own.text()
    if case.denied_own:
        own = f"[yellow]{own}[/yellow]"
    return f"own: {own} / other: {other}"


def _print(report: RlsReport) -> None:
    from rich.table import Table

    names = [p.name for p in report.personas.personas]
    grid = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("table", "command", *names):
        grid.add_column(escape(column))
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for case in report.cases:
        rows.setdefault((case.table, case.command), {})[case.persona] = _cell(case)
    for (table, command), cells in rows.items():
        grid.add_row(escape(table), command, *(cells.get(n, "-") for n in names))
    out.print(grid)


@app.command("test")
def test_command(
    personas_file: Path | None = typer.Option(
        None, "--personas", metavar="FILE", show_default=False,
        help="YAML personas (name, role, user_id, tenant). Default: derived from the "
        "membership table's rows."),
    membership: str = typer.Option("organization_members", "--membership", metavar="TABLE",
                                   help="Membership table to derive personas from."),
    tenant_column: str = typer.Option("organization_id", "--tenant-column",
                                      metavar="COLUMN",
                                      help="Tenant column (when personas are derived)."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Prove tenant isolation: act as each persona and report cross-tenant rows.

    Like PostgREST (SET LOCAL ROLE, request.jwt.claims, rolled back), on every table
    with RLS, for SELECT, INSERT, UPDATE and DELETE. Exits 1 on a leak.

    Example: [bold]pgkeel rls test --personas personas.yaml[/bold]
    """
    from pgkeel.catalog.introspect import snapshot
    from pgkeel.connect import connect
    from pgkeel.errors import UsageError
    from pgkeel.rls import check_isolation, derive_personas, load_personas

    url = resolve_url(database_url, project)
    with connect(url) as conn:
        if personas_file is not None:
            personas = load_personas(personas_file)
        else:
            derived = derive_personas(conn, membership, tenant_column)
            if derived is None:
                raise UsageError(f"no personas: {membership} is missing or links fewer "
                                 "than two tenants",
                                 hint="pass --personas FILE (see pgkeel rls test --help)")
            personas = derived
        report = check_isolation(conn, snapshot(conn), personas)
    note(f"personas: {personas.source}")
    for table in report.skipped:
        note(f"{table} has RLS but no {personas.tenant_column} column: not tested")
    if not report.tables:
        out.print(f"no table with RLS and a {personas.tenant_column} column")
    else:
        _print(report)
    for problem in report.uid_problems:
        err.print(f"error: {escape(problem)} — fix: make auth.uid() read request.jwt.claims "
                  "or request.jwt.claim.sub", markup=False)
    for case in report.leaks:
        policies = ", ".join(case.policies) or "no permissive policy (a grant or RLS off)"
        err.print(f"error: {case.table} {case.command}: persona {case.persona} reached "
                  f"{case.other.rows} row(s) of other tenants through policy {policies} — "
                  "fix: add the membership check to the policy's USING/WITH CHECK",
                  markup=False, highlight=False)
    out.print(f"rows leaked: {report.rows_leaked} "
              f"({len(report.leaks)} leak(s) in {len(report.cases)} case(s))")
    raise typer.Exit(0 if report.ok else 1)
