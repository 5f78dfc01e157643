"""``pgkeel docs``: ER diagrams and one page per table, written to a folder."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from pgkeel.cli._common import DatabaseUrl, ProjectDir, note, settings

__all__ = ["docs_command"]


class DocsFormatChoice(StrEnum):
    """``--format`` choices."""

    markdown = "markdown"
    html = "html"


def docs_command(
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    out_dir: Path = typer.Option(Path("docs/schema"), "--out",
                                 help="Folder to write (created if missing)."),
    output_format: DocsFormatChoice = typer.Option(
        DocsFormatChoice.markdown, "--format",
        help="Markdown with Mermaid diagrams (GitHub renders them), or HTML pages."),
    schema: list[str] = typer.Option(
        [], "--schema", help="Document only this schema (repeat for several)."),
    no_svg: bool = typer.Option(False, "--no-svg",
                                help="Skip the Graphviz SVG diagrams, write Mermaid only."),
    no_data: bool = typer.Option(
        False, "--no-data",
        help="Findings from the catalog only: check's rules that read rows are skipped."),
) -> None:
    """Write schema docs: ER diagrams, and a page per table with its security and findings.

    Each table page lists columns, constraints, indexes, triggers, row-level security
    policies (command x role), grants (role x privilege), size, comments and what
    `pgkeel check` finds. Output is sorted and has no timestamps, so it can be
    committed and diffed. SVG diagrams need Graphviz (`dot`); Mermaid is always written.

    Example: [bold]pgkeel docs --out docs/schema[/bold],
    [bold]pgkeel docs --format html --schema public --out site/schema[/bold]
    """
    # Imported here: the catalog and the rules cost ~100 ms that --help should not pay.
    from pgkeel.check import check
    from pgkeel.docs.write import write_docs
    from pgkeel.lint.config import check_config
    from pgkeel.target import database_url as target_url

    resolved = settings(database_url, project)
    result = check(target_url(resolved, notify=note), check_config(resolved),
                   read_rows=not no_data)
    assert result.snapshot is not None  # check() always sets it
    written = write_docs(result.snapshot, result.findings, out_dir,
                         fmt=output_format.value, schemas=schema, svg=not no_svg)
    if schema and not written.erd.entities:
        note(f"warning: no table in schema(s) {', '.join(schema)} — fix: check the names "
             "with `pgkeel inspect`")
    if written.svg_skipped and not no_svg:
        note(f"no SVG diagrams: Graphviz `dot` is not installed — fix: {written.svg_skipped}")
    note(f"wrote {len(written.files)} files to {out_dir} ({len(written.erd.entities)} "
         f"tables, {len(written.erd.edges)} foreign keys)")
