"""Sections F and G: transactions decide backfills; new tables are exempt; options."""

from __future__ import annotations

from pgkeel.lint.migration.context import LintSettings
from tests.lint.migration.helpers import lint_one


def test_backfill_only_counts_ddl_in_the_same_transaction() -> None:
    split = ("-- migrate:up transaction:false\nALTER TABLE t ADD COLUMN c int;\n"
             "UPDATE t SET c = a WHERE c IS NULL;\n-- migrate:down\n")
    assert lint_one("backfill-in-schema-migration", split) == []
    block = split.replace("ALTER TABLE t ADD COLUMN c int;\n",
                          "BEGIN;\nALTER TABLE t ADD COLUMN c int;\n").replace(
        "WHERE c IS NULL;\n", "WHERE c IS NULL;\nCOMMIT;\n")
    [finding] = lint_one("backfill-in-schema-migration", block)
    assert "line 3" in finding.message
    assert lint_one("backfill-in-schema-migration",
                    "CREATE TABLE n (x int); INSERT INTO n (x) SELECT a FROM t;") == []


def test_whole_table_write_to_a_new_table_is_exempt() -> None:
    assert lint_one("update-or-delete-without-where",
                    "CREATE TABLE n (x int); UPDATE n SET x = 1;") == []


def test_naming_convention_takes_the_team_pattern() -> None:
    settings = LintSettings(options={"naming-convention-ddl": {"index": r"^ix_"}})
    sql = "CREATE INDEX ix_t_b ON t (b);"
    assert len(lint_one("naming-convention-ddl", sql)) == 1
    assert lint_one("naming-convention-ddl", sql, settings=settings) == []


def test_names_given_by_rename_are_judged() -> None:
    [finding] = lint_one("non-snake-case-identifier", 'ALTER TABLE t RENAME COLUMN b TO "Label";')
    assert finding.object == "t.Label"
