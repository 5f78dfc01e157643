"""``pgkeel lint``'s own output forms: text with the statement excerpt, GitHub annotations.

JSON and SARIF come from :mod:`pgkeel.report` (the same renderers as ``check``).

Text, one block per finding, worst first (the layout of compilers and of squawk)::

    migrations/20240105_idx.sql:3:1: warning [require-concurrent-index]
      CREATE INDEX t_b_idx ON t (b);
      ^
      CREATE INDEX on public.t without CONCURRENTLY holds a SHARE lock: ...
      fix: CREATE INDEX CONCURRENTLY in a migration whose marker says ...

GitHub Actions annotations follow "Workflow commands for GitHub Actions"
(``::error file=F,line=L,col=C,title=T::message``), with the command's escaping of
``%``, CR and LF (and ``:`` and ``,`` in properties).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from pgkeel.report.findings import Finding, Severity, sort_findings

__all__ = ["excerpt", "render_github", "render_text", "summary"]

_EXCERPT_WIDTH = 120
_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning",
                 Severity.INFO: "notice"}


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        data = Path(path).read_bytes().decode("utf-8-sig", errors="replace")
    except OSError:
        return ()
    return tuple(data.replace("\r\n", "\n").replace("\r", "\n").split("\n"))


def excerpt(finding: Finding, lines: Sequence[str] | None = None
            ) -> tuple[str, str] | None:
    """``(line text, caret line)`` of the source line a finding points at, or None
    when it has no position or the file cannot be read. ``lines`` are the file's
    lines as linted (else the file is read). Long lines are cut around the column so
    the caret stays under it; tabs become spaces."""
    if not finding.file or not finding.line:
        return None
    if lines is None:
        lines = _lines(finding.file)
    if finding.line > len(lines):
        return None
    text = lines[finding.line - 1].replace("\t", " ")
    column = max((finding.column or 1) - 1, 0)
    start = max(column - _EXCERPT_WIDTH // 2, 0) if len(text) > _EXCERPT_WIDTH else 0
    shown = text[start:start + _EXCERPT_WIDTH]
    return shown, " " * (column - start) + "^"


def render_text(findings: Sequence[Finding], texts: Mapping[str, str] | None = None) -> str:
    """The findings as text blocks (module docstring), newline-ended ("" when none);
    ``texts`` holds the linted files' texts by path (else the files are read)."""
    blocks = []
    split: dict[str, list[str]] = {}
    for f in sort_findings(findings):
        where = ":".join(str(p) for p in (f.file, f.line, f.column) if p is not None) or "-"
        block = [f"{where}: {f.severity.value} [{f.rule}]"]
        lines = None
        if f.file and texts is not None and f.file in texts:
            lines = split.get(f.file)
            if lines is None:
                lines = split[f.file] = texts[f.file].split("\n")
        shown = excerpt(f, lines)
        if shown is not None:
            block += [f"  {shown[0]}", f"  {shown[1]}"]
        block.append(f"  {f.message}")
        if f.fix:
            block.append("  fix: " + f.fix.replace("\n", "\n       "))
        blocks.append("\n".join(block))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding]) -> str:
    """One GitHub Actions annotation line per finding (module docstring)."""
    lines = []
    for f in sort_findings(findings):
        props = []
        if f.file:
            props.append(f"file={_property(f.file)}")
        if f.line:
            props.append(f"line={f.line}")
        if f.column:
            props.append(f"col={f.column}")
        props.append(f"title={_property(f.rule)}")
        message = f.message + (f"\nfix: {f.fix}" if f.fix else "")
        lines.append(f"::{_GITHUB_LEVEL[f.severity]} {','.join(props)}::{_data(message)}")
    return "\n".join(lines) + "\n" if lines else ""


def summary(findings: Sequence[Finding]) -> str:
    """``3 findings: 1 error, 2 warnings, 0 info`` (or ``no findings``), as ``check``
    says it (:func:`pgkeel.report.render_text.summary_line`, which loads Rich)."""
    if not findings:
        return "no findings"
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    errors, warnings = counts[Severity.ERROR], counts[Severity.WARNING]
    return (f"{len(findings)} finding{'s' * (len(findings) != 1)}: "
            f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}, "
            f"{counts[Severity.INFO]} info")
