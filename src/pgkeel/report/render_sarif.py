"""Render findings as SARIF 2.1.0, the format code-scanning services read.

One run whose ``tool.driver.rules`` describes each rule (id, short and full
description, help URI, default level) and whose ``results`` point at either a file
region (``physicalLocation``, for migration-file findings) or a catalog object
(``logicalLocations`` with ``fullyQualifiedName`` and ``kind``: ``table``, ``column``,
``constraint``...). ``fullyQualifiedName`` is the finding's ``object``, whose parts are
quoted as ``quote_ident`` would (``public."Mixed.Case"``), and ``name`` the last part as
the identifier itself, unquoted (``Mixed.Case``). SARIF's ``fixes`` must describe byte
edits of an artifact, which a catalog finding does not have, so the suggested fix
travels as text: appended to the message and in the result's ``properties.fix``.

Reference: OASIS "Static Analysis Results Interchange Format (SARIF) Version 2.1.0",
sections 3.19 (tool), 3.49 (reportingDescriptor), 3.27 (result), 3.28 (location),
3.33 (logicalLocation). The test suite validates the output against the official
JSON schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pgkeel.report.findings import Finding, RuleInfo, Severity, sort_findings

__all__ = ["SARIF_SCHEMA_URI", "document", "object_parts", "render"]

SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _descriptor(rule: RuleInfo) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": rule.description, "markdown": rule.description},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"objectKind": rule.object_kind},
    }
    if rule.upstream:
        descriptor["properties"]["upstream"] = list(rule.upstream)
    if rule.docs:
        descriptor["helpUri"] = rule.docs
    return descriptor


_PART = r'(?:"(?:[^"]|"")*"|[^."]*)'
_OBJECT = re.compile(rf"{_PART}(?:\.{_PART})*")
_QUOTED = re.compile(r'"((?:[^"]|"")*)"')


def object_parts(name: str) -> tuple[str, ...]:
    """The identifiers of a catalog object name: ``public."a.b"`` -> public, a.b.

    Parts are bare or double-quoted with inner quotes doubled, joined by dots; a name
    of another shape is one part.
    """
    if not _OBJECT.fullmatch(name):
        return (name,)
    parts = []
    pos = 0
    while True:
        quoted = _QUOTED.match(name, pos)
        if quoted is not None:
            parts.append(quoted.group(1).replace('""', '"'))
            pos = quoted.end()
        else:
            end = name.find(".", pos)
            end = len(name) if end < 0 else end
            parts.append(name[pos:end])
            pos = end
        if pos >= len(name):
            return tuple(parts)
        pos += 1  # the dot


def _location(finding: Finding, kind: str) -> dict[str, Any] | None:
    if finding.file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": finding.file}}
        if finding.line is not None:
            region: dict[str, Any] = {"startLine": finding.line}
            if finding.column is not None:
                region["startColumn"] = finding.column
            physical["region"] = region
        return {"physicalLocation": physical}
    if finding.object:
        return {"logicalLocations": [{
            "fullyQualifiedName": finding.object,
            "name": object_parts(finding.object)[-1],
            "kind": kind,
        }]}
    return None


def _result(finding: Finding, index: int, kind: str) -> dict[str, Any]:
    text = finding.message if not finding.fix else f"{finding.message}\nFix: {finding.fix}"
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index,
        "level": _LEVEL[finding.severity],
        "message": {"text": text},
    }
    location = _location(finding, kind)
    if location is not None:
        result["locations"] = [location]
    if finding.fix:
        result["properties"] = {"fix": finding.fix}
    return result


def document(
    findings: Sequence[Finding],
    rules: Sequence[RuleInfo],
    *,
    tool_version: str,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the SARIF log as a JSON-ready dict.

    ``rules`` describe the rules that ran, in the order ``tool.driver.rules`` lists
    them; a finding whose rule is not among them gets a bare descriptor (its id) so
    every ``ruleIndex`` resolves. ``properties`` become the run's property bag
    (``pgkeel check`` puts the database, server version and checklist there).
    """
    descriptors = [_descriptor(r) for r in rules]
    index = {r.id: i for i, r in enumerate(rules)}
    kinds: dict[str, str] = {r.id: r.object_kind for r in rules}
    for f in findings:
        if f.rule not in index:
            index[f.rule] = len(descriptors)
            descriptors.append({"id": f.rule})
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "pgkeel",
            "version": tool_version,
            "rules": descriptors,
        }},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule], kinds.get(f.rule, "object"))
                    for f in sort_findings(findings)],
    }
    if properties:
        run["properties"] = dict(properties)
    return {"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(
    findings: Sequence[Finding],
    rules: Sequence[RuleInfo],
    *,
    tool_version: str,
    properties: Mapping[str, Any] | None = None,
) -> str:
    """Return :func:`document` as indented JSON text, newline-ended."""
    log = document(findings, rules, tool_version=tool_version, properties=properties)
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
