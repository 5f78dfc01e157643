"""``pgkeel migrate verify``: prove each migration reversible on a scratch database.

Calls :func:`pgkeel.migrations.verify.verify`, prints one row per migration
(reversible, locks, rewrites, time) and then the findings, or JSON/SARIF with
``--format``. Exit 1 when a migration is not reversible (or verification stopped
early), 0 when all are.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, note, out

if TYPE_CHECKING:
    from pgkeel.migrations.verify import MigrationCheck, VerifyResult
    from pgkeel.report.findings import Finding

__all__ = ["verify_command"]


class VerifyFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"
    sarif = "sarif"


_VERDICT = {
    "reversible": "[green]yes[/green]",
    "no-down": "[red]no[/red]: no down",
    "down-fails": "[red]no[/red]: down fails",
    "down-incomplete": "[red]no[/red]: down incomplete",
    "reapply-fails": "[red]no[/red]: up again fails",
    "reapply-differs": "[red]no[/red]: up again differs",
    "up-fails": "[red]no[/red]: up fails",
}


def verify_command(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    from_version: str | None = typer.Option(
        None, "--from", metavar="VERSION", show_default=False,
        help="Verify from this version on; the migrations before it are applied first."),
    stats_from: str | None = typer.Option(
        None, "--stats-from", metavar="URL", show_default=False,
        help="A production database whose table sizes and row counts say what each lock "
        "would cost there (read only)."),
    with_data: bool = typer.Option(
        False, "--with-data",
        help="Fill every table with a few generated rows after each up; report downs "
        "that drop tables or columns holding rows (data-loss-on-rollback)."),
    template: str = typer.Option("template1", "--template",
                                 help="The database the scratch database is copied from."),
    output_format: VerifyFormat = typer.Option(VerifyFormat.text, "--format",
                                               help="text, json or sarif."),
) -> None:
    """Apply, roll back and re-apply each migration on a scratch database; report what
    each down leaves behind and what lock each up takes.

    The scratch database is created on the configured server (or the local cluster)
    and dropped afterwards. Exits 1 when a migration is not reversible.

    Example: [bold]pgkeel migrate verify --from 20240101000000 --stats-from "$PROD_URL"[/bold]
    """
    from pgkeel.cli.migrate import _target
    from pgkeel.migrations.verify import verify
    from pgkeel.migrations.verify_report import findings

    target = _target(database_url, project)
    progress = None
    if output_format is VerifyFormat.text and err.is_terminal:
        def progress(check: MigrationCheck) -> None:
            err.print(f"[dim]verified {check.version} {escape(check.name)}[/dim]")
    result = verify(target.url, target.directory, from_version=from_version,
                    template=template, stats_from=stats_from, with_data=with_data,
                    progress=progress)
    found = findings(result)
    code = 0 if result.ok else 1
    if output_format is VerifyFormat.json:
        from pgkeel.report import render_json

        typer.echo(render_json.render(found, _header(result)), nl=False)
    elif output_format is VerifyFormat.sarif:
        from pgkeel import __version__
        from pgkeel.migrations.verify_report import RULES
        from pgkeel.report import render_sarif

        typer.echo(render_sarif.render(found, RULES, tool_version=__version__,
                                       properties=_header(result)), nl=False)
    else:
        _print(result, found)
    raise typer.Exit(code)


def _header(result: VerifyResult) -> dict[str, object]:
    return {"ok": result.ok, "applied_before": result.before, "stopped": result.stopped,
            "elapsed_ms": result.elapsed_ms, "roles_left": list(result.roles_left),
            "migrations": [m.to_dict() for m in result.migrations]}


def _locks(check: MigrationCheck) -> str:
    if check.locks is None:
        return "[dim]not rehearsed (transaction:false)[/dim]"
    return "\n".join(escape(t.describe()) for t in check.locks) or "-"


def _print(result: VerifyResult, found: tuple[Finding, ...]) -> None:
    from rich.table import Table

    from pgkeel.report import render_text

    if not result.migrations:
        out.print("no migrations to verify")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("version", "name", "reversible", "locks", "rewrite", "ms"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    for m in result.migrations:
        verdict = _VERDICT[m.verdict] + ("\n[yellow]loses data[/yellow]" if m.data_loss else "")
        table.add_row(m.version, escape(m.name), verdict, _locks(m),
                      escape(", ".join(r.removeprefix("public.") for r in m.rewrites)) or "-",
                      str(m.up_ms))
    out.print(table)
    if result.before:
        note(f"{result.before} migration(s) before the range were applied first, unverified")
    if result.stopped:
        out.print(f"[bold red]stopped:[/bold red] {escape(result.stopped)}")
    if result.roles_left:
        note(f"roles the migrations created remain on the server (roles belong to the "
             f"whole cluster): {', '.join(result.roles_left)}; drop them with DROP ROLE "
             "when nothing else uses them")
    if found:
        out.print(render_text.findings_table(found))
    reversible = sum(m.reversible for m in result.migrations)
    out.print(f"{reversible} of {len(result.migrations)} migration(s) reversible "
              f"({result.elapsed_ms} ms)")

