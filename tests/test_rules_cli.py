"""``pgkeel rules``: every rule in a table or JSON; one rule's page; unknown ids."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from pgkeel.cli import app
from pgkeel.lint import registry

runner = CliRunner()


def test_list_names_every_rule() -> None:
    result = runner.invoke(app, ["rules"])
    assert result.exit_code == 0
    for rule in registry.all_rules():
        assert rule.id in result.stdout
    assert "checklist item" in result.stdout and "opt-in" in result.stdout


def test_list_as_json() -> None:
    result = runner.invoke(app, ["rules", "--format", "json"])
    data = json.loads(result.stdout)
    assert [r["id"] for r in data] == [r.id for r in registry.all_rules()]
    fk = next(r for r in data if r["id"] == "unindexed-foreign-key")
    assert fk["severity"] == "warning" and fk["checklist"] == "All foreign keys have indexes"
    assert fk["opt_in"] is False and fk["upstream"] == ["splinter:unindexed_foreign_keys"]
    assert "description" not in fk


def test_one_rule_page() -> None:
    result = runner.invoke(app, ["rules", "unindexed-foreign-key"])
    assert result.exit_code == 0
    assert "Index the referencing columns of every foreign key." in result.stdout
    assert "CREATE TABLE orders" in result.stdout  # the Bad / Good examples
    data = json.loads(runner.invoke(app, ["rules", "unindexed-foreign-key", "--format",
                                          "json"]).stdout)
    assert data["description"] == registry.get("unindexed-foreign-key").description


def test_unknown_rule_exits_2_with_close_matches() -> None:
    result = subprocess.run([sys.executable, "-m", "pgkeel", "rules", "unindexed-foreign-keys"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2 and result.stdout == ""
    assert "no rule 'unindexed-foreign-keys'" in result.stderr
    assert "did you mean unindexed-foreign-key" in result.stderr


def test_migration_rules_are_listed_and_documented() -> None:
    data = json.loads(runner.invoke(app, ["rules", "--format", "json"]).stdout)
    by_id = {r["id"]: r for r in data}
    assert by_id["require-lock-timeout"]["command"] == "lint"
    assert by_id["unindexed-foreign-key"]["command"] == "check"
    page = runner.invoke(app, ["rules", "disallowed-schema"])
    assert page.exit_code == 0
    assert "run by pgkeel lint" in page.stdout and "[lint] enable" in page.stdout
    assert "[lint.options.disallowed-schema]" in page.stdout
