"""``pgkeel explain``: a statement's plan as a tree, with the plan rules' findings."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pgkeel.cli._common import DatabaseUrl, ProjectDir, note, out, resolve_url

if TYPE_CHECKING:
    from rich.text import Text
    from rich.tree import Tree

    from pgkeel.advisor.explain import ExplainResult
    from pgkeel.advisor.plan import PlanNode
    from pgkeel.advisor.plan_rules.base import PlanFinding

__all__ = ["explain_command"]


class ExplainFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


class FailOnChoice(StrEnum):
    """``--fail-on`` choices."""

    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def explain_command(
    query: str | None = typer.Argument(
        None, metavar="[SQL]", show_default=False, help="The statement to explain."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="Read the statement from this file instead.",
        show_default=False),
    analyze: bool = typer.Option(
        False, "--analyze",
        help="Execute it (EXPLAIN ANALYZE, BUFFERS) in a transaction that is rolled back."),
    allow_writes: bool = typer.Option(
        False, "--allow-writes",
        help="Allow --analyze of INSERT/UPDATE/DELETE/MERGE or SELECT FOR UPDATE: rolled "
        "back, but sequences advance and row locks are held while it runs."),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="The value of $1, $2, ... in order (repeat the option)."),
    statement_timeout: int = typer.Option(
        10_000, "--timeout-ms", help="statement_timeout for this run, in ms."),
    database_url: DatabaseUrl = None,
    project: ProjectDir = None,
    output_format: ExplainFormat = typer.Option(
        ExplainFormat.text, "--format", help="Output: a plan tree, or JSON."),
    fail_on: FailOnChoice = typer.Option(
        FailOnChoice.error, "--fail-on",
        help="Exit 1 when a finding is at or above this severity ('never': always 0)."),
) -> None:
    """Explain one statement: the plan as a tree, time per node, and what to fix.

    Parameters $1.. take --param values; without them pgkeel samples real values from
    pg_stats (or, on PostgreSQL 16+ without --analyze, plans generically).

    Example: [bold]pgkeel explain "SELECT * FROM orders WHERE customer_id = 42" --analyze[/bold],
    [bold]pgkeel explain -f slow.sql --analyze --param 42[/bold]
    """
    from pgkeel.advisor.explain import explain
    from pgkeel.connect import connect
    from pgkeel.errors import UsageError
    from pgkeel.report import parse_fail_on

    if (query is None) == (file is None):
        raise UsageError("give the statement either as SQL or with --file, not both",
                         hint='pgkeel explain "SELECT ..." or pgkeel explain --file q.sql')
    text = query if query is not None else Path(str(file)).read_text()
    url = resolve_url(database_url, project)
    with connect(url) as conn:
        result = explain(conn, text, analyze=analyze, allow_writes=allow_writes,
                         params=param or None, statement_timeout_ms=statement_timeout)
    for warning in result.warnings:
        note(f"warning: {warning}")
    if output_format is ExplainFormat.json:
        typer.echo(json.dumps(_as_json(result), indent=2, ensure_ascii=False, default=str))
    else:
        _print(result)
    raise typer.Exit(1 if result.breaches(parse_fail_on(fail_on.value)) else 0)


def _as_json(result: ExplainResult) -> dict[str, object]:
    plan = result.plan
    return {
        "statement": result.statement.text, "mode": result.mode,
        "params": list(result.params), "param_source": result.param_source,
        "planning_ms": plan.planning_ms, "execution_ms": plan.execution_ms,
        "findings": [{**f.finding.to_dict(), "node": f.node_id,
                      "saving_ms": round(f.saving_ms, 3)} for f in result.findings],
        "plan": plan.raw,
    }


def _print(result: ExplainResult) -> None:
    from rich.text import Text
    from rich.tree import Tree

    plan = result.plan
    head = Text()
    head.append({"analyze": "EXPLAIN ANALYZE (rolled back)", "costs": "EXPLAIN (costs only)",
                 "generic": "EXPLAIN generic plan (costs only)"}[result.mode], style="bold")
    if plan.planning_ms is not None:
        head.append(f"  planning {plan.planning_ms:,.2f} ms")
    if plan.execution_ms is not None:
        head.append(f"  execution {plan.execution_ms:,.2f} ms")
    if result.params:
        values = ", ".join(f"${i}={v!r}" for i, v in enumerate(result.params, 1))
        head.append(f"\nparameters ({result.param_source}): {values}", style="dim")
    elif result.param_source == "generic":
        head.append("\nparameters: none given, generic plan", style="dim")
    tree = Tree(head)
    _add(tree, plan.root, result)
    out.print(tree, soft_wrap=False)
    for found in result.at(None):
        out.print(_finding(found))
    count = len(result.findings)
    out.print(f"{count} finding{'s' if count != 1 else ''}"
              + ("" if result.mode == "analyze" else
                 " (costs only: --analyze measures time and finds more)"))


def _add(parent: Tree, node: PlanNode, result: ExplainResult) -> None:
    branch = parent.add(_label(node, result))
    for found in result.at(node.id):
        branch.add(_finding(found))
    for child in node.children:
        _add(branch, child, result)


def _label(node: PlanNode, result: ExplainResult) -> Text:
    from rich.text import Text

    plan = result.plan
    label = Text(node.label, style="bold")
    if plan.analyzed:
        total = plan.execution_ms or plan.root.inclusive_ms or 1.0
        share = node.exclusive_ms / total if total else 0.0
        style = "bold red" if share >= 0.4 else "yellow" if share >= 0.1 else ""
        label.append(f"  {node.exclusive_ms:,.2f} ms ({share:.0%})", style=style)
        if not node.loops:
            label.append("  never executed", style="dim")
        else:
            per_loop = float(node.data.get("Actual Rows", 0))
            label.append(f"  rows {node.plan_rows:,.0f} est / {per_loop:,.0f} actual")
            if node.loops > 1:
                label.append(f" x {node.loops:,} loops")
        hit, read = node.blocks("Shared Hit"), node.blocks("Shared Read")
        temp = node.blocks("Temp Read") + node.blocks("Temp Written")
        if hit or read or temp:
            label.append(f"  buffers hit {hit:,.0f} read {read:,.0f}"
                         + (f" temp {temp:,.0f}" if temp else ""), style="dim")
    else:
        total_cost = plan.total_cost or 1.0
        label.append(f"  cost {node.exclusive_cost:,.1f} ({node.exclusive_cost / total_cost:.0%})"
                     f"  rows {node.plan_rows:,.0f} est")
    return label


def _finding(found: PlanFinding) -> Text:
    from rich.text import Text

    finding = found.finding
    text = Text()
    text.append(f"{finding.severity.value} ", style=_STYLE[finding.severity.value])
    text.append(f"{finding.rule}: ", style="bold")
    text.append(finding.message)
    if finding.fix:
        text.append(f"\nfix: {finding.fix}", style="green")
    return text
