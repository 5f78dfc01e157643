"""``check --write-migration``: fixes become migrations through the one writer; they
apply with ``migrate up``, and ``migrate rollback`` restores the catalog and values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from pgkeel.catalog.introspect import snapshot as read_catalog
from pgkeel.cli import app
from pgkeel.errors import IrreversibleMigration, UsageError
from pgkeel.lint import registry
from pgkeel.lint.schema import audited
from pgkeel.migrations import read_migration, rollback, up
from pgkeel.migrations.from_fixes import fix_drafts, write_fix_migrations
from pgkeel.report.findings import Finding, Severity
from pgkeel.testing import TestDatabase

runner = CliRunner()

SCHEMA = """
CREATE TABLE customer (id int PRIMARY KEY, note text);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customer, changed timestamptz);
CREATE TABLE invoice (id int PRIMARY KEY, changed timestamptz);
INSERT INTO customer SELECT g, 'c' || g FROM generate_series(1, 30) g;
INSERT INTO orders SELECT g, 1 + g % 30, timestamptz '2024-02-18 00:30+00'
FROM generate_series(1, 90) g;
INSERT INTO invoice SELECT g, NULL FROM generate_series(1, 10) g;
"""
FUNCTION = ("CREATE OR REPLACE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN NEW.changed := now(); RETURN NEW; END $$;")


def _trigger(table: str) -> Finding:
    return Finding("r-trigger", Severity.WARNING, f"{table}.changed is not kept current",
                   object=f"public.{table}",
                   fix=f"{FUNCTION}\nCREATE TRIGGER stamp BEFORE UPDATE ON public.{table} "
                   "FOR EACH ROW EXECUTE FUNCTION public.stamp();",
                   fix_down=f"DROP TRIGGER stamp ON public.{table};\n"
                   "DROP FUNCTION public.stamp();")


INDEX = Finding("r-index", Severity.WARNING, "no index", object="public.orders.fk",
                fix='CREATE INDEX CONCURRENTLY "orders_customer_id_idx" ON "public"."orders" '
                '("customer_id");',
                fix_down='DROP INDEX CONCURRENTLY IF EXISTS "public"."orders_customer_id_idx";')


def _state(url: str) -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    with psycopg.connect(url, autocommit=True) as conn:
        plain = audited(read_catalog(conn)).to_dict()
        for table in plain["tables"]:
            table["size_bytes"] = table["row_estimate"] = 0
            for index in table["indexes"]:
                index["size_bytes"] = 0
        rows = conn.execute("SELECT c.*, o.* FROM customer c JOIN orders o "
                            "ON o.customer_id = c.id ORDER BY o.id").fetchall()
    return plain, rows


def test_fixes_apply_as_migrations_and_roll_back(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    before = _state(pg_database.url)
    directory = tmp_path / "migrations"
    paths = write_fix_migrations([INDEX, _trigger("orders"), _trigger("invoice")], directory,
                                 "fix things")
    assert [p.name[15:] for p in paths] == ["fix_things.sql", "fix_things_concurrently.sql"]
    first, second = (read_migration(p) for p in paths)
    assert first.up.transaction and not second.up.transaction
    assert [s.sql.split(" ", 3)[:3] for s in first.up.statements] == [
        ["CREATE", "OR", "REPLACE"], ["CREATE", "TRIGGER", "stamp"],
        ["CREATE", "TRIGGER", "stamp"]]  # the helper once
    assert [s.sql for s in first.down.statements] == [
        "DROP TRIGGER stamp ON public.orders", "DROP TRIGGER stamp ON public.invoice",
        "DROP FUNCTION public.stamp()"]  # the helper dropped last, once
    assert not second.down.transaction and second.down.statements[0].non_transactional
    text = paths[0].read_text()
    assert text.startswith("-- Written by `pgkeel check --write-migration`")
    assert "-- public.invoice (r-trigger)" in text

    up(pg_database.url, directory)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'stamp'"
                            ).fetchone() == (2,)
        assert conn.execute("SELECT to_regclass('orders_customer_id_idx') IS NOT NULL"
                            ).fetchone() == (True,)
    rollback(pg_database.url, directory, everything=True)
    assert _state(pg_database.url) == before


def test_a_fix_without_undo_makes_its_migration_irreversible(pg_database: TestDatabase,
                                                            tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    lossy = Finding("r-rls", Severity.ERROR, "invoice has no row-level security",
                    object="public.invoice",
                    fix="ALTER TABLE public.invoice ENABLE ROW LEVEL SECURITY;")
    (draft,) = fix_drafts([lossy])
    assert draft.down.startswith("-- Irreversible")
    assert "-- public.invoice (r-rls): invoice has no row-level security" in draft.down
    directory = tmp_path / "migrations"
    write_fix_migrations([lossy], directory)
    up(pg_database.url, directory)
    with pytest.raises(IrreversibleMigration):
        rollback(pg_database.url, directory)


def test_nothing_to_fix_writes_nothing(tmp_path: Path) -> None:
    assert write_fix_migrations([Finding("r-x", Severity.INFO, "m", object="public.t")],
                                tmp_path / "m") == ()
    assert not (tmp_path / "m").exists()


def test_cli_write_migration_up_recheck_rollback(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    # Only unindexed-foreign-key runs (its fixes carry their undo), set in pgkeel.toml.
    others = [r.id for r in registry.all_rules() if r.id != "unindexed-foreign-key"]
    (tmp_path / "pgkeel.toml").write_text(f"[check]\ndisable = {json.dumps(others)}\n")
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    before = _state(pg_database.url)
    common = ["-d", pg_database.url, "--project", str(tmp_path)]
    result = runner.invoke(app, ["check", *common, "--write-migration", "index keys"])
    assert result.exit_code == 0, result.output
    written = sorted((tmp_path / "migrations").iterdir())
    assert [p.name[15:] for p in written] == ["index_keys_concurrently.sql"]
    assert f"wrote {written[0]}" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["migrate", "up", *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["check", *common, "--format", "json"])
    assert json.loads(result.stdout)["findings"] == []
    result = runner.invoke(app, ["migrate", "rollback", *common])
    assert result.exit_code == 0, result.output
    assert _state(pg_database.url) == before
    result = runner.invoke(app, ["check", *common, "--format", "json"])
    assert [f["rule"] for f in json.loads(result.stdout)["findings"]] == [
        "unindexed-foreign-key"]


def test_cli_name_needs_write_migration(pg_database: TestDatabase) -> None:
    result = runner.invoke(app, ["check", "-d", pg_database.url, "some name"])
    assert isinstance(result.exception, UsageError) and result.exception.exit_code == 2
    assert "--write-migration" in (result.exception.hint or "")
