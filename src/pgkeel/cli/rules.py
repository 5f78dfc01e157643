"""``pgkeel rules``: list every rule, or print one rule's documentation."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import typer

from pgkeel.cli._common import out

if TYPE_CHECKING:
    from pgkeel.lint.rules.base import Rule

__all__ = ["rules_command"]


class RulesFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"


def _command(rule: type[Rule]) -> str:
    """The command that runs ``rule`` (and names its configuration table)."""
    from pgkeel.lint.rules.base import MigrationRule

    return "lint" if issubclass(rule, MigrationRule) else "check"


def _describe(rule: type[Rule], *, full: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": rule.id, "command": _command(rule), "severity": rule.severity.value,
        "checklist": rule.checklist,
        "opt_in": rule.opt_in, "uses_data": rule.uses_data, "summary": rule.summary,
        "upstream": list(rule.upstream), "docs": rule.docs_url,
        "min_server_version": rule.min_server_version,
        "options": {k: {"type": o.describe_type(), "help": o.help, "default": o.default}
                    for k, o in rule.options.items()},
    }
    if full:
        data["description"] = rule.description
    return data


def rules_command(
    rule_id: str | None = typer.Argument(
        None, metavar="[ID]", show_default=False, help="A rule id: print its documentation."),
    output_format: RulesFormat = typer.Option(
        RulesFormat.text, "--format", help="Output: a terminal table / Markdown, or JSON."),
) -> None:
    """List every rule check and lint run (id, command, severity, opt-in, summary).

    Example: [bold]pgkeel rules[/bold], [bold]pgkeel rules unindexed-foreign-key[/bold],
    [bold]pgkeel rules require-lock-timeout[/bold]
    """
    from pgkeel.errors import UsageError
    from pgkeel.lint import registry
    from pgkeel.lint.config import close_matches

    rules = registry.all_rules()
    if rule_id is None:
        if output_format is RulesFormat.json:
            typer.echo(json.dumps([_describe(r, full=False) for r in rules], indent=2,
                                  ensure_ascii=False))
        else:
            _table(rules)
        return
    try:
        rule = registry.get(rule_id)
    except registry.UnknownRule:
        raise UsageError(f"no rule {rule_id!r}",
                         hint=f"{close_matches(rule_id, [r.id for r in rules])}"
                         "`pgkeel rules` lists every rule") from None
    if output_format is RulesFormat.json:
        typer.echo(json.dumps(_describe(rule, full=True), indent=2, ensure_ascii=False))
    else:
        _document(rule)


def _table(rules: tuple[type[Rule], ...]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"{len(rules)} rules (`pgkeel rules ID` for one rule's page)",
                  title_justify="left")
    for column in ("id", "command", "severity", "checklist item", "opt-in"):
        table.add_column(column, no_wrap=True)
    table.add_column("summary", ratio=1)
    for rule in rules:
        table.add_row(Text(rule.id, style="bold"), _command(rule), rule.severity.value,
                      Text(rule.checklist or "-"), "yes" if rule.opt_in else "",
                      Text(rule.summary))
    out.print(table)


def _document(rule: type[Rule]) -> None:
    from rich.markdown import Markdown

    command = _command(rule)
    facts = [f"**{rule.id}** ({rule.severity.value}, run by `pgkeel {command}`"
             + (f", opt-in: enable it in `[{command}] enable`" if rule.opt_in else "") + ")"]
    if rule.checklist:
        facts.append(f"Checklist item: {rule.checklist}")
    if rule.upstream:
        facts.append("Same rule elsewhere: " + ", ".join(f"`{u}`" for u in rule.upstream))
    if rule.docs_url:
        facts.append(f"Docs: {rule.docs_url}")
    if rule.uses_data:
        facts.append("Reads rows as evidence (skipped by `check --no-data`).")
    lines = [f"# {rule.summary}", "", *(f"- {f}" for f in facts), "", rule.description]
    if rule.options:
        lines += ["", "Options", "-------", "", f"In `[{command}.options.{rule.id}]`:", ""]
        lines += [f"- `{k}` ({o.describe_type()}, default `{o.default!r}`): {o.help}"
                  for k, o in rule.options.items()]
    out.print(Markdown("\n".join(lines)))
