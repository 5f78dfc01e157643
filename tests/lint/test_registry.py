"""The rule contract: ids, severities and docstrings are checked when a rule is defined."""

from __future__ import annotations

import pytest

from pgkeel.lint import registry
from pgkeel.lint.registry import DuplicateRule, UnknownRule
from pgkeel.lint.rules import InvalidRule, SchemaRule
from pgkeel.report import Severity

GOOD_DOC = '''Do the thing.

Why
---
Because.

Bad
---
```sql
SELECT 1;
```

Good
----
```sql
SELECT 2;
```

References
----------
- nowhere
'''

ISSUE_RULES = {
    "missing-primary-key": Severity.ERROR,
    "unindexed-foreign-key": Severity.WARNING,
    "missing-timestamps": Severity.WARNING,
    "updated-at-not-maintained": Severity.WARNING,
    "timestamp-without-time-zone": Severity.WARNING,
    "float-for-money": Severity.ERROR,
    "rls-disabled-tenant-table": Severity.ERROR,
    "repeating-column-group": Severity.WARNING,
    "non-atomic-column": Severity.INFO,
    "transitive-dependency": Severity.WARNING,
    "derived-column": Severity.INFO,
    "rls-disabled-in-exposed-schema": Severity.ERROR,
    "rls-enabled-no-policy": Severity.INFO,
    "policy-exists-rls-disabled": Severity.ERROR,
    "multiple-permissive-policies": Severity.WARNING,
    "auth-function-per-row": Severity.WARNING,
    "policy-uses-user-metadata": Severity.ERROR,
    "policy-column-not-indexed": Severity.WARNING,
    "tenant-policy-pattern": Severity.WARNING,
    "security-definer-view": Severity.WARNING,
    "function-search-path-mutable": Severity.WARNING,
    "security-definer-executable-by-public": Severity.WARNING,
    "extension-in-public": Severity.WARNING,
    "grants-without-policy": Severity.INFO,
    "duplicate-index": Severity.WARNING,
    "redundant-index": Severity.INFO,
    "invalid-index": Severity.WARNING,
    "unused-index": Severity.INFO,
    "sequence-near-exhaustion": Severity.ERROR,
    "small-integer-key": Severity.WARNING,
    "prefer-identity": Severity.WARNING,
    "nullable-foreign-key": Severity.INFO,
    "char-type": Severity.WARNING,
    "varchar-limit": Severity.INFO,
    "money-type": Severity.WARNING,
    "integer-boolean": Severity.INFO,
    "nullable-boolean": Severity.INFO,
    "missing-check-constraint": Severity.INFO,
    "table-without-comment": Severity.INFO,
    "naming-convention": Severity.INFO,
}


def test_the_issue_rules_are_registered_with_their_severities() -> None:
    found = {r.id: r.severity for r in registry.schema_rules()}
    assert found == ISSUE_RULES


@pytest.mark.parametrize("rule", registry.all_rules(), ids=lambda r: r.id)
def test_every_rule_documents_itself(rule: type[SchemaRule]) -> None:
    assert rule.summary and rule.summary.endswith(".")
    assert rule.docs_url and rule.docs_url.startswith("https://")
    assert rule.example("Bad").strip() and rule.example("Good").strip()
    info = rule.info()
    assert (info.id, info.severity, info.summary) == (rule.id, rule.severity, rule.summary)
    assert "References" in info.description


def _define(rule_id: str, doc: str | None, severity: object = Severity.WARNING) -> None:
    type("Tmp", (SchemaRule,), {"__doc__": doc, "id": rule_id, "severity": severity,
                               "check": lambda self, snapshot: iter(())})


def test_non_kebab_id_fails_at_definition() -> None:
    with pytest.raises(InvalidRule, match="kebab-case"):
        _define("MissingPK", GOOD_DOC)


def test_severity_must_be_a_severity() -> None:
    with pytest.raises(InvalidRule, match="severity"):
        _define("tmp-rule", GOOD_DOC, severity="error")


def test_missing_section_fails_and_names_it() -> None:
    with pytest.raises(InvalidRule, match="References"):
        _define("tmp-rule", GOOD_DOC.split("References")[0])


def test_sections_out_of_order_fail() -> None:
    swapped = GOOD_DOC.replace("Bad\n---", "TMP").replace("Good\n----", "Bad\n---")
    with pytest.raises(InvalidRule, match="out of order"):
        _define("tmp-rule", swapped.replace("TMP", "Good\n----"))


def test_example_without_sql_block_fails() -> None:
    with pytest.raises(InvalidRule, match="Bad section needs a ```sql block"):
        _define("tmp-rule", GOOD_DOC.replace("```sql\nSELECT 1;\n```", "no example"))


def test_duplicate_id_fails() -> None:
    with pytest.raises(DuplicateRule, match="missing-primary-key"):
        _define("missing-primary-key", GOOD_DOC)
    assert registry.get("missing-primary-key").__name__ == "MissingPrimaryKey"


def test_unknown_rule() -> None:
    with pytest.raises(UnknownRule):
        registry.get("no-such-rule")
