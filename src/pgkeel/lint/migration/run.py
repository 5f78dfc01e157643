"""``pgkeel lint`` as a library call: which files, which database facts, which rules.

:func:`lint_paths` lints files and directories (offline, or with the facts of a live
database); :func:`pending_files` picks the migrations a database has not applied yet
(pgkeel's history), what a pull-request check lints; :func:`checklist_status` answers
``check``'s "Migrations are safe to run" item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgkeel.lint.migration.engine import lint_file, selected_rules, sql_files
from pgkeel.report.findings import FailOn, Finding, RuleInfo, Severity, breaches, sort_findings

if TYPE_CHECKING:
    import psycopg

    from pgkeel.lint.migration.config import LintConfig
    from pgkeel.lint.migration.context import CatalogFacts

__all__ = ["CHECKLIST_ITEM", "LintResult", "checklist_status", "lint_paths", "pending_files"]

#: The item of ``pgkeel check``'s checklist this module answers.
CHECKLIST_ITEM = "Migrations are safe to run"


@dataclass(frozen=True, slots=True)
class LintResult:
    """What :func:`lint_paths` found.

    ``findings`` worst first; ``files`` the files linted, in order; ``rules`` the
    rules that ran (for SARIF); ``database`` and ``server_version_num`` the live
    database's (None offline); ``target_version`` the version the version gates used
    (None: unknown); ``texts`` each linted file's text, by path (for excerpts).
    """

    findings: tuple[Finding, ...]
    files: tuple[Path, ...]
    rules: tuple[RuleInfo, ...]
    database: str | None = None
    target_version: int | None = None
    texts: Mapping[str, str] = field(default_factory=dict, repr=False)

    def breaches(self, fail_on: FailOn) -> bool:
        """True when a finding is at or above ``fail_on`` (never for None)."""
        return breaches(self.findings, fail_on)

    def header(self) -> dict[str, Any]:
        """The JSON keys before ``findings``: files, database, target version."""
        return {"files": [str(p) for p in self.files], "database": self.database,
                "target_version": self.target_version}


def lint_paths(paths: Sequence[Path], config: LintConfig, *,
               catalog: CatalogFacts | None = None) -> LintResult:
    """Lint the ``.sql`` files under ``paths`` (:func:`~.engine.sql_files`) with the
    rules ``config`` selects, against ``catalog`` (None: offline).

    Raises ``FileNotFoundError`` for a path that does not exist and ``OSError`` for a
    file that cannot be read.
    """
    rules = selected_rules(enable=config.enable, disable=config.disable)
    files = tuple(sql_files(paths))
    findings: list[Finding] = []
    texts: dict[str, str] = {}
    for path in files:
        findings += lint_file(path, rules, settings=config.settings, catalog=catalog,
                              texts=texts)
    target = catalog.snapshot.server_version_num if catalog is not None \
        else config.settings.target_version
    return LintResult(sort_findings(findings), files, tuple(type(r).info() for r in rules),
                      catalog.snapshot.database if catalog is not None else None, target,
                      texts)


def pending_files(directory: Path, applied: dict[str, str] | None) -> list[Path]:
    """The migration files of ``directory`` (names dbmate reads, in its order) whose
    version the history does not record as applied (all of them when ``applied`` is
    None or empty). Raises ``MigrationFileError`` when ``directory`` is no directory."""
    from pgkeel.errors import MigrationFileError
    from pgkeel.migrations._naming import leading_version, name_problem

    if not directory.is_dir():
        raise MigrationFileError("the migrations directory does not exist", path=directory,
                                 hint="create it, or set migrations_dir in pgkeel.toml")
    done = applied or {}
    return sorted((p for p in directory.iterdir() if p.is_file() and p.suffix == ".sql"
                   and name_problem(p.name) is None
                   and leading_version(p.name) not in done), key=lambda p: p.name)


def checklist_status(conn: psycopg.Connection[Any], directory: Path,
                     config: LintConfig) -> tuple[str, str]:
    """``(status, detail)`` of the checklist item :data:`CHECKLIST_ITEM`: lint the
    migrations in ``directory`` against the database ``conn``.

    ``pass`` when no finding is a warning or worse, ``fail`` when one is an error,
    ``warn`` otherwise; ``not checked`` when the folder does not exist or holds no
    migration. Raises ``DatabaseError`` when a catalog query fails.
    """
    from collections import Counter

    from pgkeel.lint.migration.live import catalog_facts

    if not directory.is_dir():
        return "not checked", f"no migrations folder at {directory}"
    files = pending_files(directory, None)
    if not files:
        return "not checked", f"{directory} holds no migration file"
    result = lint_paths(files, config, catalog=catalog_facts(conn))
    serious = [f for f in result.findings if f.severity >= Severity.WARNING]
    if not serious:
        return "pass", (f"checked: `pgkeel lint` on {len(files)} migration file(s) against "
                        "this database found no warning or error")
    counts = Counter(f.rule for f in serious)
    found = ", ".join(f"{n} {rule}" for rule, n in sorted(counts.items()))
    status = "fail" if any(f.severity is Severity.ERROR for f in serious) else "warn"
    return status, (f"{len(serious)} finding(s) in {len(files)} migration file(s): {found}; "
                    "see `pgkeel lint`")
