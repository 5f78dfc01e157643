"""Render findings for a terminal: a Rich table, worst first, then the fixes as SQL.

:func:`findings_table` returns the table for a caller's console (the CLI's, with
colour); :func:`fixes_script` the suggested fixes as the script ``check --fix-sql`` prints
(:mod:`pgkeel.report.fix_script`), kept out of the table so it can be copied as is;
:func:`render` returns all of it as plain text at a fixed width, the form the golden
files pin down.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from pgkeel.report.findings import Finding, Severity, sort_findings
from pgkeel.report.fix_script import fix_sql

__all__ = ["findings_table", "fixes_script", "location", "render", "summary_line"]

_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def location(finding: Finding) -> str:
    """Where a finding points: its catalog object, or ``file:line:column``."""
    if finding.object:
        return finding.object
    if finding.file:
        parts = [finding.file]
        parts += [str(n) for n in (finding.line, finding.column) if n is not None]
        return ":".join(parts)
    return "-"


def findings_table(findings: Sequence[Finding]) -> Table:
    """Return a table of ``findings``: severity, rule, and where above the message.

    Every cell is a :class:`~rich.text.Text`, never markup: names and messages come
    from the database and may hold ``[bold]`` or ``[/x]``, which must print as is.
    """
    table = Table(title="Findings", title_justify="left")
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("where / message", ratio=1)
    for f in sort_findings(findings):
        cell = Text(location(f), style="bold")
        cell.append(f"\n{f.message}", style="")
        table.add_row(Text(f.severity.value, style=_STYLE[f.severity]), Text(f.rule), cell)
    return table


def fixes_script(findings: Sequence[Finding]) -> str:
    """The suggested fixes as one psql script ("" when none has a fix).

    :func:`pgkeel.report.fix_script.fix_sql`: transactional statements in one
    ``BEGIN``/``COMMIT``, then those PostgreSQL refuses in a transaction block; each
    fix after a ``-- <where> (<rule>)`` comment. Review before running: the comments
    in each fix say what it locks or rewrites.
    """
    return fix_sql(findings).rstrip("\n")


def summary_line(findings: Sequence[Finding]) -> str:
    """``3 findings: 1 error, 2 warnings, 0 info`` (or ``no findings``)."""
    if not findings:
        return "no findings"
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    noun = "finding" if len(findings) == 1 else "findings"
    errors = counts[Severity.ERROR]
    warnings = counts[Severity.WARNING]
    return (f"{len(findings)} {noun}: {errors} error{'s' * (errors != 1)}, "
            f"{warnings} warning{'s' * (warnings != 1)}, {counts[Severity.INFO]} info")


def render(findings: Sequence[Finding], *, width: int = 100) -> str:
    """Return the findings table and summary as plain text, ``width`` columns wide."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None,
                      force_terminal=False, highlight=False, emoji=False)
    if findings:
        console.print(findings_table(findings))
    script = fixes_script(findings)
    if script:
        console.print("Suggested fixes", markup=False)
        console.print(script, markup=False, soft_wrap=True)
    console.print(summary_line(findings))
    # Rich pads titles and cells to the width; golden files keep no trailing blanks.
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())
