"""``pgkeel check``: audit a database against the skill's Validation Checklist."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from pgkeel import __version__
from pgkeel.cli._common import DatabaseUrl, ProjectDir, note, out, settings
from pgkeel.examples import EXAMPLE_DATABASE

if TYPE_CHECKING:
    from pathlib import Path

    from pgkeel.check import CheckResult
    from pgkeel.config import Settings

__all__ = ["check_command"]


class OutputFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"
    sarif = "sarif"


class FailOnChoice(StrEnum):
    """``--fail-on`` choices."""

    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


_STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "not checked": "dim"}


def check_command(
    name: str | None = typer.Argument(
        None, metavar="[NAME]", show_default=False,
        help="With --write-migration: the migration's name (default: 'check fixes')."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    output_format: OutputFormat = typer.Option(
        OutputFormat.text, "--format", help="Output: a terminal report, JSON or SARIF 2.1.0."),
    fail_on: FailOnChoice = typer.Option(
        FailOnChoice.error, "--fail-on",
        help="Exit 1 when a finding is at or above this severity ('never': always 0)."),
    example: bool = typer.Option(
        False, "--example",
        help=f"Load the skill's e-commerce example into a database {EXAMPLE_DATABASE} "
        "on the target server (recreated if pgkeel made it; any other is left alone), "
        "and audit that."),
    no_data: bool = typer.Option(
        False, "--no-data",
        help="Read the catalog only, no rows: rules that judge from the data are skipped."),
    fix_sql: bool = typer.Option(
        False, "--fix-sql",
        help="Print only the fixes, as a script for psql -v ON_ERROR_STOP=1 -f "
        "(one transaction, then concurrent index builds)."),
    write_migration: bool = typer.Option(
        False, "--write-migration",
        help="Write the fixes as migration files (up and down) in the migrations "
        "directory, concurrent index builds in their own transaction:false file."),
) -> None:
    """Audit a database: the skill's Validation Checklist, then every finding.

    Exit code 0, or 1 when a finding is at or above --fail-on (default: error).
    The \\[check] table of pgkeel.toml selects rules, severities and options.

    Example: [bold]pgkeel check --example[/bold] (no database needed: uses the local
    cluster), [bold]pgkeel check -d postgresql://app@localhost/app --format sarif[/bold],
    [bold]pgkeel check --fix-sql > fixes.sql[/bold],
    [bold]pgkeel check --write-migration "index foreign keys"[/bold]
    """
    # Imported here, not at the top: the catalog, the rules and the renderers cost
    # ~100 ms that every other command (pgkeel migrate up ...) would pay for nothing.
    from pgkeel.check import check
    from pgkeel.dsn import redact
    from pgkeel.errors import UsageError
    from pgkeel.examples import load_example
    from pgkeel.lint.config import check_config
    from pgkeel.report import parse_fail_on, render_json, render_sarif
    from pgkeel.report.fix_script import fix_sql as fix_script
    from pgkeel.target import database_url as target_url

    if fix_sql and (write_migration or output_format is not OutputFormat.text):
        raise UsageError("--fix-sql prints only SQL: it goes with neither --format nor "
                         "--write-migration", hint="run them as two commands")
    if name is not None and not write_migration:
        raise UsageError(f"unexpected argument {name!r}",
                         hint="a NAME names the migration of --write-migration; add that flag")
    resolved = settings(database_url, project)
    config = check_config(resolved)
    url = target_url(resolved, notify=note)
    if example:
        note(f"loading the skill's e-commerce example into database {EXAMPLE_DATABASE} "
             f"on {redact(url)}")
        url = load_example(url)
    result = check(url, config, read_rows=not no_data, settings=resolved,
                   migrations=_migrations(resolved, url))
    if result.data_failures:
        # Said on stderr whatever the format: findings that need rows may be missing.
        shown = "; ".join(result.data_failures[:3])
        more = "; …" if len(result.data_failures) > 3 else ""
        note(f"warning: data queries failed ({len(result.data_failures)} reason(s): "
             f"{shown}{more}), so rules that judge from the rows may have missed findings "
             f"— fix: run check as a role that can SELECT every table, or raise [check] "
             f"statement_timeout_ms")
    threshold = parse_fail_on(fail_on.value)
    if fix_sql:
        typer.echo(fix_script(result.findings), nl=False)
    elif output_format is OutputFormat.json:
        typer.echo(render_json.render(result.findings, result.header()), nl=False)
    elif output_format is OutputFormat.sarif:
        typer.echo(render_sarif.render(result.findings, result.rules, tool_version=__version__,
                                       properties=result.header()), nl=False)
    else:
        _print_text(result, fail_on.value)
    if write_migration:
        _write_migration(result, resolved.resolve(resolved.migrations_dir), name)
    if example and not fix_sql:
        note("to audit your own database: pgkeel check --database-url "
             "postgresql://USER@HOST:5432/DBNAME (or set DATABASE_URL, or .env)")
    raise typer.Exit(1 if result.breaches(threshold) else 0)


def _migrations(resolved: Settings, url: str) -> tuple[str | None, Path] | None:
    """The migrations folder and the server to verify it on, or None without a folder.

    The scratch database goes on the local cluster when it runs, else on the audited
    database's server (as `pgkeel migrate verify` does), which needs CREATEDB there.
    """
    from pgkeel.target import local_cluster

    directory = resolved.resolve(resolved.migrations_dir)
    if not directory.is_dir():
        return None
    cluster = local_cluster(resolved)
    return (cluster.url() if cluster.status().state == "running" else url), directory


def _write_migration(result: CheckResult, directory: Path, name: str | None) -> None:
    from pgkeel.migrations.from_fixes import DEFAULT_NAME, write_fix_migrations

    paths = write_fix_migrations(result.findings, directory, name or DEFAULT_NAME)
    if not paths:
        note("no finding has a fix: no migration written")
        return
    for path in paths:
        note(f"wrote {path}")
    note("review them, then apply with `pgkeel migrate up`")


def _print_text(result: CheckResult, fail_on: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from pgkeel.report import parse_fail_on
    from pgkeel.report.render_text import findings_table, fixes_script, summary_line

    out.print(Text.assemble((result.database, "bold"),
                            f"  PostgreSQL {result.server_version}  ({result.tables} tables)",
                            "" if result.data_read else "  (--no-data: rows not read)"))
    table = Table(title="Validation Checklist", title_justify="left")
    table.add_column("status", no_wrap=True)
    table.add_column("item / detail", ratio=1)
    for item in result.checklist:
        cell = Text(item.item, style="bold")
        cell.append(f"\n{item.detail}", style="")
        table.add_row(Text(item.status, style=_STATUS_STYLE[item.status]), cell)
    out.print(table)
    if result.findings:
        out.print(findings_table(result.findings))
    script = fixes_script(result.findings)
    if script:
        out.print("Suggested fixes (review before running)", style="bold", markup=False)
        out.print(script, markup=False, highlight=False, emoji=False)
    breached = result.breaches(parse_fail_on(fail_on))
    out.print(f"{summary_line(result.findings)} (--fail-on {fail_on}: "
              f"{'fails' if breached else 'passes'})")
