"""Run the schema rules over a catalog snapshot, and over a live database's rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

import psycopg

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.catalog.model import Snapshot
from pgkeel.lint import registry
from pgkeel.lint.context import CheckConfig, CheckContext, DataProbe
from pgkeel.report.findings import Finding, sort_findings

__all__ = ["lint_database", "lint_snapshot", "run_rules"]


def run_rules(ctx: CheckContext, select: Iterable[str] | None = None) -> tuple[Finding, ...]:
    """Return the findings of the schema rules on ``ctx``, worst first.

    ``select`` lists rule ids to run (opt-in rules run only when listed); None runs
    every rule that is not opt-in and not disabled in ``ctx.config``, plus the opt-in
    rules ``ctx.config.enable`` lists. Rules whose ``min_server_version`` is above the
    snapshot's server are skipped. A severity override in ``ctx.config`` replaces the
    rule's; findings whose object matches a ``ctx.config.ignore`` pattern are dropped.
    Raises ``UnknownRule`` for an id that names no rule.
    """
    config = ctx.config
    wanted = None if select is None else {registry.get(r).id for r in select}
    findings: list[Finding] = []
    for rule in registry.schema_rules():
        if wanted is not None:
            chosen = rule.id in wanted
        else:
            chosen = (not rule.opt_in or rule.id in config.enable) \
                and rule.id not in config.disable
        if not chosen or ctx.snapshot.server_version_num < rule.min_server_version:
            continue
        severity = config.severity.get(rule.id)
        for finding in rule().check(ctx):
            if finding.object and any(fnmatchcase(finding.object, p) for p in config.ignore):
                continue
            findings.append(finding if severity is None else replace(finding, severity=severity))
    return sort_findings(findings)


def lint_snapshot(snapshot: Snapshot, select: Iterable[str] | None = None,
                  config: CheckConfig | None = None) -> tuple[Finding, ...]:
    """Run the rules on ``snapshot`` alone (no rows to read); see :func:`run_rules`."""
    return run_rules(CheckContext(snapshot, config or CheckConfig()), select)


def lint_database(conn: psycopg.Connection[Any], select: Iterable[str] | None = None,
                  config: CheckConfig | None = None) -> tuple[Snapshot, tuple[Finding, ...]]:
    """Read ``conn``'s catalog, then run the rules with its rows as evidence.

    Returns ``(snapshot, findings)``. Data queries are bounded by ``config``'s
    ``sample_rows`` and ``statement_timeout_ms`` and run read-only
    (:class:`~pgkeel.lint.context.DataProbe`). Raises ``DatabaseError`` when a
    catalog query fails, ``UnknownRule`` for an unknown id in ``select``.
    """
    config = config or CheckConfig()
    snap = read_catalog(conn)
    with DataProbe(conn, sample_rows=config.sample_rows,
                   statement_timeout_ms=config.statement_timeout_ms) as probe:
        return snap, run_rules(CheckContext(snap, config, probe), select)
