"""What `check` never audits (pgkeel's schema, extension members, ignored patterns),
what [check] changes in a real run, and --no-data."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pgkeel.check import check, checklist
from pgkeel.cli import app
from pgkeel.lint import registry
from pgkeel.lint.checklist import CONSTRAINTS, RLS
from pgkeel.lint.context import CheckConfig
from pgkeel.lint.rules.row_timestamps import MissingTimestamps
from pgkeel.migrations import up
from pgkeel.report.findings import Severity
from pgkeel.report.fix_script import fix_sql
from pgkeel.testing import TestDatabase

runner = CliRunner()

# A table every current rule has something to say about: no key, no timestamps,
# money in floating point, a foreign key without an index, a timestamp column.
NOISY = """
CREATE TABLE {name} (organization_id int REFERENCES org, price real, seen timestamp);
INSERT INTO {name} VALUES (1, 9.5, '2024-02-18 00:00');
"""


def _objects(result: object) -> set[str]:
    return {f.object or "" for f in result.findings}  # type: ignore[attr-defined]


def test_extension_members_are_never_reported(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE org (id int PRIMARY KEY); INSERT INTO org VALUES (1)")
        conn.execute(NOISY.format(name="owned") + NOISY.format(name="mine"))
        conn.execute("CREATE EXTENSION pg_trgm")
        conn.execute("ALTER EXTENSION pg_trgm ADD TABLE owned")
    result = check(pg_database.url)
    assert any(o.startswith("public.mine") for o in _objects(result))
    assert not any(o.startswith("public.owned") for o in _objects(result))
    assert "owned" not in fix_sql(result.findings)


def test_pgkeel_schema_is_never_reported(pg_database: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "20240101_org.sql").write_text(
        "-- migrate:up\nCREATE TABLE org (id int PRIMARY KEY);\n\n"
        "-- migrate:down\nDROP TABLE org;\n")
    up(pg_database.url, tmp_path)  # a real history: pgkeel.migrations, events, meta
    with pg_database.connect() as conn:
        tables = {r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'pgkeel'::regnamespace "
            "AND relkind = 'r'")}
        assert {"migrations", "events", "meta"} <= tables
    result = check(pg_database.url)
    assert not any(o == "pgkeel" or o.startswith("pgkeel.") for o in _objects(result))
    assert result.tables == 1  # public.org only
    assert "pgkeel." not in fix_sql(result.findings)


def test_config_selects_rules_severities_and_ignores(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE org (id int PRIMARY KEY); INSERT INTO org VALUES (1)")
        conn.execute(NOISY.format(name="legacy_orders") + NOISY.format(name="orders"))
    plain = check(pg_database.url)
    assert {f.rule for f in plain.findings} >= {"float-for-money", "missing-primary-key"}
    assert any(o.startswith("public.legacy_orders") for o in _objects(plain))
    config = CheckConfig(disable=frozenset({"float-for-money"}), ignore=("public.legacy_*",),
                         severity={"missing-primary-key": Severity.INFO})
    result = check(pg_database.url, config)
    assert not any(o.startswith("public.legacy_orders") for o in _objects(result))
    assert "float-for-money" not in {f.rule for f in result.findings}
    assert "float-for-money" not in {r.id for r in result.rules}
    assert {f.severity for f in result.findings if f.rule == "missing-primary-key"} == {
        Severity.INFO}


def test_checklist_items_derive_from_the_rules_that_ran(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE org (id int PRIMARY KEY); INSERT INTO org VALUES (1)")
    every = {r.id for r in registry.schema_rules() if r.checklist == RLS}
    result = check(pg_database.url, CheckConfig(disable=frozenset(every)))
    item = next(c for c in result.checklist if c.item == RLS)
    assert item.status == "not checked"
    assert all(rule in item.detail for rule in every)
    answered = next(c for c in check(pg_database.url).checklist if c.item == RLS)
    assert answered.status == "pass" and set(answered.rules) == every


def test_no_data_reads_no_rows(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE org (id int PRIMARY KEY); INSERT INTO org VALUES (1)")
        conn.execute(NOISY.format(name="orders"))
        conn.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+
        scans = conn.execute("SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                             "WHERE relname = 'orders'").fetchone()
    result = check(pg_database.url, read_rows=False)
    assert result.data_read is False and result.to_dict()["data_read"] is False
    assert result.findings  # the catalog rules still ran
    with pg_database.connect() as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        assert conn.execute("SELECT seq_scan + coalesce(idx_scan, 0) FROM pg_stat_user_tables "
                            "WHERE relname = 'orders'").fetchone() == scans
    cli = runner.invoke(app, ["check", "-d", pg_database.url, "--no-data"])
    assert "--no-data: rows not read" in cli.stdout


def test_no_data_names_the_skipped_data_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MissingTimestamps, "uses_data", True)
    items = {c.item: c for c in checklist([], data_read=False)}
    skipped = items[CONSTRAINTS].detail.split("rules that judge from the data (")[1]
    assert "missing-timestamps" in skipped.split(")")[0].split(", ")
    assert "rows not read (--no-data)" in items[CONSTRAINTS].detail
    assert "multiple-permissive-policies" not in items[RLS].detail
    assert "rows not read" not in {c.item: c for c in checklist([])}[CONSTRAINTS].detail
