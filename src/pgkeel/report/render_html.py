"""``check --format html``: one self-contained page a team can share.

The page carries its style sheet inline and loads nothing (no script, no font, no
CDN), so it opens offline and from a CI artefact. It shows the checklist with
statuses; the findings grouped by rule, then by table, each with its fix; and bar
charts (:mod:`pgkeel.report.charts`) of the largest tables, of index usage
(``pg_stat_user_indexes.idx_scan`` since the statistics reset, PostgreSQL docs
27.2 "The Cumulative Statistics System"; unused indexes flagged) and of the slowest
statements by mean time (pg_stat_statements, when readable).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pgkeel.docs.html import STYLE
from pgkeel.report.charts import Bar, bar_chart
from pgkeel.report.findings import Finding, Severity, sort_findings
from pgkeel.report.render_text import summary_line

if TYPE_CHECKING:
    from pgkeel.advisor.statements import Statement
    from pgkeel.catalog.model import Snapshot
    from pgkeel.check import CheckResult

__all__ = ["render"]

_EXTRA_STYLE = """
.badge{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-weight:600;
font-size:12px;color:#fff}.b-pass{background:#1a7f37}.b-warn{background:#9a6700}
.b-fail{background:#cf222e}.b-nc{background:#6e7781}.sev-error{color:#cf222e}
.sev-warning{color:#9a6700}.sev-info{color:#0969da}details{margin:.25rem 0 .75rem}
.chart text{font:12px system-ui,sans-serif;fill:#1f2328}.bar{fill:#4f7cac}
.bar-alert{fill:#cf222e}.muted{color:#6e7781}
""".strip()

_BADGE = {"pass": "b-pass", "warn": "b-warn", "fail": "b-fail", "not checked": "b-nc"}
_TOP = 20


def _e(text: object) -> str:
    return html.escape(str(text))


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def _checklist(result: CheckResult) -> str:
    rows = "".join(
        f'<tr><td><span class="badge {_BADGE[c.status]}">{_e(c.status)}</span></td>'
        f"<td><b>{_e(c.item)}</b><br>{_e(c.detail)}</td></tr>" for c in result.checklist)
    return f"<table><thead><tr><th>status</th><th>item / detail</th></tr></thead>" \
           f"<tbody>{rows}</tbody></table>"


def _owner(finding: Finding, owners: dict[int, str]) -> str:
    return owners.get(id(finding), finding.object or finding.file or "(database)")


def _findings(findings: Sequence[Finding], snap: Snapshot | None) -> str:
    if not findings:
        return "<p>No findings.</p>"
    owners: dict[int, str] = {}
    if snap is not None:
        from pgkeel.docs.pages import table_findings

        for table, hits in table_findings(findings, snap).items():
            owners.update({id(f): table for f in hits})
    by_rule: dict[str, list[Finding]] = {}
    for f in sort_findings(findings):
        by_rule.setdefault(f.rule, []).append(f)
    out = []
    for rule, hits in by_rule.items():
        worst = max(f.severity for f in hits)
        docs = f' <a href="{_e(hits[0].docs)}">docs</a>' if hits[0].docs else ""
        out.append(f'<h3><span class="sev-{worst.value}">{_e(worst.value)}</span> '
                   f"{_e(rule)} <span class=\"muted\">({len(hits)})</span>{docs}</h3>")
        tables: dict[str, list[Finding]] = {}
        for f in hits:
            tables.setdefault(_owner(f, owners), []).append(f)
        for table in sorted(tables):
            # Fixes fold away: a long SQL fix per finding would bury the next one.
            items = "".join(
                f"<li><code>{_e(f.object or '')}</code> {_e(f.message)}"
                + (f"<details><summary>fix</summary><pre><code>{_e(f.fix)}</code></pre>"
                   "</details>" if f.fix else "") + "</li>"
                for f in tables[table])
            out.append(f"<details open><summary><b>{_e(table)}</b> "
                       f"({len(tables[table])})</summary><ul>{items}</ul></details>")
    return "".join(out)


def _table_sizes(snap: Snapshot) -> str:
    from pgkeel.docs.erd import build_erd

    entities = sorted(build_erd(snap).entities, key=lambda e: (-e.size_bytes, e.qualified))
    bars = [Bar(e.qualified, e.size_bytes,
                f"{_size(e.size_bytes)}, {'?' if e.rows < 0 else f'{e.rows:,}'} rows")
            for e in entities[:_TOP]]
    how = "measured on disk" if snap.exact_sizes else "estimated from the planner's statistics"
    return (f"<p class=\"muted\">Largest {len(bars)} of {len(entities)} tables, with "
            f"indexes and TOAST; partitions added to their parent; sizes {how}.</p>"
            + bar_chart(bars, title="table sizes"))


def _index_usage(snap: Snapshot) -> str:
    indexes = [(t.qualified, i) for t in snap.tables for i in t.indexes if i.scans is not None]
    indexes.sort(key=lambda p: (-p[1].size_bytes, p[0], p[1].name))
    bars = [Bar(f"{q}: {i.name}", i.size_bytes,
                f"{_size(i.size_bytes)}, {i.scans:,} scans",
                "bar-alert" if i.scans == 0 and not i.unique else "bar")
            for q, i in indexes[:_TOP]]
    unused = sum(1 for _, i in indexes if i.scans == 0 and not i.unique)
    since = (f"since the statistics were reset ({_e(snap.stats_reset)})" if snap.stats_reset
             else "since the statistics were last reset (never on this server)")
    return (f"<p class=\"muted\">Largest {len(bars)} of {len(indexes)} indexes by size; "
            f"red: never scanned {since}, and not backing a unique constraint "
            f"({unused} such indexes).</p>" + bar_chart(bars, title="index usage"))


def _statements(statements: Sequence[Statement], note: str | None) -> str:
    if note:
        return f"<p class=\"muted\">{_e(note)}</p>"
    if not statements:
        return "<p class=\"muted\">pg_stat_statements has recorded no statement yet.</p>"
    bars = [Bar(s.query.replace("\n", " "), s.mean_ms,
                f"{s.mean_ms:.2f} ms mean, {s.calls:,} calls") for s in statements]
    rows = "".join(f"<tr><td>{n}</td><td>{s.mean_ms:.2f}</td><td>{s.calls:,}</td>"
                   f"<td>{s.total_ms:.1f}</td><td><code>{_e(s.query)}</code></td></tr>"
                   for n, s in enumerate(statements, 1))
    return (bar_chart(bars, title="slowest statements") +
            "<table><thead><tr><th>#</th><th>mean ms</th><th>calls</th><th>total ms</th>"
            f"<th>statement</th></tr></thead><tbody>{rows}</tbody></table>")


def render(result: CheckResult, *, statements: Sequence[Statement] = (),
           statements_note: str | None = None) -> str:
    """Return the HTML page of ``result`` (a :class:`~pgkeel.check.CheckResult`).

    ``statements`` are the slowest statements (pg_stat_statements, slowest first);
    ``statements_note`` replaces that chart with why they could not be read. The
    charts of sizes and index usage need ``result.snapshot`` and are left out
    without it. Deterministic for a given input; no timestamp.
    """
    counts = {s: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>pgkeel check: {_e(result.database)}</title>",
        f"<style>{STYLE}\n{_EXTRA_STYLE}</style></head><body>",
        f"<h1>pgkeel check: {_e(result.database)}</h1>",
        f"<p>PostgreSQL {_e(result.server_version)}; {result.tables} tables; "
        f"{_e(summary_line(result.findings))}"
        + ("" if result.data_read else "; rows not read (--no-data)") + "</p>",
        "<h2>Validation Checklist</h2>", _checklist(result),
        f"<h2>Findings</h2><p class=\"muted\">{counts[Severity.ERROR]} errors, "
        f"{counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} info; grouped by "
        "rule, then by table. Review each fix before running it.</p>",
        _findings(result.findings, result.snapshot),
    ]
    if result.snapshot is not None:
        parts += ["<h2>Table sizes</h2>", _table_sizes(result.snapshot),
                  "<h2>Index usage</h2>", _index_usage(result.snapshot)]
    parts += ["<h2>Slowest statements</h2>", _statements(statements, statements_note),
              "</body></html>"]
    return "\n".join(parts) + "\n"
