"""char-type, varchar-limit, money-type, integer-boolean, nullable-boolean,
missing-check-constraint, table-without-comment and naming-convention.

True and false cases side by side on real databases with rows; every fix is proved
with ``prove_fixes`` (applied with psql in a non-UTC session, re-checked, every value
read back the same as text of its former type).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from rule_helpers import apply_fixes, findings, prove_fixes

from pgkeel.errors import ConfigError
from pgkeel.lint import lint_database
from pgkeel.lint.context import CheckConfig
from pgkeel.lint.schema import lint_snapshot
from pgkeel.testing import TestDatabase

CHARS = """
CREATE TABLE countries (code char(2) PRIMARY KEY, name text NOT NULL,
                        flag character(3), note varchar(40), free varchar, body text);
INSERT INTO countries VALUES ('de', 'Germany', 'x', 'n1', 'f', 'b'),
                             ('fr', 'France', 'abc', NULL, NULL, NULL);
CREATE DOMAIN short_code AS varchar(5);
CREATE TABLE coded (id bigint PRIMARY KEY, code short_code, tags varchar(10)[]);
INSERT INTO coded VALUES (1, 'ab', '{x}');
CREATE TABLE viewed (id bigint PRIMARY KEY, label varchar(9));
INSERT INTO viewed VALUES (1, 'l');
CREATE VIEW labels AS SELECT label FROM viewed;
CREATE TABLE currencies (code char(3) PRIMARY KEY);
CREATE TABLE prices (id bigint PRIMARY KEY, currency char(3) REFERENCES currencies);
INSERT INTO currencies VALUES ('EUR');
INSERT INTO prices VALUES (1, 'EUR');
"""


def test_char_type(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "char-type", CHARS)
    assert set(found) == {"public.countries.code", "public.countries.flag",
                          "public.currencies.code", "public.prices.currency"}
    for key in ("public.currencies.code", "public.prices.currency"):
        assert found[key].fix is None and "a foreign key pairs it" in found[key].message
    flag = found["public.countries.flag"]
    assert flag.severity == "warning"
    assert "1 of 2 sampled values are shorter and read back blank-padded" in flag.message
    assert flag.fix == ('ALTER TABLE "public"."countries" ALTER COLUMN "flag" TYPE text, '
                        'ADD CONSTRAINT "countries_flag_check" CHECK (char_length("flag") '
                        "<= 3); -- rewrites the table")
    with pg_database.connect() as conn:
        conn.execute("DROP TABLE prices, currencies")
    prove_fixes(pg_database, "char-type", "", tmp_path)
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT code, flag FROM countries ORDER BY code").fetchall()
        assert rows == [("de", "x"), ("fr", "abc")]


def test_varchar_limit(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "varchar-limit", CHARS)
    # no limit, a domain, an array: not reported; a view's column: no fix
    assert set(found) == {"public.countries.note", "public.viewed.label"}
    assert found["public.countries.note"].severity == "info"
    viewed = found["public.viewed.label"]
    assert viewed.fix is None and "views use it (public.labels)" in viewed.message
    with pg_database.connect() as conn:
        conn.execute("DROP VIEW labels")
    prove_fixes(pg_database, "varchar-limit", "", tmp_path)


def test_char_type_and_varchar_fix_down(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = {**findings(pg_database, "char-type", CHARS),
             **findings(pg_database, "varchar-limit")}
    script = tmp_path / "updown.sql"
    script.write_text("\n".join(f"{f.fix}\n{f.fix_down}" for f in found.values() if f.fix)
                      + "\n")
    pg_database.run_sql_file(script)
    assert set(findings(pg_database, "char-type")) == {
        "public.countries.code", "public.countries.flag", "public.currencies.code",
        "public.prices.currency"}


MONEY = """
CREATE TABLE invoices (id bigint PRIMARY KEY, total money NOT NULL DEFAULT 0,
                       fee numeric(10, 2), refund money);
INSERT INTO invoices VALUES (1, 12.34, 1.5, -3.10), (2, 1000000.01, 0, 0);
"""


def test_money_type(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "money-type", MONEY, tmp_path)
    assert set(found) == {"public.invoices.total", "public.invoices.refund"}
    assert found["public.invoices.total"].severity == "warning"
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT total, refund FROM invoices ORDER BY id").fetchall()
    assert [tuple(map(str, r)) for r in rows] == [("12.34", "-3.10"), ("1000000.01", "0.00")]


BOOLEANS = """
CREATE TABLE products (id bigint PRIMARY KEY, discontinued integer NOT NULL DEFAULT 0,
                       featured smallint, stock integer, rare integer, checked integer
                       CHECK (checked IN (0, 1)), parent_id bigint REFERENCES products);
INSERT INTO products
SELECT g, g % 2, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 2 END, g % 50,
       CASE WHEN g < 20 THEN g % 2 END, g % 2, NULL
FROM generate_series(1, 300) AS g;
"""


def test_integer_boolean(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "integer-boolean", BOOLEANS)
    # stock holds other values; rare has too few values; id/parent_id are keys
    assert set(found) == {"public.products.discontinued", "public.products.featured",
                          "public.products.checked"}
    assert "its 300 sampled values are only 0 (150) and 1 (150)" in (
        found["public.products.discontinued"].message)
    checked = found["public.products.checked"]
    assert checked.fix is None and "CHECK products_checked_check" in checked.message
    featured = found["public.products.featured"]
    assert featured.fix is None and "100 sampled rows are NULL, a third value" in (
        featured.message)


def test_integer_boolean_fix(pg_database: TestDatabase, tmp_path: Path) -> None:
    # featured is nullable but holds no NULL: it becomes a NOT NULL boolean (a
    # nullable one would be a nullable-boolean finding)
    schema = """
        CREATE TABLE products (id bigint PRIMARY KEY,
                               discontinued integer NOT NULL DEFAULT 0,
                               featured integer, stock integer);
        INSERT INTO products SELECT g, g % 2, (g + 1) % 2, g % 50
        FROM generate_series(1, 300) AS g;
    """
    found = prove_fixes(pg_database, "integer-boolean", schema, tmp_path)
    assert set(found) == {"public.products.discontinued", "public.products.featured"}
    assert (found["public.products.featured"].fix or "").endswith(
        'ALTER COLUMN "featured" SET NOT NULL; -- rewrites the table')
    assert "public.products.discontinued" in found
    with pg_database.connect() as conn:
        (default,) = conn.execute(
            "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef "
            "WHERE adrelid = 'products'::regclass AND adnum = 2").fetchone()
        assert default == "false"
        finding = found["public.products.discontinued"]
        conn.execute(finding.fix_down or "")
        (n,) = conn.execute("SELECT sum(discontinued) FROM products").fetchone()
        assert n == 150


def test_integer_boolean_fails_safely_on_unsampled_values(pg_database: TestDatabase,
                                                          tmp_path: Path) -> None:
    found = findings(pg_database, "integer-boolean", BOOLEANS)
    with pg_database.connect() as conn:
        conn.execute("UPDATE products SET discontinued = 2 WHERE id = 300")
        try:
            conn.execute(found["public.products.discontinued"].fix or "")
        except Exception as exc:  # the 2 must stop the conversion
            assert "invalid input syntax for type boolean" in str(exc)
        else:
            raise AssertionError("the conversion ran over a value that is not 0 or 1")


def test_data_rules_are_silent_without_data(pg_database: TestDatabase) -> None:
    rules = ["integer-boolean", "missing-check-constraint"]
    with pg_database.connect() as conn:
        conn.execute(BOOLEANS + QUANTITIES)
        snap, with_data = lint_database(conn, rules)
    assert with_data
    assert lint_snapshot(snap, rules) == ()


NULLABLE = """
CREATE TABLE users (id bigint PRIMARY KEY, active boolean, admin boolean,
                    verified boolean NOT NULL DEFAULT false, empty boolean);
INSERT INTO users SELECT g, g % 2 = 0, CASE WHEN g % 4 = 0 THEN true END, true, NULL
FROM generate_series(1, 20) AS g;
CREATE TABLE blank (flag boolean);
"""


def test_nullable_boolean(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "nullable-boolean", NULLABLE)
    assert set(found) == {"public.users.active", "public.users.admin", "public.users.empty",
                          "public.blank.flag"}
    assert "none of the 20 sampled rows is NULL" in found["public.users.active"].message
    admin = found["public.users.admin"]
    assert admin.fix is None and "15 of 20 sampled rows are NULL" in admin.message
    assert found["public.blank.flag"].fix is not None  # no rows: SET NOT NULL cannot harm
    schema = NULLABLE.replace(", empty boolean", "").replace(", true, NULL", ", true")
    with pg_database.connect() as conn:
        conn.execute("DROP TABLE users, blank")
        conn.execute(schema)
        conn.execute("UPDATE users SET admin = false WHERE admin IS NULL")
    prove_fixes(pg_database, "nullable-boolean", "", tmp_path)


QUANTITIES = """
CREATE TABLE order_lines (id bigint PRIMARY KEY, quantity integer NOT NULL,
                          "UnitPrice" numeric(10, 2), discount real, balance numeric,
                          total_amount numeric CHECK (total_amount >= 0), tax money,
                          qty_delta integer, note text);
INSERT INTO order_lines
SELECT g, g % 5 + 1, g * 1.5, 0.05, -g, g, g * 0.1, g % 3 - 1, 'n'
FROM generate_series(1, 50) AS g;
CREATE TABLE refunds (id bigint PRIMARY KEY, amount numeric);
INSERT INTO refunds SELECT g, -g FROM generate_series(1, 50) AS g;
CREATE TABLE tiny (id bigint PRIMARY KEY, price numeric);
INSERT INTO tiny VALUES (1, 2);
"""


def test_missing_check_constraint(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "missing-check-constraint", QUANTITIES, tmp_path)
    # balance is no quantity word; total_amount has a CHECK; refunds.amount has negatives
    # (the data overrules the name); qty_delta holds -1; tiny has too few rows
    assert set(found) == {"public.order_lines.quantity", 'public.order_lines."UnitPrice"',
                          "public.order_lines.discount", "public.order_lines.tax"}
    quantity = found["public.order_lines.quantity"]
    assert quantity.severity == "info"
    assert "('quantity') and none of its 50 sampled values is negative" in quantity.message
    assert quantity.fix == (
        'ALTER TABLE "public"."order_lines" ADD CONSTRAINT "order_lines_quantity_check" '
        'CHECK ("quantity" >= 0) NOT VALID;\n'
        'ALTER TABLE "public"."order_lines" VALIDATE CONSTRAINT "order_lines_quantity_check";')
    assert 'CHECK ("tax" >= \'0\')' in (found["public.order_lines.tax"].fix or "")


def test_money_and_missing_check_fixes_together(pg_database: TestDatabase,
                                                tmp_path: Path) -> None:
    schema = """
        CREATE TABLE items (id bigint PRIMARY KEY, price money NOT NULL);
        INSERT INTO items SELECT g, g * 1.25 FROM generate_series(1, 20) AS g;
    """
    found = {**findings(pg_database, "money-type", schema),
             **{f"{k} (check)": v for k, v in findings(pg_database,
                                                        "missing-check-constraint").items()}}
    assert set(found) == {"public.items.price", "public.items.price (check)"}
    apply_fixes(pg_database, found.values(), tmp_path)
    with pg_database.connect() as conn:
        (check,) = conn.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                "WHERE conrelid = 'items'::regclass AND contype = 'c'"
                                ).fetchone()
        assert check == "CHECK ((price >= '0'::numeric))"
        assert conn.execute("SELECT sum(price) FROM items").fetchone() == (Decimal("262.50"),)


def test_table_without_comment(pg_database: TestDatabase) -> None:
    schema = """
        CREATE TABLE ledger (id bigint PRIMARY KEY);
        CREATE TABLE documented (id bigint PRIMARY KEY);
        COMMENT ON TABLE documented IS 'One uploaded document';
    """
    found = findings(pg_database, "table-without-comment", schema)
    assert set(found) == {"public.ledger"} and found["public.ledger"].fix is None
    with pg_database.connect() as conn:
        # opt-in: not run unless enabled
        assert not [f for f in lint_database(conn)[1] if f.rule == "table-without-comment"]
        config = CheckConfig(enable=frozenset({"table-without-comment"}))
        assert [f.object for f in lint_database(conn, config=config)[1]
                if f.rule == "table-without-comment"] == ["public.ledger"]


NAMES = """
CREATE TABLE "OrderLines" ("Id" bigint PRIMARY KEY, "ProductId" bigint, qty int);
CREATE INDEX "IX_OrderLines_ProductId" ON "OrderLines" ("ProductId");
CREATE TABLE order_lines (id bigint PRIMARY KEY, product_id bigint,
                          CONSTRAINT "CK_qty" CHECK (product_id > 0));
CREATE INDEX order_lines_product_id_idx ON order_lines (product_id);
CREATE TABLE fine (id bigint PRIMARY KEY);
"""


def test_naming_convention(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "naming-convention", NAMES)
    assert set(found) == {'public."OrderLines"', "public.order_lines"}
    assert found['public."OrderLines"'].message == (
        'names on public."OrderLines" do not follow the naming convention: table '
        '"OrderLines"; 2 columns ("Id", "ProductId"); 1 index ("IX_OrderLines_ProductId");'
        ' 1 constraint ("OrderLines_pkey")')
    assert found["public.order_lines"].severity == "info"
    with pg_database.connect() as conn:
        config = CheckConfig(options={"naming-convention": {
            "table": "^[A-Za-z]+$", "column": "^[A-Za-z]+$", "index": "_idx$",
            "constraint": ".*"}})
        custom = {f.object: f.message
                  for f in lint_database(conn, ["naming-convention"], config)[1]}
    # order_lines has an underscore; the IX_ index does not end in _idx
    assert set(custom) == {'public."OrderLines"', "public.order_lines"}
    assert "IX_OrderLines_ProductId" in custom['public."OrderLines"']


def test_naming_convention_invalid_pattern(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(NAMES)
        config = CheckConfig(options={"naming-convention": {"index": "([a-z"}})
        with pytest.raises(ConfigError, match="index = '\\(\\[a-z' is not a regular"):
            lint_database(conn, ["naming-convention"], config)
