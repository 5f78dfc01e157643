"""``pgkeel inspect``: print the catalog snapshot, as JSON or as a per-schema summary."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from pgkeel.cli._common import DatabaseUrl, ProjectDir, out, resolve_url

if TYPE_CHECKING:
    from rich.table import Table as RichTable

    from pgkeel.catalog import Snapshot, Table

__all__ = ["inspect_command"]


def inspect_command(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    as_json: bool = typer.Option(False, "--json", help="Print the whole snapshot as JSON."),
    exact_sizes: bool = typer.Option(
        False, "--exact-sizes",
        help="Measure sizes on disk (locks each relation briefly) instead of estimating "
        "them from the planner's statistics.",
    ),
) -> None:
    """Read the database's structure and print it.

    The text form summarises each schema (tables with rows, size, columns, indexes,
    foreign keys and RLS; views and functions counted); --json prints everything
    pgkeel knows, the same data ``pgkeel.catalog.read_snapshot()`` returns.

    Example: [bold]pgkeel inspect --json -d postgresql://app@localhost/app > schema.json[/bold]
    """
    # Imported here: the catalog reader is only this command's (and check's) cost.
    from pgkeel.catalog import read_snapshot

    snap = read_snapshot(resolve_url(database_url, project), exact_sizes=exact_sizes)
    if as_json:
        # Plain echo, not Rich: the output is for machines and can be large.
        typer.echo(json.dumps(snap.to_dict(), indent=2, ensure_ascii=False))
        return
    _summary(snap)


def _summary(snap: Snapshot) -> None:
    sizes = "sizes measured" if snap.exact_sizes else "sizes estimated (--exact-sizes measures)"
    out.print(f"[bold]{escape(snap.database)}[/bold]  PostgreSQL {snap.server_version}  "
              f"({snap.queries} catalog queries; rows estimated, {sizes}; "
              "? = never analysed)")
    if snap.extensions:
        out.print("extensions: " + ", ".join(f"{e.name} {e.version}" for e in snap.extensions),
                  markup=False)
    for schema in snap.schemas:
        tables = [t for t in snap.tables if t.schema == schema.name]
        views = [v for v in snap.views if v.schema == schema.name]
        matviews = sum(v.materialized for v in views)
        functions = sum(f.schema == schema.name for f in snap.functions)
        sequences = sum(s.schema == schema.name for s in snap.sequences)
        out.print()
        out.print(f"[bold]schema {escape(schema.name)}[/bold] (owner {escape(schema.owner)}): "
                  f"{len(tables)} tables, {len(views) - matviews} views, "
                  f"{matviews} materialized views, {functions} functions, "
                  f"{sequences} sequences")
        if tables:
            out.print(_tables(tables, exact_sizes=snap.exact_sizes))


def _tables(tables: list[Table], *, exact_sizes: bool) -> RichTable:
    from rich.table import Table as RichTable

    grid = RichTable(box=None, pad_edge=False, header_style="bold")
    grid.add_column("table", no_wrap=True)
    for name in ("rows", "size", "columns", "indexes", "FKs"):
        grid.add_column(name, justify="right")
    grid.add_column("RLS")
    for t in tables:
        name, size = escape(t.name), _size(t.size_bytes)
        if t.kind == "partitioned":
            name, size = f"{name} [dim](partitioned)[/dim]", "-"  # rows live in partitions
        elif t.partition_of:
            parent = escape(t.partition_of.removeprefix(f"{t.schema}."))
            name += f" [dim](partition of {parent})[/dim]"
        if t.row_estimate < 0 and not exact_sizes and t.kind != "partitioned":
            size = "?"  # relpages is 0 until the first VACUUM or ANALYZE
        rls = "forced" if t.rls_forced and t.rls_enabled else "on" if t.rls_enabled else ""
        if t.rls_enabled:
            rls += f" ({len(t.policies)} policies)"
        grid.add_row(
            name,
            "?" if t.row_estimate < 0 else f"{t.row_estimate:,}",
            size,
            str(len(t.columns)),
            str(len(t.indexes)),
            str(len(t.foreign_keys)),
            rls,
        )
    return grid


def _size(size: int) -> str:
    """Bytes as a short human figure (1024-based, as pg_size_pretty)."""
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
