"""``pgkeel backup`` (create, verify, list, prune, pin, schedule) and ``pgkeel restore``.

Exit codes: 0 ok; 1 a verification or a restore's comparison failed; 2 usage or
configuration; 3 database or I/O (pg_dump failed, no suitable pg_dump); 4 refused to
protect data (damaged backup, non-empty restore target, missing roles).
"""

from __future__ import annotations

import json
import shlex
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, note, out, resolve_url, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from pgkeel.backup.compare import Comparison
    from pgkeel.backup.store import BackupEntry

__all__ = ["app", "restore_command"]

app = typer.Typer(help="Back up with pg_dump, prove each backup restores, keep the "
                  "right ones.", no_args_is_help=True)


class Format(StrEnum):
    """``--format`` choices."""

    custom = "custom"
    directory = "directory"
    plain = "plain"


class Compress(StrEnum):
    """``--compress`` choices."""

    zstd = "zstd"
    lz4 = "lz4"
    gzip = "gzip"
    none = "none"


class Level(StrEnum):
    """``verify --level`` choices."""

    checksum = "checksum"
    toc = "toc"
    restore = "restore"


AsJson = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Tables = Annotated[list[str] | None, typer.Option(
    "--table", "-t", help="Only this table (repeatable; schema.name).", show_default=False)]


def _root(project: Path | None) -> Path:
    resolved = settings(project=project)
    return resolved.resolve(resolved.backup.directory)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _age(then: datetime) -> str:
    seconds = (datetime.now(UTC) - then).total_seconds()
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.0f}{unit}"
    return f"{seconds:.0f}s"


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A Rich bar of tables done of total on a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total or None)


@app.command()
def create(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    archive_format: Format = typer.Option(Format.custom, "--format", "-F",
                                          help="custom (one file), directory (parallel "
                                          "with --jobs) or plain SQL."),
    compress: Compress | None = typer.Option(
        None, "--compress", show_default=False,
        help="Default: zstd where pg_dump has it (16+), else gzip; none for plain."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Parallel dump (directory)."),
    tables: Tables = None,
    schema_only: bool = typer.Option(False, "--schema-only", help="No rows."),
    as_json: AsJson = False,
) -> None:
    """Dump the database into backups/<database>/<UTC time>/ with a manifest.

    Example: [bold]pgkeel backup create --format directory --jobs 2[/bold]
    """
    from pgkeel.backup.create import create_backup

    resolved = settings(database_url, project)
    url = resolve_url(database_url, project)
    with _progress("dumping tables") as progress:
        result = create_backup(
            url, resolved.resolve(resolved.backup.directory),
            archive_format=archive_format.value,
            compression=compress.value if compress else None, jobs=jobs,
            tables=tables or (), schema_only=schema_only,
            postgres_bin=resolved.postgres_bin, progress=progress)
    body = result.manifest.body
    if as_json:
        typer.echo(json.dumps({"id": result.manifest.id, "path": str(result.path),
                               "manifest": body}, indent=1))
        return
    out.print(f"backup {result.manifest.id}: {body['format']}, {body['compression']}, "
              f"{_size(result.manifest.size)}, {body['duration_ms'] / 1000:.1f} s", markup=False)
    out.print(f"pg_dump {body['pg_dump']['version']} ({body['pg_dump']['path']}) dumped "
              f"PostgreSQL {body['server']['version']}", markup=False)
    out.print(f"path: {result.path}", markup=False)
    note(f"not verified yet: pgkeel backup verify {result.manifest.id}")


def _print_comparison(comparison: Comparison | None) -> None:
    if comparison is None:
        return
    kinds: dict[str, list[bool]] = {}
    for c in comparison.checks:
        kinds.setdefault(c.kind, []).append(c.ok)
    out.print("checked: " + ", ".join(f"{kind} {sum(oks)}/{len(oks)}"
                                      for kind, oks in kinds.items()), markup=False)


@app.command()
def verify(
    ident: str = typer.Argument(..., metavar="ID", help="database/stamp, stamp or latest."),
    level: Level = typer.Option(Level.restore, "--level",
                                help="checksum: files; toc: also pg_restore reads it; "
                                "restore: also restore into a scratch database and "
                                "compare."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    as_json: AsJson = False,
) -> None:
    """Prove a backup: checksums, table of contents, or a real restore (default).

    Exit 0 when it passes, 1 when it fails (each problem names the file or object).
    Example: [bold]pgkeel backup verify latest[/bold]
    """
    from pgkeel.backup.store import find_backup
    from pgkeel.backup.verify import verify_backup

    resolved = settings(database_url, project)
    entry = find_backup(resolved.resolve(resolved.backup.directory), ident)
    url = resolve_url(database_url, project) if level is Level.restore else None
    result = verify_backup(entry.path, url, level=level.value,
                           postgres_bin=resolved.postgres_bin)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=1))
    else:
        state = "[green]passed[/green]" if result.ok else "[bold red]failed[/bold red]"
        out.print(f"verify {result.id} --level {result.level}: {state} in "
                  f"{result.duration_ms / 1000:.1f} s")
        if result.restore_ms is not None:
            out.print(f"restore took {result.restore_ms / 1000:.1f} s (measured recovery "
                      "time)", markup=False)
        _print_comparison(result.comparison)
        for problem in result.problems:
            out.print(f"problem: {problem}", markup=False)
    raise typer.Exit(0 if result.ok else 1)


def _verified(entry: BackupEntry) -> str:
    v = entry.verification
    if not v:
        return "never"
    state = "ok" if v.get("ok") else "FAILED"
    return f"{state} ({v.get('level')}) {_age(datetime.fromisoformat(v['at']))} ago"


@app.command("list")
def list_command(project: ProjectDir = None, as_json: AsJson = False) -> None:
    """List backups: id, size, format, age, verified when and how, pinned."""
    from rich.table import Table

    from pgkeel.backup.store import list_backups

    root = _root(project)
    entries = list_backups(root)
    if as_json:
        typer.echo(json.dumps([{
            "id": e.id, "path": str(e.path), "created_at": e.created_at.isoformat(),
            "size": e.manifest.size if e.manifest else None,
            "format": e.manifest.format if e.manifest else None,
            "verification": e.verification, "pinned": e.pinned, "problem": e.problem,
        } for e in entries], indent=1))
        return
    if not entries:
        note(f"no backups in {root}; make one with `pgkeel backup create`")
        return
    table = Table(title=f"Backups in {root}", title_justify="left")
    for column in ("id", "size", "format", "age", "verified", "pinned"):
        table.add_column(column)
    for e in entries:
        if e.manifest is None:
            table.add_row(e.id, "-", "-", _age(e.created_at), f"DAMAGED: {e.problem}", "")
            continue
        table.add_row(e.id, _size(e.manifest.size),
                      f"{e.manifest.format}/{e.manifest.body['compression']}",
                      _age(e.created_at), _verified(e), "yes" if e.pinned else "")
    out.print(table)


@app.command()
def prune(
    keep_daily: int = typer.Option(..., "--keep-daily", min=0, help="Days kept."),
    keep_weekly: int = typer.Option(..., "--keep-weekly", min=0, help="Weeks kept."),
    keep_monthly: int = typer.Option(..., "--keep-monthly", min=0, help="Months kept."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Say what would go; delete "
                                 "nothing."),
    project: ProjectDir = None,
) -> None:
    """Delete backups outside grandfather-father-son retention.

    Never deletes a pinned backup or the newest one verified by restore.
    Example: [bold]pgkeel backup prune --keep-daily 7 --keep-weekly 4 --keep-monthly 6
    --dry-run[/bold]
    """
    from pgkeel.backup.store import prune as prune_backups

    plan = prune_backups(_root(project), keep_daily=keep_daily, keep_weekly=keep_weekly,
                         keep_monthly=keep_monthly, dry_run=dry_run)
    for entry, reasons in plan.kept:
        out.print(f"keep   {entry.id} ({', '.join(reasons)})", markup=False)
    verb = "would delete" if dry_run else "delete"
    for entry in plan.deleted:
        out.print(f"{verb} {entry.id}", markup=False)
    note(f"{len(plan.kept)} kept, {len(plan.deleted)} "
         f"{'to delete (dry run)' if dry_run else 'deleted'}")


@app.command("pin")
def pin_command(
    ident: str = typer.Argument(..., metavar="ID"),
    unpin: bool = typer.Option(False, "--unpin", help="Remove the pin."),
    project: ProjectDir = None,
) -> None:
    """Pin a backup so prune never deletes it (--unpin to release)."""
    from pgkeel.backup.store import find_backup, pin

    entry = find_backup(_root(project), ident)
    pin(entry, pinned=not unpin)
    out.print(f"{'unpinned' if unpin else 'pinned'} {entry.id}", markup=False)


@app.command("schedule")
def schedule_command(
    cron: str = typer.Option("0 2 * * *", "--cron", help="Five-field crontab schedule."),
    keep_daily: int = typer.Option(7, "--keep-daily", min=0),
    keep_weekly: int = typer.Option(4, "--keep-weekly", min=0),
    keep_monthly: int = typer.Option(6, "--keep-monthly", min=0),
    project: ProjectDir = None,
) -> None:
    """Print the crontab line and systemd units for automated daily backups.

    The job runs create, verify (by restore) and prune, stopping at the first failure.
    Example: [bold]pgkeel backup schedule --cron "0 2 * * *"[/bold]
    """
    from pgkeel.backup.schedule import schedule

    # cron's PATH is /usr/bin:/bin (crontab(5)): a bare `pgkeel` from a virtualenv is
    # not on it, so the job names this interpreter, which has this pgkeel installed.
    plan = schedule(cron, settings(project=project).root, keep_daily=keep_daily,
                    keep_weekly=keep_weekly, keep_monthly=keep_monthly,
                    pgkeel=f"{shlex.quote(sys.executable)} -m pgkeel")
    typer.echo(f"# crontab -e\n{plan.crontab}\n")
    typer.echo(f"# /etc/systemd/system/pgkeel-backup.service\n{plan.service}")
    typer.echo(f"# /etc/systemd/system/pgkeel-backup.timer\n{plan.timer}")
    typer.echo("# then: systemctl enable --now pgkeel-backup.timer")


def restore_command(
    ident: str = typer.Argument(..., metavar="ID", help="database/stamp, stamp or latest."),
    target: str | None = typer.Option(
        None, "--target", help="libpq URI of the database to restore into (default: the "
        "configured database).", show_default=False),
    clean: bool = typer.Option(False, "--clean", help="Drop and recreate what the target "
                               "holds (else a non-empty target is refused)."),
    tables: Tables = None,
    data_only: bool = typer.Option(False, "--data-only", help="Rows only, into an "
                                   "existing schema."),
    no_owner: bool = typer.Option(False, "--no-owner", help="Skip ownership and grants "
                                  "(when the target lacks the dump's roles)."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Parallel restore (custom "
                             "and directory; not in one transaction)."),
    project: ProjectDir = None,
) -> None:
    """Restore a backup after a preflight; then resync sequences, ANALYZE, compare.

    Refuses (exit 4) a damaged backup, a non-empty target without --clean, and roles
    or extensions the target lacks. Exit 1 when the restored data differs from the
    manifest. Example: [bold]pgkeel restore latest --target postgresql://localhost/copy[/bold]
    """
    from pgkeel.backup.manifest import BackupDamaged
    from pgkeel.backup.restore import restore_into
    from pgkeel.backup.store import find_backup
    from pgkeel.backup.verify import verify_files
    from pgkeel.dsn import redact

    resolved = settings(target, project)
    entry = find_backup(resolved.resolve(resolved.backup.directory), ident)
    if entry.manifest is None:
        raise BackupDamaged(entry.problem or "manifest damaged", path=entry.path,
                            hint="use another backup")
    problems = verify_files(entry.path, entry.manifest)
    if problems:
        raise BackupDamaged(f"restore refused: {problems[0]}"
                            + (f" (and {len(problems) - 1} more)" if len(problems) > 1
                               else ""), hint="nothing was restored; use another backup "
                            "(`pgkeel backup list`)")
    url = resolve_url(target, project)
    note(f"restoring {entry.id} into {redact(url)}")
    result = restore_into(entry.manifest, entry.path, url, clean=clean, no_owner=no_owner,
                          tables=tables or (), data_only=data_only, jobs=jobs,
                          postgres_bin=resolved.postgres_bin)
    out.print(f"restored {entry.id} in {result.restore_ms / 1000:.1f} s with "
              f"{result.program}", markup=False)
    if result.sequences_fixed:
        out.print(f"sequences moved up to their columns' max: "
                  f"{', '.join(result.sequences_fixed)}", markup=False)
    _print_comparison(result.comparison)
    for failure in result.comparison.failures:
        out.print(f"differs: {failure.kind} {failure.object}: {failure.detail}",
                  markup=False)
    raise typer.Exit(0 if result.comparison.ok else 1)
