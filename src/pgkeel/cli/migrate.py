"""``pgkeel migrate``: apply, roll back, inspect and repair migrations.

Every command calls one function of :mod:`pgkeel.migrations` and renders its result;
refusals and failures are ``PgkeelError`` subclasses that :func:`pgkeel.cli.main` turns
into one line plus a fix and the exit code of their class (0 ok, 1 validate mismatch
or repair preview, 2 usage or file error, 3 database error, 4 refused).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, note, out, settings
from pgkeel.cli._runlog import RunLog

if TYPE_CHECKING:
    from pgkeel.config import Settings
    from pgkeel.migrations.plan import Plan
    from pgkeel.report.findings import Finding

# The library modules (psycopg, pglast, the whole migrations package) are imported in
# the commands that use them, so that `pgkeel check` or `--help` does not load them.

__all__ = ["app"]

app = typer.Typer(help="Apply, roll back, check and repair SQL migrations.",
                  no_args_is_help=True)

LockWait = Annotated[
    float | None,
    typer.Option("--lock-wait", min=0, show_default=False,
                 help="Seconds to wait for another runner's lock (default: setting "
                 "lock_wait, 60)."),
]
LockTimeout = Annotated[
    float | None,
    typer.Option("--lock-timeout", min=0.001, show_default=False,
                 help="Seconds a statement waits for a table lock before it is retried "
                 "(default: setting lock_timeout, 5)."),
]


class Format(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


class ImportTool(StrEnum):
    """``migrate import --from`` choices."""

    golang_migrate = "golang-migrate"
    diesel = "diesel"
    dbmate = "dbmate"


@dataclass(frozen=True, slots=True)
class _Target:
    settings: Settings
    url: str
    directory: Path

    def lock_wait_s(self, flag: float | None) -> float:
        """Seconds to wait for pgkeel's advisory lock: the flag, else the setting."""
        return self.settings.lock_wait if flag is None else flag

    def lock_timeout_s(self, flag: float | None) -> float:
        """Seconds a DDL statement waits for a table lock: the flag, else the setting."""
        return self.settings.lock_timeout if flag is None else flag


def _target(database_url_flag: str | None, project: Path | None) -> _Target:
    from pgkeel.target import database_url

    resolved = settings(database_url_flag, project)
    return _Target(resolved, database_url(resolved, notify=note),
                   resolved.resolve(resolved.migrations_dir))


def _notes_or_plan(plan: Plan, *, dry_run: bool) -> bool:
    """Say the plan's notes; for a dry run print the plan too and return True."""
    for line in plan.notes:
        note(line)
    if dry_run:
        _print_plan(plan)
    return dry_run


def _print_warnings(warnings: tuple[Finding, ...]) -> None:
    for finding in warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(finding.message)}")
        if finding.fix:
            err.print(f"  [bold]fix:[/bold] {escape(finding.fix)}")


def _print_plan(plan: Plan) -> None:
    verb = "apply" if plan.direction == "up" else "roll back"
    if not plan.steps:
        out.print(f"nothing to {verb}")
    for step in plan.steps:
        mode = "" if step.transactional else " [dim](transaction:false)[/dim]"
        source = f" [dim]({step.down_source} down)[/dim]" if step.down_source else ""
        if step.noop:
            source += " [dim](noop:true: nothing to run)[/dim]"
        out.print(f"[bold]would {verb} {step.version}[/bold] {escape(step.name)}{mode}{source}")
        for statement in step.statements:
            where = f"line {statement.line}" if statement.line else "stored"
            out.print(f"  [dim]-- statement {statement.index + 1}, {where}[/dim]")
            for text_line in statement.sql.splitlines():
                out.print(f"  {escape(text_line)}")


@app.command()
def up(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    to: str | None = typer.Option(None, "--to", help="Stop after this version."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Show what would run (every check included); "
                                 "change nothing."),
    allow_out_of_order: bool = typer.Option(
        False, "--allow-out-of-order",
        help="Apply pending migrations older than the newest applied one."),
    resume: bool = typer.Option(False, "--resume",
                                help="Restart a failed transaction:false migration at its "
                                "failed statement."),
    backup: bool = typer.Option(False, "--backup",
                                help="pg_dump -Fc into backups/ before migrating."),
    lock_wait: LockWait = None,
    lock_timeout: LockTimeout = None,
) -> None:
    """Apply pending migrations, each in its own transaction with its history row.

    Example: [bold]pgkeel migrate up --backup[/bold]
    """
    from pgkeel.migrations import runner

    target = _target(database_url, project)
    log = RunLog()
    with log.interruptible():
        result = runner.up(
            target.url, target.directory, to=to, dry_run=dry_run,
            allow_out_of_order=allow_out_of_order, resume=resume,
            backup_dir=target.settings.resolve(Path("backups")) if backup else None,
            postgres_bin=target.settings.postgres_bin,
            lock_wait_s=target.lock_wait_s(lock_wait),
            lock_timeout_s=target.lock_timeout_s(lock_timeout),
            progress=log,
        )
    if _notes_or_plan(result.plan, dry_run=result.dry_run):
        return
    if not result.done:
        out.print("nothing to apply: the database is up to date")
    _print_warnings(result.warnings)


@app.command()
def rollback(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    steps: int | None = typer.Option(None, "--steps", min=1,
                                     help="Roll back this many (default 1)."),
    to: str | None = typer.Option(None, "--to",
                                  help="Roll back everything applied after this version."),
    everything: bool = typer.Option(False, "--all", help="Roll back every migration."),
    use_file_down: bool = typer.Option(
        False, "--use-file-down",
        help="Run the file's down section where it differs from the one stored when the "
        "migration was applied."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would run."),
    lock_wait: LockWait = None,
    lock_timeout: LockTimeout = None,
) -> None:
    """Undo the most recently applied migrations, newest first (by applied order).

    Example: [bold]pgkeel migrate rollback --steps 2[/bold]
    """
    from pgkeel.migrations import runner

    target = _target(database_url, project)
    log = RunLog()
    with log.interruptible():
        result = runner.rollback(
            target.url, target.directory, steps=steps, to=to, everything=everything,
            use_file_down=use_file_down, dry_run=dry_run,
            lock_wait_s=target.lock_wait_s(lock_wait),
            lock_timeout_s=target.lock_timeout_s(lock_timeout),
            progress=log,
        )
    if _notes_or_plan(result.plan, dry_run=result.dry_run):
        return
    if not result.done:
        out.print("nothing to roll back")


@app.command()
def redo(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    use_file_down: bool = typer.Option(False, "--use-file-down",
                                       help="Run the file's down section instead of the "
                                       "stored one."),
    lock_wait: LockWait = None,
    lock_timeout: LockTimeout = None,
) -> None:
    """Roll back the last applied migration and apply its file again.

    Example: [bold]pgkeel migrate redo[/bold]
    """
    from pgkeel.migrations import runner

    target = _target(database_url, project)
    log = RunLog()
    with log.interruptible():
        result = runner.redo(
            target.url, target.directory, use_file_down=use_file_down,
            lock_wait_s=target.lock_wait_s(lock_wait),
            lock_timeout_s=target.lock_timeout_s(lock_timeout),
            progress=log,
        )
    for line in result.plan.notes:
        note(line)
    if not result.done:
        out.print("nothing to redo: no migration is applied (`pgkeel migrate up` applies "
                  "them)")
    _print_warnings(result.warnings)


_STATE_STYLE = {"applied": "green", "pending": "yellow", "failed": "bold red",
                "changed": "bold red", "missing": "magenta"}


@app.command()
def status(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    output_format: Format = typer.Option(Format.text, "--format", help="text or json."),
) -> None:
    """List every migration: applied, pending, failed, changed, missing, irreversible.

    Exits 1 when a migration is failed or changed (CI can gate on it), 0 otherwise.

    Example: [bold]pgkeel migrate status --format json[/bold]
    """
    from rich.table import Table

    from pgkeel.migrations import status_report as status_mod

    target = _target(database_url, project)
    report = status_mod.status(target.url, target.directory)
    # Exit 1 as for findings: a failed or changed migration needs a person (CI gates).
    code = 1 if report.having("failed", "changed") else 0
    if output_format is Format.json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
        raise typer.Exit(code)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("version", "name", "state", "applied at", "ms", "notes"):
        table.add_column(column, justify="right" if column == "ms" else "left")
    for m in report.migrations:
        notes = []
        if not m.reversible:
            notes.append("irreversible")
        elif m.noop_down:
            notes.append("reversible (noop down)")
        if m.out_of_order:
            notes.append("older than the newest applied")
        if m.method in ("baseline", "repair"):
            notes.append(f"by {m.method}")
        if m.failure is not None:
            notes.append(f"statement {m.failure.statement_index + 1}"
                         f"{f' (line {m.failure.line})' if m.failure.line else ''}: "
                         f"{m.failure.message}")
        style = _STATE_STYLE[m.state]
        table.add_row(m.version, escape(m.name), f"[{style}]{m.state}[/{style}]",
                      m.applied_at.strftime("%Y-%m-%d %H:%M:%S") if m.applied_at else "",
                      str(m.execution_ms) if m.execution_ms is not None else "",
                      escape("; ".join(notes)))
    if report.migrations:
        out.print(table)
    else:
        out.print(f"no migrations in {target.directory}")
    counts = report.to_dict()["counts"]
    out.print(", ".join(f"{n} {state}" for state, n in counts.items() if n))
    if report.lock_holder is not None:
        note(f"a runner is at work: {report.lock_holder.describe()}")
    for finding in report.invalid_indexes:
        out.print(f"[yellow]invalid index[/yellow] {escape(finding.message)}")
        if finding.fix:
            out.print(f"  [bold]fix:[/bold] {escape(finding.fix)}")
    raise typer.Exit(code)


@app.command()
def validate(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Check applied migrations' files against their checksums; exit 1 on a mismatch
    or a missing file.

    Line endings and a byte-order mark do not count as changes.

    Example: [bold]pgkeel migrate validate[/bold]
    """
    from pgkeel.migrations import status_report as status_mod

    target = _target(database_url, project)
    result = status_mod.validate(target.url, target.directory)
    for m in result.changed:
        out.print(f"[bold red]changed[/bold red] {escape(m.path)}: differs from what was "
                  f"applied (applied order {m.applied_order})")
    for m in result.missing:
        out.print(f"[magenta]missing[/magenta] {m.path}: applied, but the file is gone")
    for m in result.failed:
        out.print(f"[bold red]failed[/bold red] {m.path}: see `pgkeel migrate status`")
    if result.ok:
        out.print(f"ok: {result.checked} applied migration(s) match their files")
        return
    problems = []
    if result.changed:
        problems.append(f"{len(result.changed)} changed")
    if result.missing:
        problems.append(f"{len(result.missing)} missing")
    out.print(f"[bold red]mismatch:[/bold red] {', '.join(problems)} of "
              f"{result.checked + len(result.missing)} applied migration(s)")
    if result.changed:
        err.print("[bold]fix:[/bold] restore each changed file as applied (git log -p FILE) "
                  "and put the change in a new migration")
    if result.missing:
        err.print("[bold]fix:[/bold] restore each missing file (git log --diff-filter=D "
                  "-- migrations/); if it was removed on purpose, roll it back first")
    raise typer.Exit(1)


@app.command()
def baseline(
    version: str = typer.Argument(..., help="The last migration the database already has."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    lock_wait: LockWait = None,
) -> None:
    """Adopt an existing database: record migrations up to VERSION as applied, run none.

    Example: [bold]pgkeel migrate baseline 20240119093000[/bold]
    """
    from pgkeel.migrations import runner

    target = _target(database_url, project)
    result = runner.baseline(
        target.url, target.directory, version,
        lock_wait_s=target.lock_wait_s(lock_wait),
        progress=RunLog(),
    )
    for migration in result.recorded:
        out.print(f"recorded {migration.version} {escape(migration.name)} (not run)")
    out.print(f"baseline at {result.version}: {len(result.recorded)} migration(s)")


@app.command()
def repair(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    mark_rolled_back: bool = typer.Option(
        False, "--mark-rolled-back",
        help="You undid what the failed migration did: forget it."),
    mark_applied: bool = typer.Option(
        False, "--mark-applied",
        help="You finished what the failed migration started: record it applied."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Act without asking."),
    lock_wait: LockWait = None,
) -> None:
    """Resolve a failed migration by hand. Shows what it would do; --yes acts.

    Nothing runs on your schema: repair only records what you did.

    Example: [bold]pgkeel migrate repair --mark-rolled-back --yes[/bold]
    """
    from pgkeel.migrations import runner

    if mark_applied == mark_rolled_back:
        err.print("[bold red]error:[/bold red] give exactly one of --mark-rolled-back and "
                  "--mark-applied")
        raise typer.Exit(2)
    action: Literal["mark-applied", "mark-rolled-back"] = (
        "mark-applied" if mark_applied else "mark-rolled-back")
    target = _target(database_url, project)
    wait = target.lock_wait_s(lock_wait)
    preview = runner.repair(target.url, target.directory, action)
    if preview.failed is None:
        out.print("nothing to repair: no migration is recorded as failed")
        return
    row, failure = preview.failed, preview.failed.failure
    assert failure is not None
    out.print(f"[bold]{row.version}[/bold] {escape(row.name)} ({escape(row.path)}) failed "
              f"({failure.direction}) at statement {failure.statement_index + 1}"
              f"{f' (line {failure.line})' if failure.line else ''}: "
              f"{escape(failure.message)}")
    if action == "mark-applied":
        out.print("would record it as applied, with the file's current checksum and down "
                  "section")
    else:
        out.print("would delete its history row, so `up` applies it again from the start")
    _print_warnings(preview.warnings)
    confirmed = yes or (sys.stdin.isatty() and typer.confirm("do it?"))
    if not confirmed:
        note("nothing changed; run again with --yes to act")
        raise typer.Exit(1)
    runner.repair(target.url, target.directory, action, execute=True, lock_wait_s=wait,
                  progress=RunLog())
    out.print(f"repaired {row.version}: {action}")


@app.command("new")
def new(
    name: str = typer.Argument(..., help="What the migration does, e.g. 'add users table'."),
    project: ProjectDir = None,
) -> None:
    """Write a new migration file with both markers (the down must be written).

    Example: [bold]pgkeel migrate new "add users table"[/bold]
    """
    from pgkeel.migrations.files import new_migration

    resolved = settings(None, project)
    path = new_migration(resolved.resolve(resolved.migrations_dir), name)
    out.print(str(path))


@app.command("import")
def import_command(
    source: Path = typer.Argument(..., help="The other tool's migrations directory."),
    tool: ImportTool = typer.Option(..., "--from", help="The tool that wrote them."),
    start: str | None = typer.Option(
        None, "--start", metavar="YYYYMMDDHHMMSS", show_default=False,
        help="Give every migration a new version from this UTC time, one second apart "
        "(default: keep every upstream version). Use it when upstream versions cannot "
        "be kept (the error names the files), or to import after migrations already in "
        "the directory."),
    project: ProjectDir = None,
) -> None:
    """Convert another tool's history into pgkeel files, keeping its order.

    The files go into the migrations directory; each names its original in a header
    comment. Upstream versions are kept as they are (diesel's without dashes); when
    they cannot be (shared, not digits, or out of order as file names) the error names
    the originals, and --start gives new versions instead. Ups without a down become
    irreversible migrations; down files without statements become noop:true downs
    (nothing to undo).

    Example: [bold]pgkeel migrate import db/migrations --from golang-migrate[/bold]
    """
    from datetime import UTC, datetime

    from pgkeel.errors import UsageError
    from pgkeel.migrations.importer import import_history

    begin = None
    if start is not None:
        try:
            begin = datetime.strptime(start, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            raise UsageError(f"--start {start!r} is not a UTC time YYYYMMDDHHMMSS",
                             hint="e.g. --start 20240119093000") from None
    resolved = settings(None, project)
    dest = resolved.resolve(resolved.migrations_dir)
    report = import_history(source, dest, tool.value, start=begin)

    def shown(path: Path) -> str:
        try:
            relative = path.relative_to(source)
        except ValueError:
            relative = Path(path.name)
        return escape(str(relative) if relative.parts else path.name)

    out.print(f"imported {len(report.written)} migration(s) from {tool.value} into {dest}")
    for path in report.unpaired_ups:
        out.print(f"[yellow]no down[/yellow] {shown(path)}: written as irreversible")
    for path in report.noop_downs:
        out.print(f"[dim]noop down[/dim] {shown(path)}: no statements, written as "
                  "noop:true")
    for item in report.unparsable_downs:
        out.print(f"[yellow]down kept as a comment[/yellow] {shown(item.path)}: "
                  f"{escape(item.note)}; irreversible until rewritten")
    for path in report.unpaired_downs:
        out.print(f"[yellow]no up[/yellow] {shown(path)}: not written")
    for item in report.skipped:
        out.print(f"[dim]skipped[/dim] {shown(item.path)}: {escape(item.note)}")
    for item in report.notes:
        out.print(f"[dim]note[/dim] {shown(item.path)}: {escape(item.note)}")
