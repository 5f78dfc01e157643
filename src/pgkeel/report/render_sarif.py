"""Render findings as SARIF 2.1.0, the format code-scanning services read.

One run whose ``tool.driver.rules`` describes each rule (id, short and full
description, help URI, default level) and whose ``results`` point at either a file
region (``physicalLocation``, for migration-file findings) or a catalog object
(``logicalLocations`` with ``fullyQualifiedName`` and ``kind``: ``table``, ``column``,
``constraint``...). SARIF's ``fixes`` must describe byte edits of an artifact, which a
catalog finding does not have, so the suggested fix travels as text: appended to the
message and in the result's ``properties.fix``.

Reference: OASIS "Static Analysis Results Interchange Format (SARIF) Version 2.1.0",
sections 3.19 (tool), 3.49 (reportingDescriptor), 3.27 (result), 3.28 (location),
3.33 (logicalLocation). The test suite validates the output against the official
JSON schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pgkeel.report.findings import Finding, RuleInfo, Severity, sort_findings

__all__ = ["SARIF_SCHEMA_URI", "document", "render"]

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
            "name": finding.object.rsplit(".", 1)[-1],
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
