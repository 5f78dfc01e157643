"""Render a :class:`~pgkeel.docs.model.Page` as GitHub-flavoured Markdown.

Text is escaped for CommonMark (a backslash before each punctuation character that
could start markup, "Backslash escapes") and for GFM tables (``|``); code goes in
``<code>`` with HTML escaping, since a backtick inside a name would end a code span
and a ``|`` would end a table cell. Diagrams are ```` ```mermaid ```` fences, which
GitHub renders, and a link to the SVG beside them when Graphviz drew one.
"""

from __future__ import annotations

import html
import re

from pgkeel.docs.model import Cell, Code, Diagram, Grid, Heading, Link, Page, Para

__all__ = ["render_markdown"]

_SPECIAL = re.compile(r"([\\`*\[\]<>|#!~&])")
# GFM never reads an underscore inside a word as emphasis ("payment_date"): only the
# others need a backslash.
_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def _text(text: str) -> str:
    escaped = _UNDERSCORE.sub(r"\_", _SPECIAL.sub(r"\\\1", text))
    return escaped.replace("\n", "<br>")


def _cell(cell: Cell) -> str:
    if isinstance(cell, Code):
        if not cell.text:
            return ""
        body = html.escape(cell.text, quote=False).replace("|", "&#124;").replace("\n", "<br>")
        return f"<code>{body}</code>"
    if isinstance(cell, Link):
        return f"[{_text(cell.text)}]({cell.href}.md)"
    return _text(cell)


def render_markdown(page: Page) -> str:
    """Return the Markdown text of ``page``, ending with one newline."""
    out: list[str] = []
    for block in page.blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {_text(block.text)}")
        elif isinstance(block, Para):
            out.append("".join(_cell(c) for c in block.parts))
        elif isinstance(block, Grid):
            if not block.rows:
                out.append("None.")
                continue
            lines = ["| " + " | ".join(_text(h) for h in block.headers) + " |",
                     "|" + "---|" * len(block.headers)]
            lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Diagram):
            fence = f"```mermaid\n{block.mermaid}```"
            if block.svg:
                fence += f"\n\n[ER diagram (SVG)]({block.svg})"
            out.append(fence)
    return "\n\n".join(out) + "\n"
