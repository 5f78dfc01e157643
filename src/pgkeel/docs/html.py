"""Render a :class:`~pgkeel.docs.model.Page` as one self-contained HTML page.

Every text goes through :func:`html.escape`; the style sheet is inline and nothing
is fetched from the network. A diagram is the SVG Graphviz drew, inlined, when
there is one; otherwise its Mermaid text in a ``<pre class="mermaid">`` block (no
script runs it: a page that loads mermaid.js can).
"""

from __future__ import annotations

import html
import re

from pgkeel.docs.model import Cell, Code, Diagram, Grid, Heading, Link, Page, Para

__all__ = ["STYLE", "inline_svg", "render_html_page"]

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;
margin:2rem auto;max-width:78rem;padding:0 1rem;color:#1f2328}
h1,h2,h3{line-height:1.2}table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;vertical-align:top;text-align:left}
th{background:#f6f8fa}code{font:12px ui-monospace,Menlo,Consolas,monospace;
white-space:pre-wrap}pre{background:#f6f8fa;padding:.75rem;overflow:auto}
.diagram svg{max-width:100%;height:auto}
.pass{color:#1a7f37}.warn{color:#9a6700}.fail{color:#cf222e}.nc{color:#6e7781}
""".strip()

_XML_HEAD = re.compile(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)


def _cell(cell: Cell) -> str:
    if isinstance(cell, Code):
        return f"<code>{html.escape(cell.text)}</code>" if cell.text else ""
    if isinstance(cell, Link):
        return f'<a href="{html.escape(cell.href)}.html">{html.escape(cell.text)}</a>'
    return html.escape(cell).replace("\n", "<br>")


def inline_svg(svg: str) -> str:
    """``svg`` without its XML declaration and doctype, to sit inside HTML."""
    return _XML_HEAD.sub("", svg.strip())


def render_html_page(page: Page, svgs: dict[str, str]) -> str:
    """Return the HTML of ``page``; ``svgs`` maps a diagram's SVG file to its text."""
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{html.escape(page.title)}</title><style>{STYLE}</style></head><body>"]
    for block in page.blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Para):
            out.append("<p>" + "".join(_cell(c) for c in block.parts) + "</p>")
        elif isinstance(block, Grid):
            if not block.rows:
                out.append("<p>None.</p>")
                continue
            head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>"
                           for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Diagram):
            if block.svg and block.svg in svgs:
                out.append(f'<div class="diagram">{inline_svg(svgs[block.svg])}</div>')
            else:
                out.append(f'<pre class="mermaid">{html.escape(block.mermaid)}</pre>')
    out.append("</body></html>")
    return "\n".join(out) + "\n"
