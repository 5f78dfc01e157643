"""Renderers against golden files: text (fixed width, no colour), JSON, SARIF.

``pytest --update-golden`` rewrites the files from the current output; review the
diff before committing it.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from sarif_schema import sarif_errors

from pgkeel.report import Finding, RuleInfo, Severity, render_json, render_sarif, render_text

GOLDEN = Path(__file__).parent / "golden"

RULES = (
    RuleInfo("unindexed-foreign-key", Severity.WARNING,
             "Index the referencing columns of every foreign key.",
             "Why\n---\nParent deletes scan the child.", "constraint",
             "https://example.com/rules/unindexed-foreign-key"),
    RuleInfo("float-for-money", Severity.ERROR, "Store money in numeric.",
             "Why\n---\nFloats are inexact.", "column", None),
)

FINDINGS = (
    Finding("unindexed-foreign-key", Severity.WARNING,
            "foreign key rental_customer_id_fkey on public.rental(customer_id) has no index",
            object="public.rental.rental_customer_id_fkey",
            fix='CREATE INDEX CONCURRENTLY "rental_customer_id_idx" ON "public"."rental" '
                '("customer_id");',
            docs="https://example.com/rules/unindexed-foreign-key"),
    Finding("float-for-money", Severity.ERROR,
            "column public.invoice.total is double precision but its name says money",
            object="public.invoice.total",
            fix='ALTER TABLE "public"."invoice" ALTER COLUMN "total" TYPE numeric(12, 2);'),
    Finding("require-concurrent-index", Severity.INFO,
            "CREATE INDEX without CONCURRENTLY blocks writes on «bestellung»",
            file="migrations/20240119_add_index.sql", line=3, column=1),
)


def _golden(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run pytest --update-golden"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs: see pytest --update-golden"


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("update_golden"))


def test_text(update: bool) -> None:
    text = render_text.render(FINDINGS, width=100)
    assert "\x1b[" not in text  # no colour codes
    _golden("findings.txt", text, update)


def test_text_without_findings() -> None:
    assert render_text.render(()) == "no findings\n"


def test_json(update: bool) -> None:
    text = render_json.render(FINDINGS, {"database": "app", "server_version": "15.18"})
    data = json.loads(text)
    assert list(data) == ["database", "server_version", "findings"]
    assert [f["severity"] for f in data["findings"]] == ["error", "warning", "info"]
    _golden("findings.json", text, update)


def test_sarif(update: bool) -> None:
    text = render_sarif.render(FINDINGS, RULES, tool_version="0.0.0",
                               properties={"database": "app"})
    log = json.loads(text)
    assert sarif_errors(log) == []
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    # the two described rules first, then a bare descriptor for the unknown one
    assert [r["id"] for r in rules] == ["unindexed-foreign-key", "float-for-money",
                                        "require-concurrent-index"]
    assert rules[0]["defaultConfiguration"] == {"level": "warning"}
    assert rules[0]["helpUri"].endswith("unindexed-foreign-key")
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["float-for-money"]["level"] == "error"
    assert by_rule["require-concurrent-index"]["level"] == "note"
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    catalog = by_rule["unindexed-foreign-key"]["locations"][0]["logicalLocations"][0]
    assert catalog == {"fullyQualifiedName": "public.rental.rental_customer_id_fkey",
                       "name": "rental_customer_id_fkey", "kind": "constraint"}
    assert by_rule["float-for-money"]["locations"][0]["logicalLocations"][0]["kind"] == "column"
    physical = by_rule["require-concurrent-index"]["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "migrations/20240119_add_index.sql"},
                        "region": {"startLine": 3, "startColumn": 1}}
    assert "Fix: CREATE INDEX CONCURRENTLY" in by_rule["unindexed-foreign-key"]["message"]["text"]
    _golden("findings.sarif", text, update)


def test_sarif_schema_rejects_a_broken_log() -> None:
    # The validator is real: a result without a message breaks the schema.
    log = json.loads(render_sarif.render(FINDINGS, RULES, tool_version="0.0.0"))
    del log["runs"][0]["results"][0]["message"]
    assert sarif_errors(log)


MARKUP = Finding("missing-primary-key", Severity.ERROR,
                 'table public."[bold]x[/x]" has no primary key [/x]',
                 object='public."[bold]x[/x]"',
                 fix='ALTER TABLE "public"."[bold]x[/x]" ADD PRIMARY KEY ("[red]id");')


def test_text_escapes_markup() -> None:
    # Names come from the database: Rich markup in them prints as is, never styles
    # (nor fails on an unmatched closing tag such as [/x]).
    text = render_text.render([MARKUP], width=200)
    assert 'public."[bold]x[/x]"' in text
    assert 'has no primary key [/x]' in text
    assert '("[red]id");' in text
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=True, color_system="truecolor")
    console.print(render_text.findings_table([MARKUP]))
    plain = re.sub(r"\x1b\[[0-9;]*m", "", buffer.getvalue())
    assert 'public."[bold]x[/x]"' in plain and "no primary key [/x]" in plain


def test_fixes_script_keeps_names_inside_the_comment() -> None:
    # A line break in a name would end the "-- where" comment and run the rest as SQL.
    evil = Finding("missing-timestamps", Severity.WARNING, "m",
                   object='public."x\nDROP TABLE users; --"', fix="SELECT 1;")
    script = render_text.fixes_script([evil])
    assert script.splitlines()[-4:] == [
        "BEGIN;", '-- public."x\\nDROP TABLE users; --" (missing-timestamps)', "SELECT 1;",
        "COMMIT;"]


@pytest.mark.parametrize(
    ("name", "parts"),
    [("public.rental", ("public", "rental")),
     ('"Mixed Case"."Bestellung ü"', ("Mixed Case", "Bestellung ü")),
     ('public."weird""name"."weird""name_a.b_fkey"', ("public", 'weird"name',
                                                      'weird"name_a.b_fkey')),
     ('public."a.b".c', ("public", "a.b", "c")),
     ('not "a name', ('not "a name',))],
)
def test_sarif_object_parts(name: str, parts: tuple[str, ...]) -> None:
    assert render_sarif.object_parts(name) == parts


def test_sarif_logical_location_of_quoted_names() -> None:
    finding = Finding("unindexed-foreign-key", Severity.WARNING, "m",
                      object='public."weird""name"."weird""name_a.b_fkey"')
    log = render_sarif.document([finding], RULES, tool_version="0.0.0")
    assert sarif_errors(log) == []
    (where,) = log["runs"][0]["results"][0]["locations"][0]["logicalLocations"]
    assert where == {"fullyQualifiedName": 'public."weird""name"."weird""name_a.b_fkey"',
                     "name": 'weird"name_a.b_fkey', "kind": "constraint"}
