"""The engine around the rules: suppressions, sections, context subtleties the
docstring examples cannot show, the [lint] configuration, and the output forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkeel.config import load_settings
from pgkeel.errors import ConfigError
from pgkeel.lint.migration.config import lint_config, version_num
from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from pgkeel.lint.migration.engine import lint_text, selected_rules, sql_files
from pgkeel.lint.migration.output import render_github, render_text
from pgkeel.lint.rules.base import MigrationRule

MIGRATION = "-- migrate:up\n{up}\n-- migrate:down\n{down}\n"


def rules_of(text: str, *, path: str = "migration.sql", settings: LintSettings | None = None,
             rules: list[str] | None = None,
             catalog: CatalogFacts | None = None) -> list[tuple[str, int | None]]:
    chosen = selected_rules(rules) if rules is not None else None
    found = lint_text(text, path=Path(path), rules=chosen, settings=settings,
                      catalog=catalog)
    return sorted((f.rule, f.line) for f in found)


# -- suppressions ---------------------------------------------------------------------

def test_suppression_before_a_statement_silences_only_that_statement() -> None:
    text = MIGRATION.format(up=(
        "-- pgkeel:disable require-concurrent-index -- t is empty until the import\n"
        "CREATE INDEX t_b_idx ON t (b);\n"
        "CREATE INDEX t_v_idx ON t (v);"), down="")
    found = rules_of(text, rules=["require-concurrent-index", "bad-suppression"])
    assert found == [("require-concurrent-index", 4)]


def test_suppression_at_the_top_covers_the_file_and_lists_rules() -> None:
    text = ("-- pgkeel:disable require-concurrent-index, prefer-robust-stmts -- "
            "empty tables\n\n" + MIGRATION.format(
                up="CREATE INDEX t_b_idx ON t (b);\nCREATE INDEX t_v_idx ON t (v);",
                down="DROP INDEX t_b_idx;"))
    assert rules_of(text, rules=["require-concurrent-index", "bad-suppression"]) == []


def test_suppression_without_reason_or_with_unknown_rule_is_reported() -> None:
    text = MIGRATION.format(up=(
        "-- pgkeel:disable require-concurrent-index\n"
        "CREATE INDEX t_b_idx ON t (b);\n"
        "-- pgkeel:disable no-such-rule -- typo\n"
        "CREATE INDEX t_v_idx ON t (v);"), down="")
    found = lint_text(text, rules=selected_rules(["require-concurrent-index",
                                                  "bad-suppression"]))
    bad = [f for f in found if f.rule == "bad-suppression"]
    assert [(f.line, f.column) for f in bad] == [(2, 1), (4, 1)]
    assert "gives no reason" in bad[0].message
    assert "no-such-rule" in bad[1].message
    # The reasonless one still silences; the misspelt one cannot.
    assert [f.line for f in found if f.rule == "require-concurrent-index"] == [5]


def test_suppression_away_from_a_statement_silences_nothing_and_says_so() -> None:
    text = MIGRATION.format(up=(
        "CREATE INDEX t_b_idx ON t (b);\n"
        "-- pgkeel:disable require-concurrent-index -- too late\n\n"
        "CREATE INDEX t_v_idx ON t (v);"), down="")
    found = lint_text(text, rules=selected_rules(["require-concurrent-index",
                                                  "bad-suppression"]))
    assert sorted(f.rule for f in found) == ["bad-suppression", "require-concurrent-index",
                                             "require-concurrent-index"]
    assert "silences nothing" in next(f for f in found if f.rule == "bad-suppression").message


def test_suppression_words_inside_a_string_are_no_comment() -> None:
    text = MIGRATION.format(up=(
        "COMMENT ON TABLE t IS '\n-- pgkeel:disable require-concurrent-index -- x';\n"
        "CREATE INDEX t_b_idx ON t (b);"), down="")
    assert ("require-concurrent-index", 4) in rules_of(
        text, rules=["require-concurrent-index", "bad-suppression"])


# -- sections and context ------------------------------------------------------------

def test_down_section_is_linted_like_up() -> None:
    text = MIGRATION.format(up="SELECT 1;", down="CREATE INDEX t_b_idx ON t (b);")
    assert rules_of(text, rules=["require-concurrent-index"]) == [
        ("require-concurrent-index", 4)]


def test_down_section_undoing_the_up_s_set_not_null_or_default_is_no_finding() -> None:
    # The down section restores the column the up section found; a down section that
    # drops a NOT NULL or default the up section did not add is still reported.
    up = ("ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
          "ALTER TABLE t ALTER COLUMN b SET DEFAULT 1;")
    down = ("ALTER TABLE t ALTER COLUMN a DROP NOT NULL, ALTER COLUMN b DROP DEFAULT;\n"
            "ALTER TABLE t ALTER COLUMN b DROP NOT NULL, ALTER COLUMN a DROP DEFAULT;")
    assert rules_of(MIGRATION.format(up=up, down=down),
                    rules=["ban-drop-not-null", "ban-drop-default"]) == [
        ("ban-drop-default", 6), ("ban-drop-not-null", 6)]


def test_syntax_error_keeps_linting_the_other_statements() -> None:
    text = MIGRATION.format(up="ALTER TABLE t ADD COLUMN;\nCREATE INDEX t_b_idx ON t (b);",
                            down="")
    found = lint_text(text, rules=selected_rules(["syntax-error",
                                                  "require-concurrent-index"]))
    assert [(f.rule, f.line, f.column) for f in found] == [
        ("syntax-error", 2, 24), ("require-concurrent-index", 3, 1)]


@pytest.mark.parametrize(("up", "expected"), [
    ("selec 1;\nCREATE INDEX t_b_idx ON t (b);",  # a typo of a keyword
     [("require-concurrent-index", 3), ("syntax-error", 2)]),
    ("CREATE INDEX t_b_idx ON t (b);\n-- note\ngarbage here;",  # words, no statement
     [("require-concurrent-index", 2), ("syntax-error", 4)]),
])
def test_a_statement_the_scanner_cannot_start_is_a_syntax_error(
        up: str, expected: list[tuple[str, int]]) -> None:
    # pglast's scanner splitter drops a piece that begins with a plain identifier;
    # PostgreSQL would refuse the file, so the linter must not call it clean.
    text = MIGRATION.format(up=up, down="")
    assert rules_of(text, rules=["syntax-error", "require-concurrent-index"]) == expected


def test_set_local_lock_timeout_expires_at_commit() -> None:
    text = ("-- migrate:up transaction:false\n"
            "BEGIN;\nSET LOCAL lock_timeout = '1s';\nALTER TABLE t ADD COLUMN c int;\n"
            "COMMIT;\nALTER TABLE t ADD COLUMN d int;\n-- migrate:down\n")
    assert rules_of(text, rules=["require-lock-timeout"]) == [("require-lock-timeout", 6)]


def test_lock_timeout_zero_means_none_and_the_runner_s_counts_for_migrations_only() -> None:
    runner = LintSettings(runner_lock_timeout_ms=5000)
    migration = MIGRATION.format(up="ALTER TABLE t ADD COLUMN c int;", down="")
    assert rules_of(migration, settings=runner, rules=["require-lock-timeout"]) == []
    zero = MIGRATION.format(up="SET lock_timeout = 0;\nALTER TABLE t ADD COLUMN c int;",
                            down="")
    assert rules_of(zero, settings=runner, rules=["require-lock-timeout"]) == [
        ("require-lock-timeout", 3)]
    plain = "ALTER TABLE t ADD COLUMN c int;\n"
    assert rules_of(plain, settings=runner, rules=["require-lock-timeout"]) == [
        ("require-lock-timeout", 1)]


def test_lock_rules_ignore_tables_created_in_the_file_and_weak_locks() -> None:
    text = MIGRATION.format(up=(
        "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int;\n"
        "ALTER TABLE t VALIDATE CONSTRAINT t_chk;\nUPDATE t SET a = 1 WHERE id = 2;"),
        down="")
    assert rules_of(text, rules=["require-lock-timeout", "require-statement-timeout"]) == [
        ("require-statement-timeout", 4)]


def test_explicit_transaction_in_a_non_transactional_file_is_atomic() -> None:
    text = ("-- migrate:up transaction:false\nBEGIN;\nALTER TABLE t ADD COLUMN c int;\n"
            "COMMIT;\nALTER TABLE t ADD COLUMN d int;\n-- migrate:down\n")
    assert rules_of(text, rules=["prefer-robust-stmts", "transaction-nesting",
                                 "ban-uncommitted-transaction"]) == [
        ("prefer-robust-stmts", 5)]


def test_nested_begin_in_explicit_transaction() -> None:
    text = "BEGIN;\nBEGIN;\nCOMMIT;\n"
    assert rules_of(text, rules=["transaction-nesting"]) == [("transaction-nesting", 2)]
    assert rules_of(text, rules=["transaction-nesting"],
                    settings=LintSettings(assume_in_transaction=True)) == [
        ("transaction-nesting", 1), ("transaction-nesting", 2), ("transaction-nesting", 3)]


def test_target_version_unknown_assumes_the_oldest_supported_and_says_so() -> None:
    text = MIGRATION.format(up="ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2);",
                            down="")
    found = lint_text(text, rules=selected_rules(["syntax-newer-than-target"]))
    assert len(found) == 1 and "PostgreSQL 15 (the oldest supported) is assumed" in \
        found[0].message
    newer = LintSettings(target_version=180000)
    assert rules_of(text, settings=newer, rules=["syntax-newer-than-target"]) == []
    reindex = "REINDEX INDEX CONCURRENTLY t_a_idx;\n"
    assert rules_of(reindex, settings=LintSettings(target_version=110000),
                    rules=["syntax-newer-than-target"]) == [("syntax-newer-than-target", 1)]


def test_syntax_newer_than_target_reads_the_connected_server(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    text = MIGRATION.format(up="ALTER TABLE t ADD COLUMN a2 int GENERATED ALWAYS AS (a * 2);",
                            down="")
    found = rules_of(text, catalog=catalog, rules=["syntax-newer-than-target"],
                     settings=LintSettings(target_version=110000))  # the server wins
    expected = [] if catalog.snapshot.server_version_num >= 180000 else [
        ("syntax-newer-than-target", 2)]
    assert found == expected


def test_identifier_too_long_counts_bytes_as_written() -> None:
    name = "é" * 32  # 64 bytes, 32 characters
    text = f'CREATE TABLE "{name}" (x int);\nCREATE TABLE "{"é" * 31}" (x int);\n'
    found = lint_text(text, rules=selected_rules(["identifier-too-long"]))
    assert [(f.line, "64 bytes" in f.message) for f in found] == [(1, True)]


def test_duplicate_assignment_of_composite_fields_is_not_a_duplicate() -> None:
    text = "UPDATE t SET r.x = 1, r.y = 2;\nINSERT INTO t (a, a) VALUES (1, 2);\n"
    assert rules_of(text, rules=["ban-duplicate-column-assignments"]) == [
        ("ban-duplicate-column-assignments", 2)]


def test_prefer_robust_stmts_spares_concurrent_builds() -> None:
    text = ("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_b_idx ON t (b);\n"
            "DROP INDEX CONCURRENTLY t_a_idx;\n-- migrate:down\n")
    assert rules_of(text, rules=["prefer-robust-stmts"]) == [("prefer-robust-stmts", 3)]


# -- selection and configuration -----------------------------------------------------

def test_opt_in_rules_run_only_when_enabled() -> None:
    ids = {r.id for r in selected_rules()}
    assert "require-table-schema" not in ids and "require-lock-timeout" in ids
    chosen = {r.id for r in selected_rules(enable=["require-table-schema"],
                                           disable=["require-lock-timeout"])}
    assert "require-table-schema" in chosen and "require-lock-timeout" not in chosen


def test_lint_table_of_pgkeel_toml(tmp_path: Path) -> None:
    (tmp_path / "pgkeel.toml").write_text(
        "lock_timeout = 2.5\n[lint]\nenable = ['disallowed-schema']\ntarget_version = 14\n"
        "[lint.options.disallowed-schema]\nschemas = ['api']\n")
    config = lint_config(load_settings(tmp_path))
    assert config.enable == {"disallowed-schema"}
    assert config.settings.target_version == 140000
    assert config.settings.runner_lock_timeout_ms == 2500
    assert config.settings.options == {"disallowed-schema": {"schemas": ["api"]}}
    rules = selected_rules(enable=config.enable)
    found = lint_text("CREATE TABLE api.n (x int);\nCREATE TABLE public.m (x int);\n",
                      rules=rules, settings=config.settings)
    assert [(f.rule, f.line) for f in found if f.rule == "disallowed-schema"] == [
        ("disallowed-schema", 1)]


@pytest.mark.parametrize(("body", "words"), [
    ("[lint]\nenable = ['require-lock-timeot']\n", "did you mean require-lock-timeout"),
    ("[lint]\nenable = ['unindexed-foreign-key']\n", "unknown migration rule id"),
    ("[lint]\nenable = ['x']\ncolour = 1\n", "unknown key 'lint.colour'"),
    ("[lint.options.disallowed-schema]\nschema = ['a']\n", "has no option 'schema'"),
    ("[lint]\ntarget_version = 9\n", "neither a major version"),
])
def test_lint_table_mistakes_name_the_file_and_line(tmp_path: Path, body: str,
                                                     words: str) -> None:
    (tmp_path / "pgkeel.toml").write_text(body)
    with pytest.raises(ConfigError) as caught:
        lint_config(load_settings(tmp_path))
    assert words in str(caught.value) + (caught.value.hint or "")
    assert caught.value.line is not None


def test_version_num_forms() -> None:
    assert version_num(15) == 150000 and version_num(150004) == 150004
    with pytest.raises(ValueError, match="neither"):
        version_num(150)


def test_every_migration_rule_is_a_migration_rule() -> None:
    assert all(isinstance(r, MigrationRule) for r in selected_rules())


# -- files and output ----------------------------------------------------------------

def test_sql_files_searches_folders_in_dbmate_order(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("b/2_x.sql", "10_y.sql", "1_z.sql", ".hidden/0_h.sql", "notes.md"):
        (tmp_path / name).write_text("SELECT 1;")
    assert [p.relative_to(tmp_path).as_posix() for p in sql_files([tmp_path])] == [
        "10_y.sql", "1_z.sql", "b/2_x.sql"]
    with pytest.raises(FileNotFoundError):
        sql_files([tmp_path / "missing.sql"])


def test_text_output_points_a_caret_at_the_column(tmp_path: Path) -> None:
    path = tmp_path / "20240105_broken.sql"
    path.write_text("-- migrate:up\n  ALTER TABLE t ADD COLUMN;\n-- migrate:down\n")
    found = lint_text(path.read_text(), path=path, rules=selected_rules(["syntax-error"]))
    text = render_text(found)
    assert text.splitlines()[:4] == [
        f"{path}:2:26: error [syntax-error]",
        "    ALTER TABLE t ADD COLUMN;",
        "                           ^",
        "  PostgreSQL cannot parse this: syntax error at end of input",
    ]
    assert "  fix: correct the SQL at this position" in text


def test_github_annotations_escape_the_message() -> None:
    found = lint_text("BEGIN;\nBEGIN;\nCOMMIT;\n", path=Path("a,b:c.sql"),
                      rules=selected_rules(["transaction-nesting"]))
    line = render_github(found)
    assert line.startswith("::error file=a%2Cb%3Ac.sql,line=2,col=1,"
                           "title=transaction-nesting::BEGIN inside")
    assert "%0Afix: " in line and line.count("\n") == 1


def test_suppression_after_non_ascii_text_lands_on_its_line() -> None:
    text = MIGRATION.format(up=(
        "COMMENT ON TABLE t IS 'Bestellungen für Kunden äöü';\n"
        "-- pgkeel:disable require-concurrent-index -- leere Tabelle\n"
        "CREATE INDEX t_b_idx ON t (b);"), down="")
    assert rules_of(text, rules=["require-concurrent-index", "bad-suppression"]) == []
