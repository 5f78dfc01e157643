"""Run the schema rules over a catalog snapshot."""

from __future__ import annotations

from collections.abc import Iterable

from pgkeel.catalog.model import Snapshot
from pgkeel.lint import registry
from pgkeel.report.findings import Finding, sort_findings

__all__ = ["lint_snapshot"]


def lint_snapshot(snapshot: Snapshot, select: Iterable[str] | None = None
                  ) -> tuple[Finding, ...]:
    """Return the findings of the schema rules on ``snapshot``, worst first.

    ``select`` lists rule ids to run (opt-in rules run only when listed); None runs
    every rule that is not opt-in. Rules whose ``min_server_version`` is above the
    snapshot's server are skipped. Raises ``UnknownRule`` for an id that names no
    rule.
    """
    wanted = None if select is None else {registry.get(r).id for r in select}
    findings: list[Finding] = []
    for rule in registry.schema_rules():
        chosen = (not rule.opt_in) if wanted is None else rule.id in wanted
        if chosen and snapshot.server_version_num >= rule.min_server_version:
            findings.extend(rule().check(snapshot))
    return sort_findings(findings)
