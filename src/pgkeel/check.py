"""``check()``: audit a database against the skill's Validation Checklist.

The skill (``seeds/000``, "Validation Checklist") lists seven items. :func:`check`
reads a catalog snapshot, runs every schema rule over it, and answers each item with
``pass``, ``warn``, ``fail`` or ``not checked``:

======================================== ==============================================
Checklist item                           How pgkeel answers it
======================================== ==============================================
Schema follows 3NF normalization         not checked: normal forms depend on functional
                                         dependencies, which the catalog does not hold
All foreign keys have indexes            rule ``unindexed-foreign-key``
Migrations are reversible (UP/DOWN)      not checked until ``pgkeel migrate verify``
Constraints enforce data integrity       rules ``missing-primary-key``,
                                         ``missing-timestamps``,
                                         ``updated-at-not-maintained``,
                                         ``timestamp-without-time-zone``,
                                         ``float-for-money``
Queries use indexes (verify with EXPLAIN) not checked until ``pgkeel explain``/``advise``
Backup strategy documented and tested    not checked until ``pgkeel backup``
Seed data available for development      not checked until ``pgkeel seed``
======================================== ==============================================

A rule-backed item is ``pass`` when its rules find nothing, ``fail`` when one of their
findings is an error, and ``warn`` otherwise. ``rls-disabled-tenant-table`` answers no
checklist item (the skill asks for RLS in its workflow, not in the checklist) but its
findings are reported like every other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg

from pgkeel.connect import connect
from pgkeel.lint import checklist as items
from pgkeel.lint import registry
from pgkeel.lint.context import CheckConfig
from pgkeel.lint.schema import lint_database
from pgkeel.report.findings import FailOn, Finding, RuleInfo, Severity, breaches

__all__ = ["CHECKLIST", "CheckResult", "ChecklistItem", "ChecklistStatus", "check",
           "checklist"]

ChecklistStatus = Literal["pass", "warn", "fail", "not checked"]


@dataclass(frozen=True, slots=True)
class _Item:
    item: str
    rules: tuple[str, ...] = ()
    scope: str = ""
    not_checked: str = ""


#: The skill's checklist, in its order, with how each item is answered.
CHECKLIST: tuple[_Item, ...] = (
    _Item(items.NORMALIZATION, not_checked=(
        "normal forms depend on functional dependencies between columns, which the "
        "catalog does not record; review the schema by hand")),
    _Item(items.FK_INDEXES, rules=("unindexed-foreign-key",),
          scope="every foreign key has a valid, non-partial index leading with its columns"),
    _Item("Migrations are reversible (UP/DOWN)", not_checked=(
        "needs `pgkeel migrate verify` (up, down, up on a scratch database), "
        "not built yet; `pgkeel migrate status` already lists migrations without a down "
        "section")),
    _Item(items.CONSTRAINTS,
          rules=("missing-primary-key", "missing-timestamps", "updated-at-not-maintained",
                 "timestamp-without-time-zone", "float-for-money"),
          scope=("primary keys, created_at/updated_at kept current, timestamptz, exact "
                 "money types; whether NOT NULL, UNIQUE and CHECK constraints match your "
                 "domain rules needs review")),
    _Item("Queries use indexes (verify with EXPLAIN)", not_checked=(
        "needs `pgkeel explain` / `pgkeel advise` (EXPLAIN plans of your workload), "
        "not built yet")),
    _Item("Backup strategy documented and tested", not_checked=(
        "needs `pgkeel backup` (dump, then prove it by restoring), not built yet")),
    _Item("Seed data available for development", not_checked=(
        "needs `pgkeel seed`, not built yet")),
)


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One checklist row: ``item`` (the skill's words), ``status`` and why.

    ``detail`` explains the status: what was checked and what was found, or, for
    ``not checked``, the reason. ``rules`` are the rule ids the status derives from.
    """

    item: str
    status: ChecklistStatus
    detail: str
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``item``, ``status``, ``detail``, ``rules``."""
        return {"item": self.item, "status": self.status, "detail": self.detail,
                "rules": list(self.rules)}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What :func:`check` found.

    ``database`` and ``server_version`` name what was audited; ``checklist`` holds
    the seven items in the skill's order; ``findings`` every rule's findings, worst
    first; ``rules`` describes each rule that ran (for SARIF); ``tables`` counts the
    tables audited.
    """

    database: str
    server_version: str
    checklist: tuple[ChecklistItem, ...]
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...]
    tables: int

    def breaches(self, fail_on: FailOn) -> bool:
        """True when a finding is at or above ``fail_on`` (never for None)."""
        return breaches(self.findings, fail_on)

    def header(self) -> dict[str, Any]:
        """The JSON keys before ``findings``: database, server version, checklist."""
        return {"database": self.database, "server_version": self.server_version,
                "checklist": [c.to_dict() for c in self.checklist]}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{database, server_version, checklist, findings}``."""
        return {**self.header(), "findings": [f.to_dict() for f in self.findings]}


def _answer(item: _Item, findings: Sequence[Finding]) -> ChecklistItem:
    if not item.rules:
        return ChecklistItem(item.item, "not checked", item.not_checked)
    hits = [f for f in findings if f.rule in item.rules]
    if not hits:
        return ChecklistItem(item.item, "pass", f"checked: {item.scope}", item.rules)
    counts = Counter(f.rule for f in hits)
    found = ", ".join(f"{n} {rule}" for rule, n in sorted(counts.items()))
    status: ChecklistStatus = "fail" if max(f.severity for f in hits) is Severity.ERROR \
        else "warn"
    return ChecklistItem(item.item, status, f"{len(hits)} finding(s): {found}", item.rules)


def checklist(findings: Sequence[Finding]) -> tuple[ChecklistItem, ...]:
    """Answer the skill's checklist from ``findings`` (see the module docstring)."""
    return tuple(_answer(item, findings) for item in CHECKLIST)


def check(target: str | psycopg.Connection[Any], config: CheckConfig | None = None
          ) -> CheckResult:
    """Audit the database at ``target`` (a libpq URI / DSN, or an open connection).

    Reads one catalog snapshot, runs every schema rule that ``config`` (the
    ``[check]`` settings; defaults when None) selects, with the database's rows as
    evidence (bounded read-only queries), and answers the checklist. Nothing is
    written to the database. Returns a :class:`CheckResult`.

    Raises ``ConfigError``/``ConnectError`` when ``target`` is a DSN that does not
    parse or connect, and ``DatabaseError`` when a catalog query fails.
    """
    config = config or CheckConfig()
    if isinstance(target, psycopg.Connection):
        snap, findings = lint_database(target, config=config)
    else:
        with connect(target) as conn:
            snap, findings = lint_database(conn, config=config)
    rules = tuple(r.info() for r in registry.schema_rules()
                  if (not r.opt_in or r.id in config.enable) and r.id not in config.disable)
    return CheckResult(
        database=snap.database,
        server_version=snap.server_version,
        checklist=checklist(findings),
        findings=findings,
        rules=rules,
        tables=len(snap.tables),
    )
