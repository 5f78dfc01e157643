"""Findings and the reports made of them: terminal table, JSON, SARIF."""

from __future__ import annotations

from pgkeel.report import render_json, render_sarif, render_text
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

__all__ = [
    "FailOn",
    "Finding",
    "ObjectKind",
    "RuleInfo",
    "Severity",
    "breaches",
    "parse_fail_on",
    "render_json",
    "render_sarif",
    "render_text",
    "sort_findings",
]
