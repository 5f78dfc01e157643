"""What ``migrate verify`` found, as :class:`~pgkeel.report.findings.Finding` objects.

Each migration that is not reversible gives findings located at its file (the line of
the failing statement, or of the down marker): one per catalog difference its down
left, one for a statement that failed. :data:`RULES` describes the rule ids for SARIF.
"""

from __future__ import annotations

from pgkeel.catalog.diff import Difference, Wording
from pgkeel.migrations.verify import AFTER_DOWN, AFTER_REAPPLY, MigrationCheck, VerifyResult
from pgkeel.report.findings import Finding, RuleInfo, Severity

__all__ = ["RULES", "findings"]

_DOCS = "https://github.com/pgkeel/pgkeel/blob/main/docs/migrations.md#pgkeel-migrate-verify"

RULES = (
    RuleInfo("irreversible-migration", Severity.ERROR,
             "The migration has no down section, so it cannot be rolled back.",
             "The down section has no statement and is not marked `noop:true`: "
             "`pgkeel migrate rollback` refuses it, and so does a rollback plan.",
             docs=_DOCS),
    RuleInfo("down-fails", Severity.ERROR, "The down section fails on PostgreSQL.",
             "Run after the up on a scratch database, a statement of the down section "
             "failed: rolling back in production would fail the same way.", docs=_DOCS),
    RuleInfo("down-incomplete", Severity.ERROR,
             "The down section leaves the catalog different from before the up.",
             "After up and down on a scratch database, the catalog differs from the one "
             "before the up: the down forgets to undo something, or undoes too much.",
             docs=_DOCS),
    RuleInfo("reapply-fails", Severity.ERROR,
             "The up fails when run again after the down.",
             "Up, down, then up again on a scratch database: the second up failed, so "
             "after a rollback the migration could not be applied again.", docs=_DOCS),
    RuleInfo("reapply-differs", Severity.ERROR,
             "The up gives another catalog when run again after the down.",
             "Up, down, then up again on a scratch database: the catalog differs from "
             "the one after the first up.", docs=_DOCS),
    RuleInfo("data-loss-on-rollback", Severity.WARNING,
             "Rolling the migration back drops a table or column that held rows.",
             "With `--with-data`, every table gets a few generated rows after the up; "
             "the down then dropped a table or column holding some of them. Rolled back "
             "in production, it would throw away what was written since the deploy.",
             docs=_DOCS),
    RuleInfo("up-fails", Severity.ERROR, "The up section fails on PostgreSQL.",
             "The up section failed on a scratch database holding every migration before "
             "it: the migrations after it were not verified.", docs=_DOCS),
)


def findings(result: VerifyResult) -> tuple[Finding, ...]:
    """Every finding of ``result``, migration by migration, in file order."""
    out: list[Finding] = []
    for check in result.migrations:
        out.extend(_of(check))
    return tuple(out)


def _fix(difference: Difference, where: str) -> str:
    if difference.change == "added":
        return f"drop it in the {where}"
    if difference.change == "removed":
        return f"re-create it in the {where}"
    changed = ", ".join(a.attribute for a in difference.attributes)
    return f"restore its {changed} in the {where}"


def _differences(check: MigrationCheck, rule: str, differences: tuple[Difference, ...],
                 wording: Wording, line: int | None) -> list[Finding]:
    where = "down section" if rule == "down-incomplete" else "down section, or make the up "\
        "independent of what the down leaves"
    return [Finding(rule, Severity.ERROR, f"{check.path.name}: {d.describe(wording)}",
                    object=d.name, file=str(check.path), line=line, fix=_fix(d, where))
            for d in differences]


def _of(check: MigrationCheck) -> list[Finding]:
    path, name = str(check.path), check.path.name
    down_line = check.down_line
    out: list[Finding] = []
    if check.verdict == "no-down":
        out.append(Finding(
            "irreversible-migration", Severity.ERROR,
            f"{name}: the down section has no statements, so it cannot be rolled back",
            file=path, line=down_line,
            fix="write the statements that undo the up, or mark the down "
                "`-- migrate:down noop:true` when there is nothing to undo"))
    out += _differences(check, "down-incomplete", check.down_differences, AFTER_DOWN,
                        down_line)
    out += _differences(check, "reapply-differs", check.reapply_differences, AFTER_REAPPLY,
                        down_line)
    out += [Finding(
        "data-loss-on-rollback", Severity.WARNING,
        f"{name}: rolling back drops {loss.describe()}",
        object=loss.relation if loss.column is None else f"{loss.relation}.{loss.column}",
        file=path, line=down_line,
        fix="keep the data: copy it aside in the down (an archive table), or refuse to "
            "roll back while rows hold values")
        for loss in check.data_loss]
    error = check.error
    if error is not None:
        rule = {"up": "up-fails", "down": "down-fails", "reapply": "reapply-fails"}[
            error.section]
        what = {"up": "up", "down": "down", "reapply": "up, run again after down,"}[
            error.section]
        sqlstate = f" [SQLSTATE {error.sqlstate}]" if error.sqlstate else ""
        out.append(Finding(
            rule, Severity.ERROR,
            f"{name}: {what} fails at statement {error.index + 1}"
            f"{f' (line {error.line})' if error.line else ''}: {error.message}{sqlstate}",
            file=path, line=error.line,
            fix="correct the statement" if error.section != "reapply"
            else "make the down undo what this statement needs undone"))
    return out

