"""``pgkeel generate ...``: pattern generators, each writing one new migration.

Reads the database's catalog, calls the generator of :mod:`pgkeel.patterns`, writes
the draft through :func:`pgkeel.migrations._write.write_migrations` into the project's
migrations directory, prints the file, and says each note on stderr. Exit 0 when the
file was written, 2 for an unknown table or a generator's refusal, 3 when the
database or the directory cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, err, out

if TYPE_CHECKING:
    from pgkeel.catalog.model import Snapshot
    from pgkeel.patterns import Generated

__all__ = ["app"]

app = typer.Typer(help="Write a reviewed, reversible migration for a common pattern.",
                  no_args_is_help=True)


def _write(database_url: str | None, project: Path | None,
           make: Callable[[Snapshot, Any], Generated]) -> None:
    """Snapshot the database, generate, write the file, print it and the notes."""
    from pgkeel.catalog.introspect import snapshot
    from pgkeel.cli.migrate import _target
    from pgkeel.connect import connect
    from pgkeel.migrations._write import write_migrations

    target = _target(database_url, project)
    with connect(target.url) as conn:
        generated = make(snapshot(conn), conn)
    (path,) = write_migrations(target.directory, [generated.draft])
    err.print(f"wrote [bold]{escape(str(path))}[/bold]")
    out.print(path.read_text(), markup=False, highlight=False)
    for line in generated.notes:
        err.print(f"[yellow]note:[/yellow] {escape(line)}")


@app.command("timestamps")
def timestamps_command(
    tables: list[str] = typer.Argument(None, metavar="TABLE...", show_default=False,
                                       help="Tables as schema.table (public by default)."),
    every: bool = typer.Option(False, "--all", help="Every table the missing-timestamps "
                               "and updated-at-not-maintained rules report."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Add created_at/updated_at and a trigger stamping updated_at on real changes.

    Columns are timestamptz NOT NULL DEFAULT now(); one shared trigger function per
    schema, fired WHEN (OLD.* IS DISTINCT FROM NEW.*).

    Example: [bold]pgkeel generate timestamps orders customers[/bold]
    """
    if bool(tables) == every:
        raise typer.BadParameter("name tables or pass --all (not both)",
                                 param_hint="TABLE...")

    def make(snap: Snapshot, conn: Any) -> Generated:
        from pgkeel.lint.schema import lint_database
        from pgkeel.patterns import timestamps

        names = list(tables or ())
        if every:
            _, found = lint_database(conn, select=timestamps.RULES, read_rows=False)
            names = timestamps.reported_tables(snap, found)
            if not names:
                from pgkeel.errors import UsageError

                raise UsageError("no table lacks row timestamps",
                                 hint="nothing to generate")
        return timestamps.generate(snap, names)

    _write(database_url, project, make)


@app.command("soft-delete")
def soft_delete_command(
    table: str = typer.Argument(..., metavar="TABLE", help="schema.table (public default)."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Make a table soft-deletable: deleted_at, partial unique indexes, a live view.

    Notes name the ON CONFLICT clauses and foreign keys to review.

    Example: [bold]pgkeel generate soft-delete projects[/bold]
    """
    from pgkeel.patterns import soft_delete

    _write(database_url, project, lambda snap, _: soft_delete.generate(snap, table))


@app.command("audit")
def audit_command(
    tables: list[str] = typer.Argument(..., metavar="TABLE...", help="Tables to track."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Track every change of the tables in audit.record_version.

    supa_audit's design, no extension. Tables without a primary key are refused.

    Example: [bold]pgkeel generate audit orders order_items[/bold]
    """
    from pgkeel.patterns import audit

    _write(database_url, project, lambda snap, _: audit.generate(snap, tables))


@app.command("rls")
def rls_command(
    table: str = typer.Argument(..., metavar="TABLE", help="schema.table (public default)."),
    tenant_column: str = typer.Option(..., "--tenant-column", metavar="COLUMN",
                                      help="The column naming the row's tenant."),
    membership: str = typer.Option("organization_members", "--membership", metavar="TABLE",
                                   help="Table linking user_id to the tenant column."),
    with_auth_stub: bool = typer.Option(False, "--with-auth-stub",
                                        help="Add a minimal Supabase-like auth schema "
                                        "and roles (plain PostgreSQL)."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
) -> None:
    """Isolate a table's rows by tenant: RLS and one membership policy per command.

    Policies for authenticated check membership of the row's tenant with
    (select auth.uid()); the indexes the policies need are added.

    Example: [bold]pgkeel generate rls projects --tenant-column organization_id[/bold]
    """
    from pgkeel.patterns import rls

    _write(database_url, project, lambda snap, _: rls.generate(
        snap, table, tenant_column=tenant_column, membership=membership,
        with_auth_stub=with_auth_stub))
