"""Section D rules: catalog-sharpened findings and the limits of the key-only rules."""

from __future__ import annotations

from pgkeel.lint.migration.context import CatalogFacts
from tests.lint.migration.helpers import lint_one


def test_fk_type_mismatch_reads_the_referenced_type_from_the_catalog(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    sql = "CREATE TABLE n (u_id int REFERENCES u (id));"
    assert lint_one("fk-type-mismatch", sql) == []  # offline u.id's type is unknown
    [finding] = lint_one("fk-type-mismatch", sql, catalog=catalog)
    assert "public.u.id (int8)" in finding.message
    # no column list: the referenced key is u's primary key, read from the catalog
    assert len(lint_one("fk-type-mismatch", "CREATE TABLE n (u_id int REFERENCES u);",
                        catalog=catalog)) == 1
    assert lint_one("fk-type-mismatch", "ALTER TABLE b ADD COLUMN a2 int REFERENCES a;",
                    catalog=catalog) == []


def test_btree_on_array_reads_the_column_type_from_the_catalog(
        lint_fixture: tuple[str, CatalogFacts]) -> None:
    _, catalog = lint_fixture
    sql = "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY t_tags_idx ON t (tags);\n"
    assert lint_one("btree-on-array-or-jsonb", sql) == []
    [finding] = lint_one("btree-on-array-or-jsonb", sql, catalog=catalog)
    assert "text[]" in finding.message


def test_prefer_bigint_judges_key_columns_only() -> None:
    assert lint_one("prefer-bigint-over-int", "CREATE TABLE n (qty int);") == []
    assert len(lint_one("prefer-bigint-over-int",
                        "CREATE TABLE n (id bigint PRIMARY KEY, a_id int REFERENCES a);")) == 1
    assert len(lint_one("prefer-bigint-over-int",
                        "CREATE TABLE n (x int, y int, PRIMARY KEY (x, y));")) == 2
    assert len(lint_one("prefer-bigint-over-int", "ALTER TABLE t ADD COLUMN n serial;")) == 1


def test_type_rules_see_alter_column_type() -> None:
    [finding] = lint_one("prefer-timestamptz", "ALTER TABLE t ALTER COLUMN b TYPE timestamp "
                         "USING b::timestamp;")
    assert finding.object == "public.t.b"


def test_require_primary_key_exempts_partitions_and_temporary_tables() -> None:
    assert lint_one("require-primary-key", "CREATE TABLE ev_2025 PARTITION OF ev FOR VALUES "
                    "FROM ('2025-01-01') TO ('2026-01-01');") == []
    assert lint_one("require-primary-key", "CREATE TEMP TABLE scratch (x int);") == []


def test_column_padding_stops_at_the_first_variable_length_column() -> None:
    assert lint_one("column-alignment-padding",
                    "CREATE TABLE n (id bigint, name text, ok boolean, at timestamptz);") == []
