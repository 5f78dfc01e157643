"""Section B rules: what their docstring examples cannot show (catalog facts,
transactions, version gates)."""

from __future__ import annotations

import psycopg

from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from tests.lint.migration.helpers import lint_one


def test_truncate_cascade_lists_the_tables_it_empties(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    url, catalog = lint_fixture
    [finding] = lint_one("ban-truncate-cascade", "TRUNCATE a CASCADE;", catalog=catalog)
    assert "it also empties public.b" in finding.message
    assert finding.fix == "name every table to empty explicitly: TRUNCATE public.a, public.b"
    with psycopg.connect(url) as conn:  # the fix runs (without CASCADE), then rolls back
        conn.execute(finding.fix.split(": ", 1)[1])
        assert conn.execute("SELECT count(*) FROM b").fetchone() == (0,)
        conn.rollback()
    [offline] = lint_one("ban-truncate-cascade", "TRUNCATE a CASCADE;")
    assert "with a database pgkeel lists them" in offline.message


def test_drop_cascade_lists_dependants_from_the_catalog(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    [table] = lint_one("drop-cascade", "DROP TABLE t CASCADE;", catalog=catalog)
    assert "view public.mv" in table.message
    [parent] = lint_one("drop-cascade", "DROP TABLE a CASCADE;", catalog=catalog)
    assert "foreign key b_a_id_fkey on public.b" in parent.message
    assert lint_one("drop-cascade", "CREATE TABLE n (x int); DROP TABLE n CASCADE;") == []


def test_drop_table_says_how_many_rows_it_deletes(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    [finding] = lint_one("ban-drop-table", "DROP TABLE t;", catalog=catalog)
    assert "about 100 rows" in finding.message


def test_enum_label_usable_after_commit_in_a_non_transactional_file() -> None:
    sql = ("-- migrate:up transaction:false\nBEGIN;\nALTER TYPE status ADD VALUE 'archived';\n"
           "COMMIT;\nUPDATE t SET s = 'archived' WHERE id = 1;\n-- migrate:down\n")
    assert lint_one("enum-value-used-in-same-transaction", sql) == []
    inside = sql.replace("COMMIT;\nUPDATE t SET s = 'archived' WHERE id = 1;",
                         "UPDATE t SET s = 'archived' WHERE id = 1;\nCOMMIT;")
    [finding] = lint_one("enum-value-used-in-same-transaction", inside)
    assert "'archived'" in finding.message


def test_enum_add_value_before_12_only_refused_inside_a_transaction() -> None:
    old = LintSettings(target_version=110000)
    plain = "-- migrate:up transaction:false\nALTER TYPE status ADD VALUE 'x';\n-- migrate:down\n"
    assert lint_one("enum-value-used-in-same-transaction", plain, settings=old) == []
    [finding] = lint_one("enum-value-used-in-same-transaction",
                         "ALTER TYPE status ADD VALUE 'x';", settings=old)
    assert "110000" in finding.message


def test_drop_constraint_helper_must_be_the_set_not_null_check(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    other = ("ALTER TABLE b ALTER COLUMN a_id SET NOT NULL;\n"
             "ALTER TABLE b DROP CONSTRAINT b_a_id_fkey;")
    assert len(lint_one("drop-constraint", other, catalog=catalog)) == 1
    assert len(lint_one("drop-constraint", other)) == 1
    same_file = ("ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID;\n"
                 "ALTER TABLE t VALIDATE CONSTRAINT t_a_nn;\n"
                 "ALTER TABLE t ALTER COLUMN a SET NOT NULL;\n"
                 "ALTER TABLE t DROP CONSTRAINT t_a_nn;")
    assert lint_one("drop-constraint", same_file, catalog=catalog) == []


def test_unique_index_on_an_empty_table_cannot_fail(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    sql = "CREATE UNIQUE INDEX ev_2024_d_uidx ON ev_2024 (d);"
    assert lint_one("unique-index-data-dependent", sql) != []
    assert lint_one("unique-index-data-dependent", sql, catalog=catalog) == []
    [finding] = lint_one("unique-index-data-dependent",
                         "ALTER TABLE t ADD CONSTRAINT t_v_key UNIQUE (v);", catalog=catalog)
    assert finding.fix == ("check first: SELECT v, count(*) FROM public.t GROUP BY v "
                           "HAVING count(*) > 1")
    with psycopg.connect(lint_fixture[0]) as conn:  # the check finds t's 100 equal v values
        rows = conn.execute(finding.fix.removeprefix("check first: ")).fetchall()
    assert rows == [("v", 100)]


def test_renaming_a_table_created_in_the_same_file_is_harmless() -> None:
    assert lint_one("renaming-table", "CREATE TABLE n (x int); ALTER TABLE n RENAME TO m;") == []


def test_drop_type_names_the_columns_of_that_type(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    [finding] = lint_one("ban-drop-type", "DROP TYPE status;", catalog=catalog)
    assert "columns of this type: public.t.s" in finding.message
    assert lint_one("ban-drop-function", "CREATE FUNCTION tmp() RETURNS int LANGUAGE sql "
                    "AS $$ SELECT 1 $$; DROP FUNCTION tmp();") == []


def test_down_section_undoing_its_up_section_is_exempt() -> None:
    def file(up: str, down: str) -> str:
        return f"-- migrate:up\n{up}\n-- migrate:down\n{down}\n"

    assert lint_one("ban-drop-table", file("CREATE TABLE n (x int);", "DROP TABLE n;")) == []
    assert lint_one("ban-drop-column", file("ALTER TABLE t ADD COLUMN c int;",
                                            "ALTER TABLE t DROP COLUMN c;")) == []
    assert lint_one("drop-constraint", file(
        "ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;",
        "ALTER TABLE t DROP CONSTRAINT t_a_pos;")) == []
    # the up rename breaks clients; the down rename restores the name they use
    [rename] = lint_one("renaming-column", file("ALTER TABLE t RENAME COLUMN b TO label;",
                                                "ALTER TABLE t RENAME COLUMN label TO b;"))
    assert rename.line == 2
    # a down section dropping what its up section did not create is still data loss
    [finding] = lint_one("ban-drop-table", file("CREATE TABLE n (x int);", "DROP TABLE u;"))
    assert finding.line == 4
