"""Section A rules beyond their docstring examples: what the live catalog turns from
"may" into "will" or "won't", version gates, severity scaled by the table's size, and
the squawk false positives the catalogue lists.

The database is the examples' schema (``conftest.FIXTURE_SQL``) plus, in a copy, the
objects these cases need (user functions of known volatility, a validated and a NOT
VALID ``IS NOT NULL`` check, an unpopulated materialized view, an invalid index, a
partitioned table with a nullable key, one with a default partition).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint.migration.context import CatalogFacts, LintSettings
from pgkeel.lint.migration.engine import lint_text, selected_rules
from pgkeel.report.findings import Finding, Severity
from pgkeel.testing import TestCluster

EXTRA_SQL = """
CREATE FUNCTION app.next_code() RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;
CREATE FUNCTION app.noisy() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 1 $$;
ALTER TABLE t ADD CONSTRAINT t_b_nn CHECK (b IS NOT NULL);
ALTER TABLE t ADD CONSTRAINT t_u_nn CHECK (u_id IS NOT NULL) NOT VALID;
CREATE TABLE money (amount numeric(10,2), note varchar(10), tz timestamptz);
INSERT INTO money SELECT g, 'n', now() FROM generate_series(1, 50) g;
INSERT INTO ev SELECT DATE '2019-01-01' + g % 365 FROM generate_series(1, 2000) g;
CREATE TABLE evn (d date) PARTITION BY RANGE (d);
CREATE TABLE evn_2024 (d date);
ALTER TABLE evn_2024 ADD CONSTRAINT evn_2024_bound CHECK (d >= '2024-01-01' AND d < '2025-01-01');
CREATE TABLE evd (d date NOT NULL) PARTITION BY RANGE (d);
CREATE TABLE evd_default PARTITION OF evd DEFAULT;
CREATE TABLE evd_2024 (d date NOT NULL,
                       CONSTRAINT evd_2024_bound CHECK (d >= '2024-01-01' AND d < '2025-01-01'));
CREATE MATERIALIZED VIEW mv_empty AS SELECT id FROM t WITH NO DATA;
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TABLE dup (x int);
INSERT INTO dup VALUES (1), (1);
ANALYZE;
"""


@pytest.fixture(scope="module")
def catalog(pg_cluster: TestCluster,
            lint_fixture: tuple[str, CatalogFacts]) -> Iterator[CatalogFacts]:
    """CatalogFacts of a copy of the examples' database with ``EXTRA_SQL`` applied and
    an INVALID index ``dup_x_uidx`` left by a failed concurrent unique build."""
    name = pg_cluster.create_database(template="lint_fixture")
    try:
        with psycopg.connect(pg_cluster.url(name), autocommit=True) as conn:
            conn.execute(EXTRA_SQL)
            with pytest.raises(psycopg.errors.UniqueViolation):
                conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dup_x_uidx ON dup (x)")
            yield CatalogFacts(snapshot(conn))
    finally:
        pg_cluster.drop_database(name)


def lint(sql: str, rule: str, *, catalog: CatalogFacts | None = None,
         marker: str = "-- migrate:up", **settings: object) -> list[Finding]:
    """Findings of ``rule`` for ``sql`` as the up section under ``marker``."""
    text = f"{marker}\n{sql}\n-- migrate:down\n"
    found = lint_text(text, rules=selected_rules([rule]), catalog=catalog,
                      settings=LintSettings(**settings))  # type: ignore[arg-type]
    return [f for f in found if f.rule == rule]


NO_TX = "-- migrate:up transaction:false"


# -- the catalog turns "may" into "will" or "won't" ----------------------------------

def test_set_not_null_on_a_column_already_not_null_is_not_reported(
        catalog: CatalogFacts) -> None:
    sql = "ALTER TABLE t ALTER COLUMN id SET NOT NULL;"
    assert lint(sql, "set-not-null-scan")  # offline nobody knows
    assert not lint(sql, "set-not-null-scan", catalog=catalog)


def test_set_not_null_trusts_a_validated_check_in_the_catalog(catalog: CatalogFacts) -> None:
    sql = "ALTER TABLE t ALTER COLUMN b SET NOT NULL;"
    assert lint(sql, "set-not-null-scan")
    assert not lint(sql, "set-not-null-scan", catalog=catalog)


def test_set_not_null_after_validating_an_earlier_migrations_not_valid_check(
        catalog: CatalogFacts) -> None:
    """The "next migration" half of the recipe: the CHECK was added NOT VALID before,
    this file validates it and sets NOT NULL (squawk reports it regardless)."""
    sql = ("ALTER TABLE t VALIDATE CONSTRAINT t_u_nn;\n"
           "ALTER TABLE t ALTER COLUMN u_id SET NOT NULL;")
    assert not lint(sql, "set-not-null-scan", catalog=catalog, marker=NO_TX)
    unvalidated = "ALTER TABLE t ALTER COLUMN u_id SET NOT NULL;"
    assert lint(unvalidated, "set-not-null-scan", catalog=catalog)


def test_set_not_null_with_a_check_not_yet_validated_is_reported() -> None:
    sql = ("ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID;\n"
           "ALTER TABLE t ALTER COLUMN a SET NOT NULL;")
    assert lint(sql, "set-not-null-scan", marker=NO_TX)


def test_primary_key_nullability_from_the_catalog(catalog: CatalogFacts) -> None:
    nullable = "ALTER TABLE t ADD PRIMARY KEY (a);"
    [offline] = lint(nullable, "primary-key-on-nullable-columns")
    assert "not known to be NOT NULL" in offline.message
    [live] = lint(nullable, "primary-key-on-nullable-columns", catalog=catalog)
    assert "(nullable)" in live.message
    assert not lint("ALTER TABLE t ADD PRIMARY KEY (id);", "primary-key-on-nullable-columns",
                    catalog=catalog)
    # t.b is nullable but a validated CHECK (b IS NOT NULL) proves it: no scan.
    assert not lint("ALTER TABLE t ADD PRIMARY KEY (b);", "primary-key-on-nullable-columns",
                    catalog=catalog)


def test_default_volatility_comes_from_pg_proc(catalog: CatalogFacts) -> None:
    immutable = "ALTER TABLE t ADD COLUMN code int DEFAULT app.next_code();"
    [offline] = lint(immutable, "add-column-volatile-default")
    assert "would rewrite" in offline.message  # unknown offline: "may"
    assert not lint(immutable, "add-column-volatile-default", catalog=catalog)
    volatile = "ALTER TABLE t ADD COLUMN code int DEFAULT app.noisy();"
    [live] = lint(volatile, "add-column-volatile-default", catalog=catalog)
    assert "app.noisy() is volatile" in live.message


def test_default_volatility_of_a_function_created_in_the_file() -> None:
    declared = ("CREATE FUNCTION app.f() RETURNS int LANGUAGE sql {} AS $$ SELECT 1 $$;\n"
                "ALTER TABLE t ADD COLUMN c int DEFAULT app.f();")
    assert not lint(declared.format("STABLE"), "add-column-volatile-default")
    assert lint(declared.format(""), "add-column-volatile-default")  # VOLATILE by default


def test_partitioned_parent_known_from_the_catalog(catalog: CatalogFacts) -> None:
    sql = "CREATE INDEX ev_d_idx ON ev (d);"
    assert not lint(sql, "partitioned-index-without-only")
    assert lint(sql, "partitioned-index-without-only", catalog=catalog)
    assert not lint("CREATE INDEX t_b_idx ON t (b);", "partitioned-index-without-only",
                    catalog=catalog)
    # require-concurrent-index would advise CONCURRENTLY, which PostgreSQL refuses here.
    assert lint(sql, "require-concurrent-index")
    assert not lint(sql, "require-concurrent-index", catalog=catalog)


def test_partitioned_parent_created_in_the_file_is_empty() -> None:
    sql = ("CREATE TABLE p (d date) PARTITION BY RANGE (d);\n"
           "CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');\n"
           "CREATE INDEX p_d_idx ON p (d);")
    assert not lint(sql, "partitioned-index-without-only")
    attached = ("CREATE TABLE p (d date) PARTITION BY RANGE (d);\n"
                "ALTER TABLE p ATTACH PARTITION ev_2024 FOR VALUES FROM ('2024-01-01') "
                "TO ('2025-01-01');\nCREATE INDEX p_d_idx ON p (d);")
    assert lint(attached, "partitioned-index-without-only")


def test_invalid_index_of_that_name_makes_if_not_exists_an_error(
        catalog: CatalogFacts) -> None:
    sql = "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dup_x_uidx ON dup (x);"
    [offline] = lint(sql, "concurrent-index-if-not-exists", marker=NO_TX)
    assert offline.severity == Severity.WARNING
    [live] = lint(sql, "concurrent-index-if-not-exists", catalog=catalog, marker=NO_TX)
    assert live.severity == Severity.ERROR
    assert "INVALID" in live.message


def test_type_change_judged_from_the_catalogs_old_type(catalog: CatalogFacts) -> None:
    rule = "change-column-type-rewrite"
    cases = {
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(100);": False,
        "ALTER TABLE t ALTER COLUMN v TYPE varchar;": False,
        "ALTER TABLE t ALTER COLUMN v TYPE varchar(10);": True,
        "ALTER TABLE t ALTER COLUMN b TYPE varchar(50);": True,
        "ALTER TABLE t ALTER COLUMN b TYPE varchar;": False,
        "ALTER TABLE money ALTER COLUMN amount TYPE numeric(12,2);": False,
        "ALTER TABLE money ALTER COLUMN amount TYPE numeric;": False,
        "ALTER TABLE money ALTER COLUMN amount TYPE numeric(10,3);": True,
        "ALTER TABLE money ALTER COLUMN amount TYPE numeric(8,2);": True,
        "ALTER TABLE t ALTER COLUMN a TYPE bigint;": True,
        "ALTER TABLE t ALTER COLUMN v TYPE text USING v::text;": False,
        "ALTER TABLE t ALTER COLUMN v TYPE text USING lower(v);": True,
        "ALTER TABLE t ALTER COLUMN a TYPE positive;": True,
    }
    for sql, rewrites in cases.items():
        assert bool(lint(sql, rule, catalog=catalog)) is rewrites, sql


def test_text_targets_are_not_judged_offline_without_the_old_type() -> None:
    assert not lint("ALTER TABLE t ALTER COLUMN v TYPE varchar(100);",
                    "change-column-type-rewrite")
    assert lint("ALTER TABLE t ALTER COLUMN a TYPE int8;", "change-column-type-rewrite")


def test_timestamp_to_timestamptz_only_without_rewrite_under_utc(
        catalog: CatalogFacts) -> None:
    rule = "change-column-type-rewrite"
    sql = "ALTER TABLE t ALTER COLUMN ts TYPE timestamptz;"
    [unknown] = lint(sql, rule, catalog=catalog)
    assert "unless the session TimeZone is UTC" in unknown.message
    assert not lint(f"SET TIME ZONE 'UTC';\n{sql}", rule, catalog=catalog)
    assert not lint(sql, rule, catalog=catalog, options={rule: {"timezone": "Etc/UTC"}})
    [berlin] = lint(f"SET timezone = 'Europe/Berlin';\n{sql}", rule, catalog=catalog)
    assert "Europe/Berlin" in berlin.message
    back = "ALTER TABLE money ALTER COLUMN tz TYPE timestamp;"
    assert not lint(f"SET timezone = 'UTC';\n{back}", rule, catalog=catalog)


def test_attach_partition_needs_not_null_for_the_check_to_prove_the_bound(
        catalog: CatalogFacts) -> None:
    """evn_2024.d is nullable: its CHECK (d >= ... AND d < ...) lets NULL through, so
    PostgreSQL still scans (the partition constraint includes d IS NOT NULL)."""
    rule = "attach-partition-scan"
    attach = ("ALTER TABLE evn ATTACH PARTITION evn_2024 FOR VALUES FROM ('2024-01-01') "
              "TO ('2025-01-01');")
    [live] = lint(attach, rule, catalog=catalog)
    assert "scans public.evn_2024" in live.message
    proven = ("ALTER TABLE evn_2024 ADD CONSTRAINT evn_2024_nn CHECK (d IS NOT NULL AND "
              "d >= '2024-01-01' AND d < '2025-01-01') NOT VALID;\n"
              "ALTER TABLE evn_2024 VALIDATE CONSTRAINT evn_2024_nn;\n" + attach)
    assert not lint(proven, rule, catalog=catalog, marker=NO_TX)
    # Offline the same CHECK without IS NOT NULL is taken as proof (nullability unknown).
    offline = proven.replace("d IS NOT NULL AND ", "")
    assert not lint(offline, rule, marker=NO_TX)
    assert lint(offline, rule, catalog=catalog, marker=NO_TX)


def test_attach_partition_scans_the_default_partition(catalog: CatalogFacts) -> None:
    attach = ("ALTER TABLE evd ATTACH PARTITION evd_2024 FOR VALUES FROM ('2024-01-01') "
              "TO ('2025-01-01');")
    [live] = lint(attach, "attach-partition-scan", catalog=catalog)
    assert "default partition public.evd_default" in live.message
    assert "scans public.evd_2024" not in live.message  # its CHECK proves the bound


def test_refresh_of_an_unpopulated_view_blocks_nobody(catalog: CatalogFacts) -> None:
    assert lint("REFRESH MATERIALIZED VIEW mv_empty;", "refresh-matview-blocking")
    assert not lint("REFRESH MATERIALIZED VIEW mv_empty;", "refresh-matview-blocking",
                    catalog=catalog)


def test_drop_index_backing_a_constraint_says_drop_the_constraint(
        catalog: CatalogFacts) -> None:
    [found] = lint("DROP INDEX u_pkey;", "require-concurrent-index-drop", catalog=catalog)
    assert "DROP CONSTRAINT u_pkey" in (found.fix or "")
    assert "on public.u" in found.message


def test_required_field_says_how_many_rows_break_it(catalog: CatalogFacts) -> None:
    [found] = lint("ALTER TABLE t ADD COLUMN c int NOT NULL;", "adding-required-field",
                   catalog=catalog)
    assert "about 100 rows" in found.message


def test_constrained_domain_column_rewrites(catalog: CatalogFacts) -> None:
    sql = "ALTER TABLE t ADD COLUMN p positive;"
    assert not lint(sql, "add-column-rewrite")  # offline the domain is unknown
    assert lint(sql, "add-column-rewrite", catalog=catalog)
    here = "CREATE DOMAIN pos2 AS int NOT NULL DEFAULT 1;\nALTER TABLE t ADD COLUMN p pos2;"
    assert lint(here, "add-column-rewrite")


# -- version gates (catalogue §2.3) --------------------------------------------------

def test_any_default_rewrites_before_11() -> None:
    sql = "ALTER TABLE t ADD COLUMN c boolean DEFAULT false;"
    assert not lint(sql, "add-column-volatile-default", target_version=110000)
    [old] = lint(sql, "add-column-volatile-default", target_version=100023)
    assert "before PostgreSQL 11 (target 100023)" in old.message


def test_not_null_check_helps_only_from_12() -> None:
    sql = ("ALTER TABLE t ADD CONSTRAINT t_a_nn CHECK (a IS NOT NULL) NOT VALID;\n"
           "ALTER TABLE t VALIDATE CONSTRAINT t_a_nn;\n"
           "ALTER TABLE t ALTER COLUMN a SET NOT NULL;")
    assert not lint(sql, "set-not-null-scan", marker=NO_TX, target_version=120000)
    [old] = lint(sql, "set-not-null-scan", marker=NO_TX, target_version=110020)
    assert "before 12" in old.message


def test_enum_add_value_in_a_transaction_is_refused_before_12() -> None:
    sql = "ALTER TYPE status ADD VALUE 'archived';"
    rule = "non-transactional-statement-in-transaction"
    assert not lint(sql, rule, target_version=120000)
    assert lint(sql, rule, target_version=110020)


def test_reindex_concurrently_exists_from_12() -> None:
    [new] = lint("REINDEX INDEX t_a_idx;", "require-concurrent-reindex", target_version=150000)
    assert "REINDEX ... CONCURRENTLY" in (new.fix or "")
    [old] = lint("REINDEX INDEX t_a_idx;", "require-concurrent-reindex", target_version=110000)
    assert "before 12 has no REINDEX CONCURRENTLY" in (old.fix or "")


def test_detach_concurrently_exists_from_14(catalog: CatalogFacts) -> None:
    sql = "ALTER TABLE ev DETACH PARTITION ev_2019;"
    rule = "require-concurrent-partition-detach"
    [old] = lint(sql, rule, target_version=130010)
    assert old.severity == Severity.INFO and "needs PostgreSQL 14" in (old.fix or "")
    [new] = lint(sql, rule, target_version=140000)
    assert new.severity == Severity.WARNING and "CONCURRENTLY" in (new.fix or "")
    [default] = lint("ALTER TABLE evd DETACH PARTITION evd_default;", rule, catalog=catalog)
    assert "default partition" in (default.fix or "")


def test_timestamptz_always_rewrites_before_12() -> None:
    sql = "SET timezone = 'UTC';\nALTER TABLE t ALTER COLUMN ts TYPE timestamptz;"
    here = "ALTER TABLE t ADD COLUMN ts2 timestamp;\n" + sql.replace("ts TYPE", "ts2 TYPE")
    assert not lint(here, "change-column-type-rewrite", target_version=120000)
    assert lint(here, "change-column-type-rewrite", target_version=110000)


def test_affected_minor_versions_are_14_0_to_14_3() -> None:
    sql = "REINDEX INDEX CONCURRENTLY t_a_idx;"
    rule = "concurrent-index-on-affected-minor"
    assert [lint(sql, rule, marker=NO_TX, target_version=v) != []
            for v in (130012, 140000, 140003, 140004, 150000)] == [False, True, True, False,
                                                                    False]


# -- severity scaled by the table's size ---------------------------------------------

def test_severity_follows_the_tables_size(catalog: CatalogFacts) -> None:
    sql = "ALTER TABLE t ALTER COLUMN a TYPE bigint;"
    rule = "change-column-type-rewrite"
    [offline] = lint(sql, rule)
    assert offline.severity == Severity.WARNING
    [small] = lint(sql, rule, catalog=catalog)  # 100 rows <= small_table_rows (1,000)
    assert small.severity == Severity.INFO
    assert "about 100 rows" in small.message
    [medium] = lint(sql, rule, catalog=catalog, small_table_rows=10)
    assert medium.severity == Severity.WARNING
    [large] = lint(sql, rule, catalog=catalog, small_table_rows=10, large_table_bytes=1)
    assert large.severity == Severity.ERROR


def test_partitioned_parent_is_sized_by_its_partitions(catalog: CatalogFacts) -> None:
    sql = "CREATE INDEX ev_d_idx ON ev (d);"
    [found] = lint(sql, "partitioned-index-without-only", catalog=catalog)
    assert found.severity == Severity.WARNING  # ev itself is 0 bytes; ev_2019 has rows
    assert "public.ev_2019 holds about 2,000 rows" in found.message
    [large] = lint(sql, "partitioned-index-without-only", catalog=catalog,
                   large_table_bytes=1)
    assert large.severity == Severity.ERROR


# -- context: squawk's false positives (catalogue §3) --------------------------------

@pytest.mark.parametrize("rule, sql", [
    ("constraint-missing-not-valid",
     "CREATE TABLE n (x int);\nALTER TABLE n ADD CONSTRAINT n_x CHECK (x > 0);"),
    ("foreign-key-missing-not-valid",
     "CREATE TABLE n (x bigint);\nALTER TABLE n ADD FOREIGN KEY (x) REFERENCES u (id);"),
    ("set-not-null-scan", "CREATE TABLE n (x int);\nALTER TABLE n ALTER COLUMN x SET NOT NULL;"),
    ("adding-required-field", "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int NOT NULL;"),
    ("change-column-type-rewrite",
     "CREATE TABLE n (x int);\nALTER TABLE n ALTER COLUMN x TYPE bigint;"),
    ("add-column-volatile-default",
     "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y uuid DEFAULT gen_random_uuid();"),
    ("unique-constraint-builds-index", "CREATE TABLE n (x int);\nALTER TABLE n ADD UNIQUE (x);"),
    ("require-concurrent-index-drop",
     "CREATE INDEX CONCURRENTLY n_idx ON t (a);\nDROP INDEX n_idx;"),
    ("statements-after-access-exclusive",
     "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int;\nUPDATE n SET y = x;"),
    ("multiple-alter-same-table",
     "CREATE TABLE n (x int);\nALTER TABLE n ADD COLUMN y int;\nALTER TABLE n ADD COLUMN z int;"),
])
def test_a_table_created_earlier_in_the_file_is_exempt(rule: str, sql: str) -> None:
    assert not lint(sql, rule)


def test_not_valid_and_validate_in_separate_transactions_of_one_file() -> None:
    """transaction:false runs each statement alone: the ADD's lock is gone before the
    VALIDATE (squawk#250 asks for this distinction)."""
    sql = ("ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;\n"
           "ALTER TABLE t VALIDATE CONSTRAINT t_a_pos;")
    assert not lint(sql, "validate-in-same-transaction", marker=NO_TX)
    assert lint(sql, "validate-in-same-transaction")  # the runner wraps both


def test_nullable_references_column_without_default_is_not_scanned() -> None:
    rule = "foreign-key-missing-not-valid"
    assert not lint("ALTER TABLE t ADD COLUMN u2 bigint REFERENCES u (id);", rule)
    assert lint("ALTER TABLE t ADD COLUMN u2 bigint DEFAULT 1 REFERENCES u (id);", rule)


def test_statements_after_access_exclusive_is_reported_once_per_transaction() -> None:
    sql = ("ALTER TABLE t ADD COLUMN c int;\nUPDATE t SET c = a;\n"
           "CREATE INDEX CONCURRENTLY t_c_idx ON t (c);")
    assert len(lint(sql, "statements-after-access-exclusive")) == 1
    assert not lint(sql, "statements-after-access-exclusive", marker=NO_TX)
    # A weaker lock (SHARE UPDATE EXCLUSIVE for VALIDATE) is not reported.
    assert not lint("ALTER TABLE t VALIDATE CONSTRAINT c;\nUPDATE t SET a = a;",
                    "statements-after-access-exclusive")


def test_trigger_lock_under_lock_timeout_is_fine() -> None:
    sql = "CREATE TRIGGER t_touch BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION touch();"
    assert lint(sql, "create-trigger-lock")
    assert not lint(sql, "create-trigger-lock", runner_lock_timeout_ms=2000)
    assert lint("ALTER TABLE t DISABLE TRIGGER ALL;", "create-trigger-lock")


def test_multiple_alter_leaves_partition_and_validate_alone() -> None:
    rule = "multiple-alter-same-table"
    assert not lint("ALTER TABLE t ADD COLUMN x int;\nALTER TABLE t VALIDATE CONSTRAINT c;", rule)
    assert not lint("ALTER TABLE t ADD COLUMN x int;\nALTER TABLE u ADD COLUMN y int;", rule)
    assert not lint("ALTER TABLE t ADD COLUMN x int;", rule, marker=NO_TX)


def test_non_transactional_statements_in_a_wrapped_migration() -> None:
    rule = "non-transactional-statement-in-transaction"
    for sql in ("VACUUM t;", "CREATE DATABASE x;", "ALTER SYSTEM SET work_mem = '8MB';",
                "REINDEX TABLE CONCURRENTLY t;",
                "ALTER TABLE ev DETACH PARTITION ev_2019 CONCURRENTLY;"):
        assert lint(sql, rule), sql
        assert not lint(sql, rule, marker=NO_TX), sql
    assert not lint("ANALYZE t;", rule)


def test_using_that_ignores_the_column() -> None:
    rule = "type-change-using-other-column"
    [found] = lint("ALTER TABLE t ALTER COLUMN a TYPE int USING 0;", rule)
    assert "reads no column" in found.message
    assert not lint("ALTER TABLE t ALTER COLUMN a TYPE bigint USING coalesce(a, 0);", rule)


def test_statements_after_drop_index_name_its_table(catalog: CatalogFacts) -> None:
    rule = "statements-after-access-exclusive"
    sql = "DROP INDEX t_a_idx;\nUPDATE t SET a = a;"
    [offline] = lint(sql, rule)
    assert "the table of index public.t_a_idx" in offline.message
    [live] = lint(sql, rule, catalog=catalog)
    assert "ACCESS EXCLUSIVE on public.t:" in live.message
    assert not lint("DROP TABLE u;\nUPDATE t SET a = a;", rule)


@pytest.mark.parametrize("default, rewrites", [
    ("true", False), ("ARRAY[]::text[]", False), ("CURRENT_TIMESTAMP", False),
    ("'{}'::jsonb", False), ("now() + interval '1 day'", False), ("lower('X')", False),
    ("NULL", False), ("random() * 10", True), ("nextval('s')", True),
    ("(clock_timestamp())::date", True), ("coalesce(NULL, gen_random_uuid())", True),
])
def test_default_expressions_fold_like_postgresql(default: str, rewrites: bool) -> None:
    """Constants, casts, arrays and stable functions are evaluated once (no rewrite);
    any volatile call anywhere in the expression rewrites (squawk#277, #645)."""
    sql = f"ALTER TABLE t ADD COLUMN c text DEFAULT {default};"
    assert bool(lint(sql, "add-column-volatile-default")) is rewrites


def test_postgresql_18_not_null_constraints() -> None:
    """On 18 a NOT NULL constraint can be added NOT VALID and validated; SET NOT NULL
    while it is still NOT VALID validates it with a scan (measured on 18)."""
    rule = "set-not-null-scan"
    add = "ALTER TABLE t ADD CONSTRAINT t_a_nn NOT NULL a NOT VALID;\n"
    validate = "ALTER TABLE t VALIDATE CONSTRAINT t_a_nn;\n"
    set_not_null = "ALTER TABLE t ALTER COLUMN a SET NOT NULL;"
    assert lint(add + set_not_null, rule, marker=NO_TX, target_version=180000)
    assert not lint(add + validate + set_not_null, rule, marker=NO_TX, target_version=180000)
    [new] = lint(set_not_null, rule, target_version=180001)
    assert "ADD CONSTRAINT t_a_not_null NOT NULL a NOT VALID" in (new.fix or "")
    [old] = lint(set_not_null, rule, target_version=170005)
    assert "CHECK (a IS NOT NULL) NOT VALID" in (old.fix or "")
