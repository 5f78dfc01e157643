"""Render findings as JSON: ``{...header, "findings": [Finding.to_dict(), ...]}``.

The header carries what the producing command knows about the run (``pgkeel check``
puts ``database``, ``server_version`` and ``checklist`` there), so every command's
JSON ends in the same ``findings`` list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pgkeel.report.findings import Finding, sort_findings

__all__ = ["document", "render"]


def document(findings: Sequence[Finding], header: Mapping[str, Any] | None = None
             ) -> dict[str, Any]:
    """Return the JSON-ready dict: ``header``'s keys in order, then ``findings``."""
    return {**(header or {}), "findings": [f.to_dict() for f in sort_findings(findings)]}


def render(findings: Sequence[Finding], header: Mapping[str, Any] | None = None, *,
           indent: int | None = 2) -> str:
    """Return :func:`document` as JSON text (UTF-8 kept, not escaped), newline-ended."""
    return json.dumps(document(findings, header), indent=indent, ensure_ascii=False) + "\n"
