"""``pgkeel inspect``: JSON that rebuilds the snapshot, and a readable summary."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from pgkeel.catalog import Snapshot, read_snapshot
from pgkeel.cli import app
from pgkeel.testing import TestDatabase

_SCHEMA = """
CREATE TABLE customer (id bigint PRIMARY KEY, organization_id int NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint REFERENCES customer);
ALTER TABLE customer ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON customer USING (organization_id = 1);
CREATE VIEW big_orders AS SELECT id FROM orders;
CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1';
"""


def test_inspect_json_and_text(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute(_SCHEMA)
    runner = CliRunner()

    result = runner.invoke(app, ["inspect", "--json", "-d", pg_database.url])
    assert result.exit_code == 0, result.output
    shown = Snapshot.from_dict(json.loads(result.stdout))
    assert shown == read_snapshot(pg_database.url)
    assert [t.name for t in shown.tables] == ["customer", "orders"]

    result = runner.invoke(app, ["inspect", "--exact-sizes", "-d", pg_database.url])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "19 catalog queries; rows estimated, sizes measured" in text
    assert "schema public" in text
    assert "2 tables, 1 views, 0 materialized views, 1 functions" in text
    orders = next(line for line in text.splitlines() if line.startswith("orders"))
    assert orders.split()[-3:] == ["2", "1", "1"]  # columns, indexes, FKs; RLS blank
    customer = next(line for line in text.splitlines() if line.startswith("customer"))
    assert customer.rstrip().endswith("on (1 policies)")
