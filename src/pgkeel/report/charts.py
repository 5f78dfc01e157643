"""Horizontal bar charts as inline SVG text: no script, no network, escaped labels.

Each bar is a ``<rect>`` scaled to the largest value, with its label and value as
``<text>``; ``<title>`` holds the full label for a hover tooltip. Labels come from
the database (table names, SQL), so every text goes through :func:`html.escape`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "bar_chart"]

_ROW = 22
_LABEL_W = 300
_BAR_W = 420
_VALUE_W = 150


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: ``label``, ``value`` (its length), ``text`` (printed after it) and
    ``tone`` (a CSS class: ``bar`` by default, ``bar-alert`` to flag it)."""

    label: str
    value: float
    text: str
    tone: str = "bar"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, title: str) -> str:
    """Return an ``<svg>`` element drawing ``bars`` top to bottom, ``title`` as its label.

    Lengths are proportional to ``value`` (the largest fills the width; all zero
    draws none). Returns a short ``<p>`` instead when ``bars`` is empty.
    """
    if not bars:
        return f"<p>{html.escape(title)}: nothing to show.</p>"
    top = max(b.value for b in bars) or 1.0
    width = _LABEL_W + _BAR_W + _VALUE_W
    height = _ROW * len(bars) + 8
    out = [f'<svg class="chart" role="img" aria-label="{html.escape(title)}" '
           f'xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}">']
    for n, bar in enumerate(bars):
        y = 4 + n * _ROW
        length = max(1.0, _BAR_W * bar.value / top) if bar.value > 0 else 0.0
        label = html.escape(_clip(bar.label, 44))
        out.append(f"<g><title>{html.escape(bar.label)}</title>"
                   f'<text x="{_LABEL_W - 6}" y="{y + 15}" text-anchor="end">{label}</text>'
                   f'<rect class="{html.escape(bar.tone)}" x="{_LABEL_W}" y="{y + 3}" '
                   f'width="{length:.1f}" height="{_ROW - 6}"></rect>'
                   f'<text x="{_LABEL_W + length + 6:.1f}" y="{y + 15}">'
                   f"{html.escape(bar.text)}</text></g>")
    out.append("</svg>")
    return "".join(out)
