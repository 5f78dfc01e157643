"""``pgkeel seed``: seed files (``new``, ``run``) and generated rows (``generate``).

``generate`` calls :func:`pgkeel.seed.fill` and prints the rows per table, the foreign
keys set after their parents were loaded, and what could not be satisfied. Exit 0 when
every table got its rows, 1 when the generator had to leave something out. ``run``
calls :func:`pgkeel.seed.runner.run_seeds`; ``new`` :func:`pgkeel.seed.files.new_seed`.
"""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, note, out, resolve_url, settings

__all__ = ["app"]

app = typer.Typer(help="Development data: seed files, and generated rows that satisfy the schema.",
                  no_args_is_help=True)


def _counts(values: list[str]) -> dict[str, int]:
    counts = {}
    for value in values:
        table, sep, number = value.rpartition("=")
        if not sep or not table or not number.isdigit():
            raise typer.BadParameter(f"{value!r}: write TABLE=N, e.g. orders=1000",
                                     param_hint="--table")
        counts[table] = int(number)
    return counts


@app.command("new")
def new(
    name: str = typer.Argument(..., help="What the file seeds, e.g. users."),
    kind: str = typer.Option("sql", "--kind", help="sql, csv, json or py."),
    project: ProjectDir = None,
) -> None:
    """Create the next seeds/NN_NAME file (a CSV or JSON one fills the table NAME).

    Example: [bold]pgkeel seed new users --kind csv[/bold]
    """
    from pgkeel.seed.files import new_seed

    resolved = settings(project=project)
    path = new_seed(resolved.resolve(resolved.seed.directory), name, kind)
    out.print(escape(str(path)))


@app.command("run")
def run(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    specific: str | None = typer.Option(None, "--specific", metavar="NAME",
                                        help="Run only this seed file."),
    reset: bool = typer.Option(False, "--reset", help="Empty the seeded tables first "
                               "(one TRUNCATE ... RESTART IDENTITY over exactly them)."),
    changed_only: bool = typer.Option(False, "--changed-only",
                                      help="Skip files unchanged since they last ran."),
    force: bool = typer.Option(False, "--force",
                               help="Allow --reset on a database marked as production."),
) -> None:
    """Run the seed files in name order in one transaction; a failure keeps nothing
    and names the file, line and row.

    Example: [bold]pgkeel seed run --reset[/bold]
    """
    from pgkeel.connect import connect
    from pgkeel.seed.runner import run_seeds

    resolved = settings(database_url, project)
    url = resolve_url(database_url, project)
    with connect(url) as conn:
        report = run_seeds(conn, resolved.resolve(resolved.seed.directory),
                           specific=specific, reset=reset, changed_only=changed_only,
                           force=force, production=resolved.seed.production,
                           lock_wait=resolved.lock_wait)
    if report.truncated:
        out.print(f"emptied {escape(', '.join(report.truncated))}")
    for name, rows in report.ran:
        out.print(f"ran {escape(name)}" + (f" ({rows} row(s))" if rows >= 0 else ""))
    for name in report.skipped:
        out.print(f"[dim]unchanged {escape(name)}[/dim]")
    for sequence, value in report.sequences:
        note(f"sequence {sequence} moved to {value}")
    out.print(f"{len(report.ran)} seed file(s) run, {len(report.skipped)} unchanged")


@app.command()
def generate(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    rows: int = typer.Option(3, "--rows", min=0, help="Rows per table."),
    table: list[str] = typer.Option(
        [], "--table", metavar="TABLE=N", show_default=False,
        help="Fill only these tables (and the tables their foreign keys need), N rows "
        "each; repeat for several."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same rows."),
    sql_file: Path | None = typer.Option(
        None, "--sql", metavar="FILE", help="Write the rows as a SQL script of COPY "
        "blocks instead of loading them.", show_default=False),
    fast: bool = typer.Option(False, "--fast", help="Drop secondary indexes around the "
                              "load and rebuild them."),
) -> None:
    """Load generated rows into every table (or the --table ones), keeping every
    constraint: keys unique, foreign keys pointing at real rows, CHECKs true.

    Example: [bold]pgkeel seed generate --table orders=1000 --seed 7[/bold]
    """
    from rich.progress import Progress
    from rich.table import Table

    from pgkeel.connect import connect
    from pgkeel.seed import fill
    from pgkeel.seed.fast import without_secondary_indexes
    from pgkeel.seed.runner import fix_sequences
    from pgkeel.seed.script import write_script

    counts = _counts(table)
    resolved = settings(database_url, project)
    _check_providers(resolved.seed.columns)
    url = resolve_url(database_url, project)
    options = {"rows": rows, "seed": seed, "tables": list(counts) or None, "counts": counts,
               "providers": resolved.seed.columns}
    with connect(url) as conn, Progress(console=err, transient=True) as bar:
        task = bar.add_task("generating", total=None)

        def advance(name: str, loaded: int) -> None:
            bar.update(task, advance=loaded, description=escape(name))

        if sql_file is not None:
            report = write_script(conn, sql_file, progress=advance, **options)
        else:
            with conn.transaction():
                dropped = without_secondary_indexes(conn) if fast else nullcontext([])
                with dropped as names:
                    report = fill(conn, progress=advance, **options)
                fix_sequences(conn, [t.table for t in report.tables])
            for name in names:
                note(f"index {name} dropped for the load and rebuilt")
    grid = Table(box=None, pad_edge=False, header_style="bold")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for filled in report.tables:
        grid.add_row(escape(filled.table.removeprefix("public.")), str(filled.rows))
    out.print(grid)
    for key in report.deferred:
        note(f"foreign key {key} was loaded empty and set once its parent had rows")
    for problem in report.problems:
        out.print(f"[yellow]left out[/yellow] {escape(problem)}")
    total = sum(t.rows for t in report.tables)
    where = f", written to {escape(str(sql_file))}" if sql_file is not None else ""
    out.print(f"{total} row(s) in {len(report.tables)} table(s), seed {seed}{where}")
    raise typer.Exit(1 if report.problems else 0)


def _check_providers(columns: dict[str, str]) -> None:
    """Refuse a ``[seed] columns`` entry naming no Faker provider (exit 2)."""
    if not columns:
        return
    from faker import Faker

    from pgkeel.errors import ConfigError

    faker = Faker("en_US")
    for column, provider in columns.items():
        if column.count(".") not in (1, 2) or not callable(getattr(faker, provider, None)):
            raise ConfigError(f"[seed] columns: {column!r} = {provider!r} is not "
                              "\"table.column\" = a Faker provider",
                              hint="e.g. \"users.nickname\" = \"user_name\"; providers: "
                              "https://faker.readthedocs.io/en/master/providers.html")
