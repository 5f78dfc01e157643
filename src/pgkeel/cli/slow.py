"""``pgkeel slow``: the slowest statements, with N+1 and OFFSET pagination findings."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgkeel.cli._common import DatabaseUrl, ProjectDir, out, resolve_url

if TYPE_CHECKING:
    from pgkeel.advisor.querylog import LoggedShape
    from pgkeel.advisor.statements import Statement
    from pgkeel.report.findings import Finding

__all__ = ["slow_command"]


class SlowOrder(StrEnum):
    """``--order`` choices."""

    mean = "mean"
    total = "total"
    calls = "calls"


class SlowFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


class FailOnChoice(StrEnum):
    """``--fail-on`` choices."""

    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def slow_command(
    order: SlowOrder = typer.Option(SlowOrder.total, "--order",
                                    help="Sort by mean time per call, total time, or calls."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="Show this many statements."),
    log: Path | None = typer.Option(
        None, "--log", show_default=False,
        help="Read a PostgreSQL server log (log_min_duration_statement = 0) instead of "
        "pg_stat_statements: ordered per session, so N+1 runs show exactly."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    output_format: SlowFormat = typer.Option(SlowFormat.text, "--format",
                                             help="Output: a table, or JSON."),
    fail_on: FailOnChoice = typer.Option(
        FailOnChoice.error, "--fail-on",
        help="Exit 1 when a finding is at or above this severity ('never': always 0)."),
) -> None:
    """Show the slowest statements, and the N+1 lookups and OFFSET pages among them.

    Reads pg_stat_statements of the database, or with --log a server log.

    Example: [bold]pgkeel slow --order mean --limit 10[/bold],
    [bold]pgkeel slow --log /var/log/postgresql/postgresql-16-main.log[/bold]
    """
    from pgkeel.report import breaches, parse_fail_on, sort_findings

    if log is not None:
        rows, findings = _from_log(log)
        shown: list[dict[str, object]] = [
            {"query": s.sql, "calls": s.calls, "total_ms": s.total_ms, "mean_ms": s.mean_ms}
            for s in rows[:limit]]
    else:
        statements, findings = _from_stats(database_url, project, order.value)
        shown = [{"queryid": s.queryid, "query": s.query, "calls": s.calls,
                  "total_ms": s.total_ms, "mean_ms": s.mean_ms,
                  "rows_per_call": s.rows_per_call, "cache_hit_ratio": s.cache_hit_ratio,
                  "share": s.share} for s in statements[:limit]]
    findings = sort_findings(findings)
    if output_format is SlowFormat.json:
        typer.echo(json.dumps({"statements": shown,
                               "findings": [f.to_dict() for f in findings]},
                              indent=2, ensure_ascii=False))
    elif log is not None:
        _print_log(rows[:limit], findings)
    else:
        _print_stats(statements[:limit], findings)
    raise typer.Exit(1 if breaches(findings, parse_fail_on(fail_on.value)) else 0)


def _from_stats(database_url: str | None, project: Path | None,
                order: str) -> tuple[tuple[Statement, ...], tuple[Finding, ...]]:
    from pgkeel.advisor.nplus1 import n_plus_one, offset_pagination
    from pgkeel.advisor.statements import read_statements
    from pgkeel.connect import connect

    with connect(resolve_url(database_url, project)) as conn:
        statements = read_statements(conn, order=order)  # type: ignore[arg-type]
        findings = n_plus_one(conn, statements) + offset_pagination(statements)
    return statements, findings


def _from_log(path: Path) -> tuple[tuple[LoggedShape, ...], tuple[Finding, ...]]:
    from pgkeel.advisor.querylog import n_plus_one_runs, offset_pages, read_log, shapes

    logged = read_log(path)
    return shapes(logged), n_plus_one_runs(logged, path) + offset_pages(logged, path)


def _short(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 120 else text[:117] + "..."


def _print_stats(statements: tuple[Statement, ...], findings: tuple[Finding, ...]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(statements)} statements (pg_stat_statements, this database)",
                  title_justify="left")
    for column in ("calls", "mean ms", "total ms", "rows/call", "cache hit", "share"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("query", ratio=1)
    for s in statements:
        hit = "-" if s.cache_hit_ratio is None else f"{s.cache_hit_ratio:.1%}"
        table.add_row(f"{s.calls:,}", f"{s.mean_ms:,.3f}", f"{s.total_ms:,.1f}",
                      f"{s.rows_per_call:,.1f}", hit, f"{s.share:.1%}", Text(_short(s.query)))
    out.print(table)
    _print_findings(findings)


def _print_log(rows: tuple[LoggedShape, ...], findings: tuple[Finding, ...]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(rows)} statement shapes (server log)", title_justify="left")
    for column in ("calls", "mean ms", "total ms"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("query", ratio=1)
    for s in rows:
        table.add_row(f"{s.calls:,}", f"{s.mean_ms:,.3f}", f"{s.total_ms:,.1f}",
                      Text(_short(s.sql)))
    out.print(table)
    _print_findings(findings)


def _print_findings(findings: tuple[Finding, ...]) -> None:
    from pgkeel.report.render_text import findings_table, summary_line

    if findings:
        out.print(findings_table(findings))
    out.print(summary_line(findings))
