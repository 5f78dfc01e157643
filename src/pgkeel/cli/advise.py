"""``pgkeel advise indexes``: the index set that serves a workload, with its evidence."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, note, out, settings

if TYPE_CHECKING:
    from pgkeel.advisor.indexes import IndexAdvice
    from pgkeel.advisor.verify import Verification
    from pgkeel.advisor.workload import WorkloadQuery

__all__ = ["app", "indexes_command"]

app = typer.Typer(help="Advice from the workload: indexes.", no_args_is_help=True)

#: Statements read from pg_stat_statements for ``--workload stats``, by total time.
STATS_LIMIT = 100
_SHOWN = 5  # skipped queries listed in text output


class OutputFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


class HypoChoice(StrEnum):
    """``--hypopg`` choices."""

    auto = "auto"
    on = "on"
    off = "off"


@app.command("indexes")
def indexes_command(
    workload: str = typer.Option(
        "stats", "--workload", "-w",
        help="'stats' (pg_stat_statements: the statements with the most total time, "
        "calls as weights) or a SQL file of queries (`-- weight: N` before a query "
        "sets its weight; default 1)."),
    verify: bool = typer.Option(
        False, "--verify",
        help="Time the workload on a scratch copy before and after the indexes are built."),
    write_migration: bool = typer.Option(
        False, "--write-migration",
        help="Write the indexes as a new transaction:false migration in the migrations "
        "directory."),
    name: str = typer.Option("add advised indexes", "--name",
                             help="With --write-migration: the migration's name."),
    hypopg: HypoChoice = typer.Option(
        HypoChoice.auto, "--hypopg",
        help="auto: HypoPG when the extension is created in the database; on: require "
        "it; off: build every candidate on a scratch copy."),
    min_gain: float = typer.Option(
        1.0, "--min-gain", min=0.0, max=100.0,
        help="Least share (%) of the workload's estimated cost an index must save."),
    output_format: OutputFormat = typer.Option(OutputFormat.text, "--format",
                                               help="A terminal report or JSON."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Advise ONE index set for the whole workload, proved by the planner.

    Candidates come from each query's parse tree (equality, range, join and ORDER BY
    columns, expressions, partial predicates, text_pattern_ops, GIN); each is costed
    with HypoPG or built on a scratch copy; an index that serves several queries
    beats several that serve one, write cost counts, and nothing an existing index
    covers is suggested. Exit 1 when indexes are suggested, 0 when none is needed.

    Example: [bold]pgkeel advise indexes --workload queries.sql --verify[/bold]
    """
    from pgkeel.advisor.indexes import advise_indexes
    from pgkeel.target import database_url as target_url

    resolved = settings(database_url, project)
    url = target_url(resolved, notify=note)
    queries = _workload(workload, url)
    quiet = output_format is OutputFormat.json
    progress = None if quiet else note
    advice = advise_indexes(url, queries, hypopg=None if hypopg is HypoChoice.auto
                            else hypopg is HypoChoice.on, min_total_gain=min_gain / 100,
                            progress=progress)
    checked = None
    if verify:
        from pgkeel.advisor.verify import verify_advice

        checked = verify_advice(url, queries, advice, progress=progress)
    if output_format is OutputFormat.json:
        typer.echo(json.dumps({"advice": asdict(advice), "reduction": advice.reduction,
                               "verification": asdict(checked) if checked else None},
                              indent=2))
    else:
        _print(advice, checked)
    if write_migration:
        from pgkeel.advisor.migration import write_index_migration

        paths = write_index_migration(advice, resolved.resolve(resolved.migrations_dir), name)
        for path in paths:
            note(f"wrote {path}; review it, then apply with `pgkeel migrate up`")
        if not paths:
            note("no index to build: no migration written")
    raise typer.Exit(1 if advice.suggestions else 0)


def _workload(source: str, url: str) -> tuple[WorkloadQuery, ...]:
    from pgkeel.advisor.workload import from_statements, read_workload_file
    from pgkeel.errors import UsageError

    if source != "stats":
        return read_workload_file(Path(source))
    from pgkeel.advisor.statements import read_statements
    from pgkeel.connect import connect

    with connect(url) as conn:
        found = from_statements(read_statements(conn, order="total", limit=STATS_LIMIT))
    if not found:
        raise UsageError("pg_stat_statements holds no query of this database yet",
                         hint="run the application's workload first, or pass "
                              "--workload FILE.sql")
    return found


def _print(advice: IndexAdvice, checked: Verification | None) -> None:
    how = {"hypopg": "HypoPG hypothetical indexes", "scratch": "real indexes on a scratch copy"}
    out.print(f"[bold]Index advice[/bold] ({len(advice.queries)} queries planned, "
              f"{advice.candidates} candidates measured with "
              f"{' and '.join(how[m] for m in advice.methods) or 'nothing'})")
    if not advice.suggestions:
        out.print("No index would cut the workload's estimated cost enough: none suggested.")
    for n, s in enumerate(advice.suggestions, 1):
        out.print(f"\n{n}. {s.create};", markup=False, highlight=False)
        out.print(f"   saves {s.reduction:.1%} of the workload's estimated cost; size "
                  f"{s.size_bytes / 1024:,.0f} kB ({s.evaluated_by}); write cost "
                  f"{s.write_cost:,.0f}", markup=False)
        for q in s.queries:
            cut = 1 - q.cost_after / q.cost_before if q.cost_before else 0.0
            out.print(f"   serves {escape(q.label)} (weight {q.weight:g}): cost "
                      f"{q.cost_before:,.1f} -> {q.cost_after:,.1f} (-{cut:.0%})")
    out.print(f"\nWorkload estimated cost (weighted): {advice.cost_before:,.0f} -> "
              f"{advice.cost_after:,.0f} (-{advice.reduction:.1%})")
    for q in advice.queries:
        if q.cost_after > q.cost_before * 1.01:
            out.print(f"costlier with these indexes: {escape(q.label)} "
                      f"({q.cost_before:,.1f} -> {q.cost_after:,.1f})")
    for cand, existing in advice.covered:
        out.print(f"already covered by {escape(existing)}: {escape(cand)}")
    for label, why in advice.skipped[:_SHOWN]:
        out.print(f"skipped {escape(label)}: {escape(why)}")
    if len(advice.skipped) > _SHOWN:
        out.print(f"skipped {len(advice.skipped) - _SHOWN} more queries (--format json lists "
                  "them)")
    for line in advice.notes:
        out.print(f"note: {escape(line)}")
    if checked is not None:
        _print_verification(checked)


def _print_verification(checked: Verification) -> None:
    from rich.table import Table

    table = Table(title="Measured on a scratch copy (median ms)", title_justify="left")
    for col in ("query", "weight", "before", "after", "speed-up"):
        table.add_column(col, justify="left" if col == "query" else "right")
    for t in checked.timings:
        table.add_row(escape(t.label), f"{t.weight:g}", f"{t.before_ms:.3f}",
                      f"{t.after_ms:.3f}", f"{t.speedup:.1f}x")
    out.print(table)
    speed = checked.before_ms / checked.after_ms if checked.after_ms else 1.0
    out.print(f"Weighted workload time: {checked.before_ms:,.1f} ms -> "
              f"{checked.after_ms:,.1f} ms ({speed:.1f}x)")
    for label, why in checked.untimed:
        out.print(f"not timed {escape(label)}: {escape(why)}")
