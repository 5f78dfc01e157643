"""Findings and the reports made of them: terminal table, JSON, SARIF, HTML."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pgkeel.report.findings import (
    FailOn,
    Finding,
    ObjectKind,
    RuleInfo,
    Severity,
    breaches,
    parse_fail_on,
    sort_findings,
)

if TYPE_CHECKING:
    from pgkeel.report import render_html, render_json, render_sarif, render_text

__all__ = [
    "FailOn",
    "Finding",
    "ObjectKind",
    "RuleInfo",
    "Severity",
    "breaches",
    "parse_fail_on",
    "render_html",
    "render_json",
    "render_sarif",
    "render_text",
    "sort_findings",
]

# The renderers (Rich tables among them) load on first use: the migration runner reads
# findings.py through this package, and `pgkeel migrate up` renders no report.
_RENDERERS = frozenset({"render_html", "render_json", "render_sarif", "render_text"})


def __getattr__(name: str) -> Any:
    """Import a renderer submodule the first time it is asked for (PEP 562)."""
    if name in _RENDERERS:
        return import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
