"""``write_docs``: the documentation tree of one database, written to a folder.

Layout (``.md`` or ``.html``)::

    OUT/index.md                 overview diagram(s) and the list of tables
    OUT/overview.svg             (Graphviz) every table and key, one box per schema
    OUT/tables/<schema.name>.md  one page per table (pgkeel.docs.pages)
    OUT/tables/<schema.name>.svg (Graphviz) the table and its neighbours

The output is deterministic (sorted, no timestamp, no Graphviz version stamp), so
it can live in git and a diff shows real changes; pages of tables that no longer
exist are removed from ``tables/`` (and ``overview.svg`` when none was drawn).
Big schemas stay readable (tbls#311, SchemaSpy ``-degree``): the overview draws
names and keys only, one Mermaid diagram per schema when there are several, and
each table page draws only its neighbours.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgkeel.catalog.model import Snapshot
from pgkeel.docs.erd import Erd, build_erd
from pgkeel.docs.graphviz import INSTALL_HINT, render_dot, render_svg
from pgkeel.docs.html import render_html_page
from pgkeel.docs.markdown import render_markdown
from pgkeel.docs.mermaid import render_mermaid
from pgkeel.docs.model import Diagram, Page
from pgkeel.docs.pages import index_page, slug, table_findings, table_page
from pgkeel.report.findings import Finding

__all__ = ["DocsFormat", "DocsResult", "write_docs"]

DocsFormat = Literal["markdown", "html"]
_OURS = (".md", ".html", ".svg")


@dataclass(frozen=True, slots=True)
class DocsResult:
    """What :func:`write_docs` wrote: ``files`` (sorted paths), the model drawn, and
    ``svg_skipped``: why no SVG was drawn (Graphviz missing: how to install it), or None.
    """

    files: tuple[Path, ...]
    erd: Erd
    svg_skipped: str | None


def _overviews(erd: Erd) -> list[tuple[str, Erd]]:
    parts = erd.by_schema()
    if len(parts) <= 1:
        return [("", erd)]
    return list(parts.items())


def write_docs(snap: Snapshot, findings: Sequence[Finding], out: Path, *,
               fmt: DocsFormat = "markdown", schemas: Iterable[str] = (),
               svg: bool = True) -> DocsResult:
    """Write the docs of ``snap`` (tables of ``schemas`` only, when given) into ``out``.

    ``findings`` are ``check``'s, shown on each table's page. ``svg`` False, or no
    Graphviz ``dot`` on ``PATH``, writes Mermaid only (``svg_skipped`` says why).
    Returns a :class:`DocsResult`. Raises ``OSError`` when ``out`` cannot be written,
    ``PgkeelError`` when ``dot`` fails.
    """
    erd = build_erd(snap, schemas)
    draw = svg and shutil.which("dot") is not None
    skipped = None if draw else ("--no-svg" if not svg else INSTALL_HINT)
    ext = ".md" if fmt == "markdown" else ".html"
    svgs: dict[str, str] = {}
    pages: list[Page] = []
    per_table = table_findings(findings, snap)
    for entity in erd.entities:
        name = slug(entity.qualified)
        href = None
        if draw:
            href = f"{name}.svg"
            svgs[f"tables/{href}"] = render_svg(render_dot(
                erd.neighbourhood(entity.qualified), columns=True, clusters=False))
        page = table_page(entity, erd, per_table.get(entity.qualified, []), href)
        pages.append(page)
    overviews: list[tuple[str, str, str | None]] = []
    if draw:
        svgs["overview.svg"] = render_svg(render_dot(erd))
    for n, (schema, part) in enumerate(_overviews(erd)):
        overviews.append((schema, render_mermaid(part),
                          "overview.svg" if draw and n == 0 else None))
    pages.append(index_page(snap, erd, per_table, overviews))
    written: list[Path] = []
    (out / "tables").mkdir(parents=True, exist_ok=True)
    for page in pages:
        path = out / (page.path + ext)
        if fmt == "markdown":
            text = render_markdown(page)
        else:
            # An HTML page inlines its SVGs, named relative to the page's folder.
            folder = page.path.rpartition("/")[0]
            local = {b.svg: svgs[f"{folder}/{b.svg}" if folder else b.svg]
                     for b in page.blocks if isinstance(b, Diagram) and b.svg}
            text = render_html_page(page, local)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for rel, text in svgs.items():
        path = out / rel
        path.write_text(text, encoding="utf-8")
        written.append(path)
    keep = set(written)
    for stale in [*sorted((out / "tables").iterdir()), out / "overview.svg"]:
        if stale.suffix in _OURS and stale.exists() and stale not in keep:
            stale.unlink()
    return DocsResult(tuple(sorted(written)), erd, skipped)

