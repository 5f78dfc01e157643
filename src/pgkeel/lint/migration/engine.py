"""Run the migration rules over files: the library side of ``pgkeel lint``.

Each section (up, then down) is read with :mod:`.source` and walked statement by
statement; every selected :class:`~pgkeel.lint.rules.base.MigrationRule` whose
``nodes`` match sees the statement with the :class:`.context.MigrationContext` of the
state before it, then the context records the statement's effects. SQL the parser
rejects becomes a ``syntax-error`` finding at its line and column; the statements
around it are still linted. ``-- pgkeel:disable`` comments (:mod:`.suppress`) then
remove the findings a team accepted, and a comment without a reason is reported
(``bad-suppression``).

Rules are dispatched by node type (one dictionary lookup per statement, not one
``isinstance`` per rule): linting stays linear in statements x matching rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from pgkeel.lint import registry
from pgkeel.lint.migration import suppress
from pgkeel.lint.migration.context import CatalogFacts, LintSettings, MigrationContext
from pgkeel.lint.migration.source import LintSource, read_source, read_text
from pgkeel.lint.rules.base import MigrationRule
from pgkeel.report.findings import Finding, Severity, sort_findings

__all__ = ["lint_file", "lint_source", "lint_text", "selected_rules", "sql_files"]

SYNTAX_ERROR = "syntax-error"
BAD_SUPPRESSION = "bad-suppression"


def selected_rules(ids: Iterable[str] | None = None, *, enable: Iterable[str] = (),
                   disable: Iterable[str] = ()) -> tuple[MigrationRule, ...]:
    """Instances of the migration rules: those in ``ids``, else every rule that is not
    opt-in plus those in ``enable``, minus those in ``disable``. Raises
    ``registry.UnknownRule`` for an id no rule has."""
    if ids is not None:
        chosen = [registry.get(i) for i in ids]
        return tuple(rule() for rule in chosen if issubclass(rule, MigrationRule))
    on, off = set(enable), set(disable)
    return tuple(rule() for rule in registry.migration_rules()
                 if (not rule.opt_in or rule.id in on) and rule.id not in off)


class _Dispatch:
    """The rules to call for each statement node type (built once per rule set)."""

    def __init__(self, rules: Sequence[MigrationRule]) -> None:
        self.rules = tuple(rules)
        self.ids = frozenset(r.id for r in rules)
        # Only the rules that judge a whole section are asked at its end.
        self.finishing = tuple(r for r in rules
                               if type(r).finish is not MigrationRule.finish)
        self._by_type: dict[type, tuple[MigrationRule, ...]] = {}

    def for_node(self, node: object) -> tuple[MigrationRule, ...]:
        kind = type(node)
        found = self._by_type.get(kind)
        if found is None:
            found = tuple(r for r in self.rules if not r.nodes or issubclass(kind, r.nodes))
            self._by_type[kind] = found
        return found


_DISPATCH: dict[tuple[int, ...], _Dispatch] = {}


def _dispatch(rules: Sequence[MigrationRule]) -> _Dispatch:
    key = tuple(id(r) for r in rules)
    found = _DISPATCH.get(key)
    if found is None or found.rules != tuple(rules):
        found = _DISPATCH[key] = _Dispatch(rules)
    return found


def lint_source(source: LintSource, rules: Sequence[MigrationRule], *,
                settings: LintSettings | None = None,
                catalog: CatalogFacts | None = None) -> tuple[Finding, ...]:
    """Lint every section of ``source`` with ``rules``; findings worst first.

    ``settings`` default to :class:`LintSettings` (), ``catalog`` None lints offline.
    Suppression comments of the file are applied; ``bad-suppression`` and
    ``syntax-error`` findings are made here when those rules are among ``rules``.
    """
    settings = settings or LintSettings()
    dispatch = _dispatch(rules)
    findings: list[Finding] = []
    path = str(source.path)
    for section in source.sections:
        ctx = MigrationContext(source, section, settings, catalog)
        if SYNTAX_ERROR in dispatch.ids:
            findings += [Finding(rule=SYNTAX_ERROR, severity=Severity.ERROR,
                                 message=f"PostgreSQL cannot parse this: {p.message}",
                                 file=path, line=p.line, column=p.column,
                                 fix="correct the SQL at this position")
                         for p in section.problems]
        for statement in section.statements:
            for rule in dispatch.for_node(statement.node):
                findings += rule.check(statement, ctx)
            ctx.after(statement)
        for rule in dispatch.finishing:
            findings += rule.finish(ctx)
    suppressions = suppress.find(source)
    if suppressions and BAD_SUPPRESSION in dispatch.ids:
        findings += _bad_suppressions(suppressions, path)
    return sort_findings(suppress.apply(findings, suppressions))


def _bad_suppressions(suppressions: Sequence[suppress.Suppression],
                      path: str) -> list[Finding]:
    known = {r.id for r in registry.migration_rules()}
    found = []
    for s in suppressions:
        unknown = sorted(s.rules - known)
        problems = []
        if not s.rules:
            problems.append("names no rule")
        if unknown:
            problems.append(f"names no known rule: {', '.join(unknown)}")
        if not s.reason:
            problems.append("gives no reason")
        if not s.whole_file and s.statement_line is None:
            problems.append("is not on the line right before a statement, so it "
                            "silences nothing")
        if problems:
            found.append(Finding(
                rule=BAD_SUPPRESSION, severity=Severity.WARNING,
                message=f"this {suppress.MARK} comment {'; '.join(problems)}",
                file=path, line=s.line, column=s.column,
                fix=f"-- {suppress.MARK} RULE-ID[, RULE-ID] -- why the finding is "
                "acceptable here (`pgkeel rules` lists the ids)"))
    return found


def lint_text(text: str, *, path: Path = Path("migration.sql"),
              rules: Sequence[MigrationRule] | None = None,
              settings: LintSettings | None = None,
              catalog: CatalogFacts | None = None) -> list[Finding]:
    """Lint SQL text as the file ``path`` (which need not exist); see :func:`lint_source`.

    ``rules`` default to :func:`selected_rules` ().
    """
    settings = settings or LintSettings()
    source = read_text(path, text, assume_in_transaction=settings.assume_in_transaction)
    return list(lint_source(source, rules if rules is not None else selected_rules(),
                            settings=settings, catalog=catalog))


def lint_file(path: Path, rules: Sequence[MigrationRule], *,
              settings: LintSettings | None = None,
              catalog: CatalogFacts | None = None,
              texts: dict[str, str] | None = None) -> tuple[Finding, ...]:
    """Read and lint the file ``path``; see :func:`lint_source`.

    ``texts``, when given, receives the file's text under ``str(path)`` (for reports
    that quote it). A file that is not UTF-8 is one ``syntax-error`` finding (line 1),
    not an exception; raises ``OSError`` when it cannot be read.
    """
    settings = settings or LintSettings()
    try:
        source = read_source(path, assume_in_transaction=settings.assume_in_transaction)
    except UnicodeDecodeError as exc:
        return (Finding(rule=SYNTAX_ERROR, severity=Severity.ERROR,
                        message=f"not UTF-8 text (byte {exc.start}): PostgreSQL clients "
                        "send migration files as UTF-8", file=str(path), line=1, column=1,
                        fix="save the file as UTF-8"),)
    if texts is not None:
        texts[str(path)] = source.text
    return lint_source(source, rules, settings=settings, catalog=catalog)


def sql_files(paths: Iterable[Path]) -> list[Path]:
    """The ``.sql`` files ``paths`` name: files as given, directories searched
    recursively (hidden entries skipped), each directory's files in dbmate's order
    (by name). Raises ``FileNotFoundError`` for a path that does not exist."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted((p for p in path.rglob("*.sql") if p.is_file()
                             and not any(part.startswith(".")
                                         for part in p.relative_to(path).parts)),
                            key=lambda p: (p.parent.as_posix(), p.name))
        elif path.exists():
            found.append(path)
        else:
            raise FileNotFoundError(2, "No such file or directory", str(path))
    return found
