"""The Finding model: severity order, --fail-on thresholds, the JSON form."""

from __future__ import annotations

import pytest

from pgkeel.report import Finding, Severity, breaches, parse_fail_on, sort_findings


def _f(severity: Severity, rule: str = "r-x", obj: str = "public.t") -> Finding:
    return Finding(rule=rule, severity=severity, message="m", object=obj)


def test_severity_orders_info_warning_error_not_alphabetically() -> None:
    assert Severity.INFO < Severity.WARNING < Severity.ERROR
    assert max([Severity.WARNING, Severity.ERROR, Severity.INFO]) is Severity.ERROR
    assert sorted(Severity) == [Severity.INFO, Severity.WARNING, Severity.ERROR]
    assert f"{Severity.ERROR}" == "error"  # the plain word in JSON and on the CLI


@pytest.mark.parametrize(
    ("fail_on", "severities", "expected"),
    [
        ("error", [Severity.WARNING, Severity.INFO], False),
        ("error", [Severity.ERROR], True),
        ("warning", [Severity.INFO], False),
        ("warning", [Severity.WARNING], True),
        ("warning", [Severity.ERROR], True),
        ("info", [Severity.INFO], True),
        ("info", [], False),
        ("never", [Severity.ERROR], False),
    ],
)
def test_fail_on_threshold(fail_on: str, severities: list[Severity], expected: bool) -> None:
    assert breaches([_f(s) for s in severities], parse_fail_on(fail_on)) is expected


def test_unknown_fail_on_names_the_choices() -> None:
    with pytest.raises(ValueError, match="error, warning, info or never"):
        parse_fail_on("fatal")


def test_json_form_has_the_issue_field_names_and_round_trips() -> None:
    finding = Finding(rule="float-for-money", severity=Severity.ERROR, message="m",
                      object="public.t.price", fix="ALTER TABLE ...", docs="https://x")
    data = finding.to_dict()
    assert list(data) == ["rule", "severity", "message", "object", "file", "line",
                          "column", "fix", "fix_down", "docs"]
    assert data["severity"] == "error"
    assert Finding.from_dict(data) == finding


def test_sort_puts_the_worst_first_then_rule_and_object() -> None:
    found = [_f(Severity.INFO, "a-a"), _f(Severity.ERROR, "z-z", "public.b"),
             _f(Severity.ERROR, "z-z", "public.a"), _f(Severity.WARNING, "b-b")]
    assert [(f.severity, f.object) for f in sort_findings(found)][:2] == [
        (Severity.ERROR, "public.a"), (Severity.ERROR, "public.b")]
    assert sort_findings(found)[-1].severity is Severity.INFO
