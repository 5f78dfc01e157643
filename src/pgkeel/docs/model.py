"""A tiny document model the pages are built in, rendered to Markdown or HTML.

Pages hold plain text, never markup: each renderer escapes for its own target, so
a table named ``a|b`` or ``<script>`` prints as text in both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    """Inline code (SQL text, a type)."""

    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """A link to ``href``, a path relative to the page's directory."""

    text: str
    href: str


Cell = str | Code | Link


@dataclass(frozen=True, slots=True)
class Heading:
    """A section heading, ``level`` 1 to 3."""

    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Para:
    """A paragraph of cells run together."""

    parts: tuple[Cell, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    """A table: ``headers`` then ``rows`` of cells."""

    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True, slots=True)
class Diagram:
    """An ER diagram: its Mermaid text, and the SVG file beside the page, if drawn."""

    mermaid: str
    svg: str | None = None


Block = Heading | Para | Grid | Diagram


@dataclass(frozen=True, slots=True)
class Page:
    """One output page: ``path`` relative to the output folder, without extension."""

    path: str
    title: str
    blocks: tuple[Block, ...]
