"""``pgkeel migrate drift``: what the database has that its migrations do not say.

Calls :func:`pgkeel.migrations.drift.drift`, prints one line per difference (or JSON
with ``--format json``), and with ``--write-migration NAME`` writes the migration that
adopts the drift (:func:`pgkeel.migrations.drift.write_drift_migration`) and records it
as applied in the database, which already has it. Exit 1 when there is drift, 0 when
there is none or when the migration was written; 4 when migrations are still to apply.
"""

from __future__ import annotations

import json
from enum import StrEnum

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, note, out

__all__ = ["drift_command"]


class DriftFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


def drift_command(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    write_migration: str | None = typer.Option(
        None, "--write-migration", metavar="NAME", show_default=False,
        help="Write a migration (up: the migrations' schema to the live one; down: back) "
        "named NAME into the migrations folder, recorded as applied in the database."),
    template: str = typer.Option("template1", "--template",
                                 help="The database the scratch database is copied from."),
    output_format: DriftFormat = typer.Option(DriftFormat.text, "--format",
                                              help="text or json."),
) -> None:
    """Compare the database with the schema its migrations build on a scratch database;
    list every object created or changed by hand.

    Exits 1 when there is drift (0 once --write-migration has written it down), 4 when
    --write-migration is refused because migrations are not applied yet.

    Example: [bold]pgkeel migrate drift --write-migration "adopt hand changes"[/bold]
    """
    from pgkeel.cli.migrate import _target
    from pgkeel.migrations.drift import DRIFT, drift, write_drift_migration

    target = _target(database_url, project)
    result = drift(target.url, target.directory, template=template)
    written = None
    if write_migration is not None and result.drifted:
        written = write_drift_migration(result, target.directory, write_migration,
                                        record_in=target.url,
                                        lock_wait_s=target.lock_wait_s(None))
    code = 1 if result.drifted and written is None else 0
    if output_format is DriftFormat.json:
        data = result.to_dict()
        if written is not None:
            data["written"] = [str(p) for p in written.paths]
            data["not_written"] = list(written.unwritable)
        typer.echo(json.dumps(data, indent=2))
        raise typer.Exit(code)
    for difference in result.differences:
        out.print(f"[yellow]drift[/yellow] {escape(difference.describe(DRIFT))}")
    if not result.drifted:
        out.print(f"no drift: the database matches its migrations ({result.elapsed_ms} ms)")
        raise typer.Exit(0)
    out.print(f"{len(result.differences)} difference(s) from the migrations "
              f"({result.elapsed_ms} ms)")
    if written is not None:
        for path in written.paths:
            out.print(f"wrote {escape(str(path))}")
        for line in written.unwritable:
            out.print(f"[red]not written[/red] (do it by hand): {escape(line)}")
        if written.paths:
            note("recorded as applied in this database (it already has these changes); "
                 "other databases get them with `pgkeel migrate up`")
    elif result.pending:
        note(f"{len(result.pending)} migration(s) not applied here yet: what they create "
             "shows as missing; `pgkeel migrate up` applies them")
    raise typer.Exit(code)
