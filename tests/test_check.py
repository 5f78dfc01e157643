"""check() on real input: Pagila and the skill's own e-commerce example.

The Pagila expectations are computed here, independently, with plain SQL over
pg_catalog (not through pgkeel's snapshot), and the issue's literal expectations are
asserted as well.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import psycopg
from typer.testing import CliRunner

from pgkeel.check import CHECKLIST, check
from pgkeel.cli import app
from pgkeel.examples import example_sql
from pgkeel.lint import registry
from pgkeel.report import Finding, Severity, render_text
from pgkeel.report.render_text import fixes_script
from pgkeel.testing import TestDatabase

# User tables (ordinary and partitioned) outside the system schemas and extensions.
_SCOPE = """
    c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
"""
_FROM = "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
# Object names as findings write them: each part as quote_ident() would.
_NAME = "format('%I.%I', n.nspname, c.relname)"
_COLUMN = "format('%I.%I.%I', n.nspname, c.relname, a.attname)"
# NOT ENFORCED keys (pg_constraint.conenforced, PostgreSQL 18+) need no index.
_ENFORCED = "@enforced@"
_HAS = """EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                  AND a.attname = '{}' AND a.attnum > 0 AND NOT a.attisdropped)"""
# A BEFORE ... FOR EACH ROW trigger on UPDATE (pg_trigger.tgtype bits: ROW 1,
# BEFORE 2, UPDATE 16, INSTEAD 64), enabled, not internal.
_KEEPS = """EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = {} AND NOT t.tgisinternal
                    AND t.tgenabled <> 'D' AND t.tgtype & 83 = 19)"""

EXPECTED_SQL = {
    # partitions: their parent's key, or the parent's finding
    "missing-primary-key": f"""
        SELECT {_NAME} {_FROM} WHERE {_SCOPE} AND NOT c.relispartition
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k
                          WHERE k.conrelid = c.oid AND k.contype = 'p')""",
    # conparentid = 0: declared on this table, not cloned from a parent table's key
    # (nor onto the partitions of a partitioned referenced table).
    "unindexed-foreign-key": f"""
        SELECT format('%I.%I.%I', n.nspname, c.relname, k.conname)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE k.contype = 'f' AND k.conparentid = 0 AND {_SCOPE} AND {_ENFORCED}
          AND NOT EXISTS (
            SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            JOIN pg_am am ON am.oid = ic.relam
            WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indpred IS NULL
              AND ((am.amname = 'btree' AND i.indnkeyatts >= cardinality(k.conkey)
                    AND (SELECT array_agg(i.indkey[j] ORDER BY i.indkey[j])
                         FROM generate_series(0, cardinality(k.conkey) - 1) j)
                      = (SELECT array_agg(x ORDER BY x) FROM unnest(k.conkey) x))
                OR (am.amname = 'hash' AND cardinality(k.conkey) = 1
                    AND i.indkey[0] = k.conkey[1])))""",
    "missing-timestamps": f"""
        SELECT {_NAME} {_FROM} WHERE {_SCOPE}
          AND NOT c.relispartition
          AND NOT ({_HAS.format('created_at')} AND {_HAS.format('updated_at')})""",
    "updated-at-not-maintained": f"""
        SELECT {_NAME} {_FROM} WHERE {_SCOPE}
          AND NOT c.relispartition AND {_HAS.format('updated_at')}
          AND NOT {_KEEPS.format('c.oid')}
          AND NOT (EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid)
                   AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid
                                   AND NOT {_KEEPS.format('i.inhrelid')}))""",
    "timestamp-without-time-zone": f"""
        SELECT {_COLUMN} {_FROM}
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type ty ON ty.oid = a.atttypid
        WHERE {_SCOPE} AND NOT c.relispartition
          AND COALESCE(NULLIF(ty.typbasetype, 0), ty.oid)
              IN ('timestamp'::regtype, 'timestamp[]'::regtype)""",
    # every float column; the money-name filter is applied in Python below
    "float-for-money": f"""
        SELECT {_COLUMN} || chr(9) || a.attname {_FROM}
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        JOIN pg_type ty ON ty.oid = a.atttypid
        WHERE {_SCOPE} AND NOT c.relispartition
          AND COALESCE(NULLIF(ty.typbasetype, 0), ty.oid)
              IN ('real'::regtype, 'double precision'::regtype)""",
    # off, or no permissive policy (restrictive ones only narrow what those grant);
    # the per-command case is tested in tests/lint
    "rls-disabled-tenant-table": f"""
        SELECT {_NAME} {_FROM} WHERE {_SCOPE}
          AND {_HAS.format('organization_id')}
          AND (NOT c.relrowsecurity
               OR NOT EXISTS (SELECT 1 FROM pg_policy p
                              WHERE p.polrelid = c.oid AND p.polpermissive))""",
}
_MONEY_NAME = re.compile(
    r"(?:^|_|(?<=[a-z])(?=[A-Z]))(amount|balance|budget|cents|charge|cost|fee|income|money|"
    r"payment|payout|price|profit|refund|revenue|salary|subtotal|tax|total|wage)(?:e?s)?"
    r"(?=$|_|[A-Z\d])", re.IGNORECASE)

PAGILA_TABLES = {
    "actor", "address", "category", "city", "country", "customer", "film", "film_actor",
    "film_category", "inventory", "language", "payment", "rental", "staff", "store",
}
PAGILA_UNINDEXED = {
    "film_category(category_id)", "inventory(film_id)", "rental(customer_id)",
    "rental(staff_id)", "staff(store_id)", "staff(address_id)", "store(address_id)",
    *(f"payment_p2022_0{m}(rental_id)" for m in range(1, 7)),
}


# The index, key and column rules of issue #7 on Pagila, each finding read and judged
# true: each partition of payment has two identical indexes on customer_id;
# language.name is character(20); customer.active is an integer holding only 0 and 1
# (beside activebool); film.replacement_cost and payment.amount have no CHECK and no
# negative value. Pagila has identity keys, no varchar, money, nullable boolean or
# invalid index, and its other indexes back constraints or foreign keys.
PAGILA_NEW_RULES: dict[str, set[str]] = {
    "duplicate-index": {f"public.payment_p2022_0{m}.payment_p2022_0{m}_customer_id_idx"
                        for m in range(1, 7)},
    "char-type": {"public.language.name"},
    "integer-boolean": {"public.customer.active"},
    "missing-check-constraint": {"public.film.replacement_cost", "public.payment.amount"},
    **{rule: set() for rule in (
        "redundant-index", "invalid-index", "unused-index", "sequence-near-exhaustion",
        "small-integer-key", "prefer-identity", "nullable-foreign-key", "varchar-limit",
        "money-type", "nullable-boolean", "table-without-comment", "naming-convention")},
}


def _expected(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, set[str]]:
    enforced = "k.conenforced" if conn.info.server_version >= 180000 else "true"
    expected = {rule: {str(r[0]) for r in conn.execute(query.replace(_ENFORCED, enforced))}
                for rule, query in EXPECTED_SQL.items()}
    expected["float-for-money"] = {o.split("\t")[0] for o in expected["float-for-money"]
                                   if _MONEY_NAME.search(o.split("\t", 1)[1])}
    expected.update(PAGILA_NEW_RULES)
    return expected


def _by_rule(findings: tuple[Finding, ...]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for f in findings:
        found[f.rule].add(f.object or "")
    return found


def test_pagila_findings_match_the_catalog(pagila: TestDatabase) -> None:
    with pagila.connect() as conn:
        expected = _expected(conn)
        fk_labels = {str(key): str(label) for key, label in conn.execute("""
            SELECT n.nspname || '.' || c.relname || '.' || k.conname,
                   c.relname || '(' || (SELECT string_agg(a.attname, ', ' ORDER BY x.ord)
                       FROM unnest(k.conkey) WITH ORDINALITY x(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = k.conrelid
                        AND a.attnum = x.attnum) || ')'
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f'""")}
    result = check(pagila.url)
    found = _by_rule(result.findings)
    assert set(expected) == {r.id for r in registry.schema_rules()}
    for rule, objects in expected.items():
        assert found.get(rule, set()) == objects, rule
    # the literal expectations
    assert {fk_labels[o] for o in found["unindexed-foreign-key"]} == PAGILA_UNINDEXED
    assert "rental(inventory_id)" not in {fk_labels[o] for o in found["unindexed-foreign-key"]}
    assert found["missing-timestamps"] == {f"public.{t}" for t in PAGILA_TABLES}
    assert {len(found[r]) for r in ("missing-primary-key", "updated-at-not-maintained",
                                    "timestamp-without-time-zone", "float-for-money",
                                    "rls-disabled-tenant-table")} == {0}
    assert result.database == pagila.name
    statuses = {c.item: c.status for c in result.checklist}
    assert statuses["All foreign keys have indexes"] == "warn"
    assert statuses["Constraints enforce data integrity"] == "warn"
    assert not result.breaches(Severity.ERROR)
    assert result.breaches(Severity.WARNING)
    # the CLI reports the same findings, and Pagila passes the default --fail-on error
    cli = CliRunner().invoke(app, ["check", "-d", pagila.url, "--format", "json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["findings"] == [f.to_dict() for f in result.findings]


def test_skill_example(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(example_sql())
        result = check(conn)  # an open connection works as well as a URL
    found = _by_rule(result.findings)
    assert found["missing-timestamps"] == {"public.categories", "public.order_items"}
    assert found["timestamp-without-time-zone"] == {
        f"public.{t}.{c}" for t in ("users", "products", "orders")
        for c in ("created_at", "updated_at")}
    assert found["updated-at-not-maintained"] == {"public.users", "public.products",
                                                  "public.orders"}
    # serial ids, the order_id index covered by UNIQUE (order_id, product_id), and
    # varchar(n) columns
    assert found["prefer-identity"] == {"public.categories.id", "public.order_items.id",
                                        "public.products.id"}
    assert found["redundant-index"] == {"public.order_items.idx_order_items_order"}
    assert found["varchar-limit"] == {
        "public.categories.name", "public.categories.slug", "public.orders.status",
        "public.products.name", "public.users.email", "public.users.password_hash"}
    assert set(found) == {"missing-timestamps", "timestamp-without-time-zone",
                          "updated-at-not-maintained", "prefer-identity", "redundant-index",
                          "varchar-limit"}
    assert {f.severity for f in result.findings} == {Severity.WARNING, Severity.INFO}
    assert [c.item for c in result.checklist] == [i.item for i in CHECKLIST]
    assert [c.status for c in result.checklist] == [
        "not checked", "pass", "not checked", "warn", "not checked", "not checked",
        "not checked"]
    assert all(c.detail for c in result.checklist)

    # the suggested fixes, run as a script with psql, leave nothing to report
    script = tmp_path / "fixes.sql"
    script.write_text(fixes_script(result.findings) + "\n", encoding="utf-8")
    pg_database.run_sql_file(script)
    after = check(pg_database.url)
    assert after.findings == ()
    assert [c.status for c in after.checklist][:4] == ["not checked", "pass", "not checked",
                                                      "pass"]


def test_errors_fail_their_checklist_item(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE ledger (entry text, amount double precision)")
    result = check(pg_database.url)
    item = next(c for c in result.checklist if c.item == "Constraints enforce data integrity")
    assert item.status == "fail"
    assert "1 float-for-money" in item.detail and "1 missing-primary-key" in item.detail
    assert result.breaches(Severity.ERROR)


def test_check_report_escapes_markup_in_names(pg_database: TestDatabase) -> None:
    # Names are the user's: Rich markup in them ([bold], an unmatched [/x]) prints as is.
    with pg_database.connect() as conn:
        conn.execute('CREATE TABLE "[bold]orders[/x]" ("[/x]price" real, "[red]" int)')
    result = check(pg_database.url)
    objects = {f.object for f in result.findings}
    assert {'public."[bold]orders[/x]"', 'public."[bold]orders[/x]"."[/x]price"'} <= objects
    text = render_text.render(result.findings, width=400)
    assert 'public."[bold]orders[/x]"."[/x]price"' in text
    assert 'ALTER TABLE "public"."[bold]orders[/x]" ALTER COLUMN "[/x]price"' in text
