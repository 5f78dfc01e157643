"""Run the schema rules over a catalog snapshot, and over a live database's rows.

Scope: the rules never see pgkeel's own schema (``pgkeel``: the migration history,
events and metadata, which pgkeel alone writes), and the catalog reader already leaves
out every object that belongs to an extension (``pg_depend.deptype = 'e'``, see
:mod:`pgkeel.catalog._reader`), so neither is ever reported or altered by a fix.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import psycopg

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.catalog.model import Snapshot
from pgkeel.lint import registry
from pgkeel.lint.context import CheckConfig, CheckContext, DataProbe
from pgkeel.report.findings import Finding, sort_findings

if TYPE_CHECKING:
    from pgkeel.lint.rules.base import SchemaRule

__all__ = ["OWN_SCHEMA", "audited", "lint_database", "lint_snapshot", "run_rules", "selected"]

#: pgkeel's own schema (:mod:`pgkeel.migrations.history_schema`): never audited.
OWN_SCHEMA = "pgkeel"


def audited(snapshot: Snapshot) -> Snapshot:
    """``snapshot`` without pgkeel's own schema and the objects in it."""
    if not any(s.name == OWN_SCHEMA for s in snapshot.schemas):
        return snapshot

    def keep(items: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(i for i in items if i.schema != OWN_SCHEMA)

    return replace(
        snapshot, schemas=tuple(s for s in snapshot.schemas if s.name != OWN_SCHEMA),
        tables=keep(snapshot.tables), views=keep(snapshot.views),
        sequences=keep(snapshot.sequences), functions=keep(snapshot.functions),
        enums=keep(snapshot.enums), domains=keep(snapshot.domains))


def _own(finding: Finding) -> bool:
    """True for a finding on an object of pgkeel's schema (``pgkeel.x`` or ``pgkeel``)."""
    name = finding.object or ""
    return name == OWN_SCHEMA or name.startswith(OWN_SCHEMA + ".")


def selected(rule: type[SchemaRule], config: CheckConfig, server_version_num: int) -> bool:
    """True when ``config`` runs ``rule`` on a server of that version.

    Not opt-in (or listed in ``enable``), not in ``disable``, and the server at least
    ``rule.min_server_version``.
    """
    return ((not rule.opt_in or rule.id in config.enable) and rule.id not in config.disable
            and server_version_num >= rule.min_server_version)


def run_rules(ctx: CheckContext, select: Iterable[str] | None = None) -> tuple[Finding, ...]:
    """Return the findings of the schema rules on ``ctx``, worst first.

    ``select`` lists rule ids to run (opt-in rules run only when listed); None runs
    every rule that is not opt-in and not disabled in ``ctx.config``, plus the opt-in
    rules ``ctx.config.enable`` lists. Rules whose ``min_server_version`` is above the
    snapshot's server are skipped. A severity override in ``ctx.config`` replaces the
    rule's; findings whose object matches a ``ctx.config.ignore`` pattern
    (:func:`fnmatch.fnmatchcase` over the object name as reported, e.g.
    ``public.legacy_*``) are dropped. The rules see the snapshot without pgkeel's own
    schema (:func:`audited`). Raises ``UnknownRule`` for an id that names no rule.
    """
    ctx = replace(ctx, snapshot=audited(ctx.snapshot))
    config = ctx.config
    wanted = None if select is None else {registry.get(r).id for r in select}
    findings: list[Finding] = []
    version = ctx.snapshot.server_version_num
    for rule in registry.schema_rules():
        if wanted is not None:
            chosen = rule.id in wanted and version >= rule.min_server_version
        else:
            chosen = selected(rule, config, version)
        if not chosen:
            continue
        severity = config.severity.get(rule.id)
        for finding in rule().check(ctx):
            if _own(finding) or (finding.object and any(
                    fnmatchcase(finding.object, p) for p in config.ignore)):
                continue
            findings.append(finding if severity is None else replace(finding, severity=severity))
    return sort_findings(findings)


def lint_snapshot(snapshot: Snapshot, select: Iterable[str] | None = None,
                  config: CheckConfig | None = None) -> tuple[Finding, ...]:
    """Run the rules on ``snapshot`` alone (no rows to read); see :func:`run_rules`."""
    return run_rules(CheckContext(snapshot, config or CheckConfig()), select)


def lint_database(conn: psycopg.Connection[Any], select: Iterable[str] | None = None,
                  config: CheckConfig | None = None, *, read_rows: bool = True,
                  failures: list[str] | None = None
                  ) -> tuple[Snapshot, tuple[Finding, ...]]:
    """Read ``conn``'s catalog, then run the rules with its rows as evidence.

    Returns ``(snapshot, findings)``. Data queries are bounded by ``config``'s
    ``sample_rows`` and ``statement_timeout_ms`` and run read-only
    (:class:`~pgkeel.lint.context.DataProbe`); ``read_rows=False`` reads no row at
    all (``ctx.data`` is None: rules that need rows stay silent or say so). Raises
    ``DatabaseError`` when a catalog query fails, ``UnknownRule`` for an unknown id
    in ``select``. When ``failures`` is a list, PostgreSQL's reason for each data
    query it refused or cancelled (a permission, a timeout) is appended to it
    (:attr:`~pgkeel.lint.context.DataProbe.failures`).
    """
    config = config or CheckConfig()
    snap = read_catalog(conn)
    if not read_rows:
        return snap, run_rules(CheckContext(snap, config, None), select)
    with DataProbe(conn, sample_rows=config.sample_rows,
                   statement_timeout_ms=config.statement_timeout_ms) as probe:
        found = run_rules(CheckContext(snap, config, probe), select)
    if failures is not None:
        failures.extend(probe.failures)
    return snap, found
