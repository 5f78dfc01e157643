"""``check()``: audit a database against the skill's Validation Checklist.

The skill (``seeds/000``, "Validation Checklist") lists seven items; pgkeel adds
"Row Level Security is strict" and "Migrations are safe to run", which the skill's
workflow asks for. :func:`check`
reads a catalog snapshot, runs the schema rules over it (with the rows as evidence
unless told not to read them), and answers each item with ``pass``, ``warn``, ``fail``
or ``not checked``.

The rules answering an item are not listed here: each rule declares its item
(``Rule.checklist``, one of :mod:`pgkeel.lint.checklist`), and the items derive from
the rules that ran, so a new rule answers its item without editing this module:

======================================== ==============================================
Checklist item                           How pgkeel answers it
======================================== ==============================================
Schema follows 3NF normalization         the rules declaring it (normal-form rules)
All foreign keys have indexes            the rules declaring it
Migrations are reversible (UP/DOWN)      ``pgkeel migrate verify`` on a scratch database
Constraints enforce data integrity       the rules declaring it
Queries use indexes (verify with EXPLAIN) the workload's plans (pgkeel.advisor.checklist)
Backup strategy documented and tested    a recent backup verified by restore (backup/)
Seed data available for development      ``pgkeel seed`` on a scratch database
Row Level Security is strict             the rules declaring it, and ``pgkeel rls test``
                                         with the project's ``rls-personas.yaml``
Migrations are safe to run               ``pgkeel lint`` of the migrations folder
======================================== ==============================================

A rule-backed item is ``pass`` when its rules find nothing, ``fail`` when one of their
findings is an error, and ``warn`` otherwise; it is ``not checked`` only when no rule
that answers it ran (none exists, all are disabled or opt-in, or the server is too
old), and says which. Findings of rules that answer no item are reported like every
other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg import sql

from pgkeel.catalog.model import Snapshot
from pgkeel.connect import connect
from pgkeel.lint import checklist as items
from pgkeel.lint import registry
from pgkeel.lint.context import CheckConfig
from pgkeel.lint.rules.base import Rule, SchemaRule
from pgkeel.lint.schema import audited, lint_database, selected
from pgkeel.report.findings import FailOn, Finding, RuleInfo, Severity, breaches

if TYPE_CHECKING:
    from pgkeel.config import Settings

__all__ = ["CHECKLIST", "CheckResult", "ChecklistItem", "ChecklistStatus", "check",
           "checklist", "selected_rules"]

ChecklistStatus = Literal["pass", "warn", "fail", "not checked"]

QUERIES_USE_INDEXES = "Queries use indexes (verify with EXPLAIN)"
BACKUP_TESTED = "Backup strategy documented and tested"


@dataclass(frozen=True, slots=True)
class _Item:
    item: str
    scope: str = ""
    not_checked: str = ""
    rule_backed: bool = True


#: The skill's checklist, in its order, then pgkeel's RLS and migration-safety items:
#: what a pass covers, or
#: why an item no rule answers is not checked.
CHECKLIST: tuple[_Item, ...] = (
    _Item(items.NORMALIZATION,
          scope=("repeating column groups, non-atomic values and functional dependencies "
                 "found in the schema and sampled rows"),
          not_checked=("normal forms depend on functional dependencies between columns, "
                       "which no rule that ran reads; review the schema by hand")),
    _Item(items.FK_INDEXES,
          scope="every foreign key has a valid, non-partial index leading with its columns"),
    _Item("Migrations are reversible (UP/DOWN)", rule_backed=False, not_checked=(
        "answered by `pgkeel migrate verify` (up, down, up on a scratch database) when "
        "check is given the migrations folder (the CLI gives it when one exists)")),
    _Item(items.CONSTRAINTS,
          scope=("keys, types and constraints the rules read; whether NOT NULL, UNIQUE and "
                 "CHECK constraints match your domain rules needs review")),
    _Item(QUERIES_USE_INDEXES, rule_backed=False, not_checked=(
        "answered from the workload's EXPLAIN plans (pgkeel.advisor.checklist)")),
    _Item(BACKUP_TESTED, rule_backed=False, not_checked=(
        "needs the project's settings (its [backup] directory): `pgkeel check` passes "
        "them, check(..., settings=...) from Python")),
    _Item("Seed data available for development", rule_backed=False, not_checked=(
        "answered by seeding a scratch database built from the migrations when check is "
        "given the migrations folder and the settings (the CLI gives both when a "
        "migrations folder exists)")),
    _Item(items.RLS,
          scope="row-level security enabled, policies present and restrictive where used"),
    _Item("Migrations are safe to run", rule_backed=False, not_checked=(
        "no migrations folder was given to lint (`pgkeel check` lints the project's; "
        "`pgkeel lint` lints any)")),
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
    the skill's seven items in its order, then RLS and migration safety; ``findings``
    every rule's findings, worst first; ``rules`` describes each rule that ran (for SARIF);
    ``tables`` counts the tables audited; ``data_read`` is False when the rows were
    not read (``check(..., read_rows=False)``, ``--no-data``); ``data_failures``
    holds each distinct reason PostgreSQL gave for refusing or cancelling a data
    query (``permission denied for table film``, a statement timeout), sorted:
    findings that need those rows may be missing. ``snapshot`` is the catalog
    snapshot audited (pgkeel's own schema left out), for renderers that draw it.
    """

    database: str
    server_version: str
    checklist: tuple[ChecklistItem, ...]
    findings: tuple[Finding, ...]
    rules: tuple[RuleInfo, ...]
    tables: int
    data_read: bool = True
    data_failures: tuple[str, ...] = ()
    snapshot: Snapshot | None = field(default=None, compare=False, repr=False)

    def breaches(self, fail_on: FailOn) -> bool:
        """True when a finding is at or above ``fail_on`` (never for None)."""
        return breaches(self.findings, fail_on)

    def header(self) -> dict[str, Any]:
        """The JSON keys before ``findings``: database, server version, checklist."""
        return {"database": self.database, "server_version": self.server_version,
                "data_read": self.data_read, "data_failures": list(self.data_failures),
                "checklist": [c.to_dict() for c in self.checklist]}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{database, server_version, checklist, findings}``."""
        return {**self.header(), "findings": [f.to_dict() for f in self.findings]}


def _answer(item: _Item, findings: Sequence[Finding], ran: Sequence[type[Rule]],
            skipped: Sequence[type[Rule]], data_read: bool,
            data_failures: Sequence[str] = (), rows_seen: bool = True) -> ChecklistItem:
    if not item.rule_backed:
        return ChecklistItem(item.item, "not checked", item.not_checked)
    rules = tuple(r.id for r in ran if r.checklist == item.item)
    if not rules:
        off = sorted(r.id for r in skipped if r.checklist == item.item)
        why = (f"its rules did not run (disabled, opt-in or not for this server: "
               f"{', '.join(off)}); " if off else "no rule answers it yet; ")
        return ChecklistItem(item.item, "not checked", why + item.not_checked
                             if item.not_checked else why.rstrip("; "))
    readers = sorted(r.id for r in ran if r.checklist == item.item and r.uses_data)
    unread = (f"; rows not read (--no-data): rules that judge from the data "
              f"({', '.join(readers)}) were skipped" if readers and not data_read else "")
    if readers and data_read and data_failures:
        unread = (f"; data queries failed ({len(data_failures)} reason(s): "
                  f"{'; '.join(data_failures[:3])}{'; …' * (len(data_failures) > 3)}): "
                  f"rules that judge from the data "
                  f"({', '.join(readers)}) may have missed findings")
    if readers and data_read and not rows_seen:
        unread = (f"; no table holds rows yet: rules that judge from the data "
                  f"({', '.join(readers)}) had nothing to read")
    hits = [f for f in findings if f.rule in rules]
    if not hits and unread and len(readers) == len(rules):
        # Every rule of the item judges from rows it could not read: silence proves
        # nothing, so the item is not answered.
        return ChecklistItem(item.item, "not checked", unread.removeprefix("; "), rules)
    if not hits:
        return ChecklistItem(item.item, "pass", f"checked: {item.scope}{unread}", rules)
    counts = Counter(f.rule for f in hits)
    found = ", ".join(f"{n} {rule}" for rule, n in sorted(counts.items()))
    status: ChecklistStatus = "fail" if max(f.severity for f in hits) is Severity.ERROR \
        else "warn"
    return ChecklistItem(item.item, status, f"{len(hits)} finding(s): {found}{unread}", rules)


def checklist(findings: Sequence[Finding], ran: Sequence[type[Rule]] | None = None, *,
              data_read: bool = True, data_failures: Sequence[str] = (),
              rows_seen: bool = True) -> tuple[ChecklistItem, ...]:
    """Answer the checklist from ``findings`` of the rules ``ran`` (module docstring).

    ``ran`` defaults to every rule that is not opt-in; rules that declare an item but
    are not in ``ran`` make the item say they did not run. ``data_read`` False adds
    that the rules reading rows were skipped; ``data_failures`` (distinct reasons
    data queries failed) adds that those rules may have missed findings;
    ``rows_seen`` False (no audited table holds a row) adds that they had nothing to
    read, and an item whose rules all judge from rows is then ``not checked``.
    """
    every = registry.schema_rules()
    chosen = tuple(ran) if ran is not None else tuple(r for r in every if not r.opt_in)
    skipped = tuple(r for r in every if r not in chosen)
    return tuple(_answer(item, findings, chosen, skipped, data_read, data_failures,
                         rows_seen) for item in CHECKLIST)


def selected_rules(config: CheckConfig, server_version_num: int) -> tuple[type[SchemaRule], ...]:
    """The schema rules ``check`` runs under ``config`` on a server of that version."""
    return tuple(r for r in registry.schema_rules()
                 if selected(r, config, server_version_num))


def _holds_rows(conn: psycopg.Connection[Any], snap: Snapshot) -> bool:
    """True when some audited table holds at least one row (one query, one probe each).

    Raises nothing: a table the user may not read counts as holding rows (the data
    failures already say what could not be read).
    """
    tables = [t for t in snap.tables if not t.is_partition]
    if not tables:
        return False
    probes = sql.SQL(", ").join(
        sql.SQL("(SELECT EXISTS (SELECT FROM {}.{}))").format(
            sql.Identifier(t.schema), sql.Identifier(t.name)) for t in tables)
    try:
        with conn.transaction():
            row = conn.execute(sql.SQL("SELECT true = ANY (ARRAY[{}])").format(probes)
                               ).fetchone()
    except psycopg.Error:
        return True
    return bool(row and row[0])


def check(target: str | psycopg.Connection[Any], config: CheckConfig | None = None, *,
          read_rows: bool = True, settings: Settings | None = None) -> CheckResult:
    """Audit the database at ``target`` (a libpq URI / DSN, or an open connection).

    Reads one catalog snapshot, runs every schema rule that ``config`` (the
    ``[check]`` settings; defaults when None) selects, with the database's rows as
    evidence (bounded read-only queries; none at all when ``read_rows`` is False),
    and answers the checklist. Nothing is written to the database. pgkeel's own
    schema and extension members are never audited. With the project's ``settings``
    the items other features answer are filled in from them: "Migrations are safe to
    run" by linting the migrations folder against this database
    (:mod:`pgkeel.lint.migration.run`), "Migrations are reversible" by verifying the
    folder on a scratch database of the local cluster when it runs, else of the audited
    server (:mod:`pgkeel.migrations.verify_checklist`), the backup item from the
    backups directory (:mod:`pgkeel.backup.checklist`), the seed item by seeding another
    scratch database (:mod:`pgkeel.seed.checklist`). Returns a :class:`CheckResult`.

    Raises ``ConfigError``/``ConnectError`` when ``target`` is a DSN that does not
    parse or connect, and ``DatabaseError`` when a catalog query fails.
    """
    config = config or CheckConfig()
    failed: list[str] = []
    opened = nullcontext(target) if isinstance(target, psycopg.Connection) \
        else connect(target)
    with opened as conn:
        snap, findings = lint_database(conn, config=config, read_rows=read_rows,
                                       failures=failed)
        kept = audited(snap)
        rows = read_rows and _holds_rows(conn, kept)
        url = target if isinstance(target, str) else None
        features = _feature_answers(conn, snap.database, config, settings, url)
        personas = _personas_answer(conn, settings) if settings else None
    failures = tuple(sorted(set(failed)))
    ran = selected_rules(config, snap.server_version_num)
    answered = checklist(findings, ran, data_read=read_rows, data_failures=failures,
                         rows_seen=rows)
    answered = tuple(ChecklistItem(c.item, *features[c.item]) if c.item in features else c
                     for c in answered)
    if personas is not None:
        answered = tuple(_with_personas(c, personas) if c.item == items.RLS else c
                         for c in answered)
    return CheckResult(
        database=snap.database,
        server_version=snap.server_version,
        checklist=answered,
        findings=findings,
        rules=tuple(r.info() for r in ran),
        tables=len(kept.tables),
        data_read=read_rows,
        data_failures=failures,
        snapshot=kept,
    )


def _personas_answer(conn: psycopg.Connection[Any], settings: Settings
                     ) -> tuple[ChecklistStatus, str] | None:
    """``pgkeel rls test``'s answer with the project's personas file, or None."""
    from pgkeel.rls.checklist import checklist_status

    return checklist_status(conn, settings)


def _with_personas(item: ChecklistItem, personas: tuple[ChecklistStatus, str]
                   ) -> ChecklistItem:
    """The RLS item with the persona proof added to the rules' answer."""
    from pgkeel.rls.checklist import merge

    return ChecklistItem(item.item, *merge((item.status, item.detail), personas), item.rules)


def _feature_answers(conn: psycopg.Connection[Any], database: str,
                     config: CheckConfig | None, settings: Settings | None,
                     url: str | None) -> dict[str, tuple[ChecklistStatus, str]]:
    """``{item: (status, detail)}`` for the items that features other than the schema
    rules answer: the workload's plans always, the rest from the project's ``settings``
    (none without them); ``url`` is the audited database's (None when given a
    connection), the fallback server for verify's scratch database."""
    from pgkeel.advisor.checklist import checklist_status as queries_status

    answers = {QUERIES_USE_INDEXES: queries_status(conn, config)}
    if settings is None:
        return answers
    from pgkeel.backup.checklist import checklist_status as backup_status
    from pgkeel.lint.migration.config import lint_config
    from pgkeel.lint.migration.run import CHECKLIST_ITEM as SAFE
    from pgkeel.lint.migration.run import checklist_status as lint_status
    from pgkeel.migrations.verify_checklist import ITEM as REVERSIBLE
    from pgkeel.migrations.verify_checklist import checklist_status as verify_status
    from pgkeel.seed.checklist import ITEM as SEEDED
    from pgkeel.seed.checklist import checklist_status as seed_status
    from pgkeel.target import local_cluster

    folder = settings.resolve(settings.migrations_dir)
    cluster = local_cluster(settings)
    server = cluster.url() if cluster.status().state == "running" else url
    return answers | {
        REVERSIBLE: verify_status(server, folder),
        SEEDED: seed_status(server, folder, settings.resolve(settings.seed.directory)),
        SAFE: lint_status(conn, folder, lint_config(settings)),
        BACKUP_TESTED: backup_status(database, settings),
    }
