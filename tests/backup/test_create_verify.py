"""Pagila backed up in each format by the real pg_dump, verified by restoring, restored.

Runs on every PostgreSQL the plugin finds (15 from the system, 18 from the wheel); the
pg_dump used is the lowest major not older than the server, and the manifest says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pgkeel.backup import tools
from pgkeel.backup.create import create_backup
from pgkeel.backup.manifest import (
    read_manifest,
    read_verification,
    sha256_file,
    write_manifest,
)
from pgkeel.backup.restore import restore_into
from pgkeel.backup.verify import verify_backup
from pgkeel.testing import TestCluster, TestDatabase

# Pagila's README: 16,044 rentals; payment is partitioned by month.
RENTALS = 16044


@pytest.mark.parametrize(("archive_format", "jobs"),
                         [("custom", 1), ("directory", 2), ("plain", 1)])
def test_pagila_each_format_verifies_and_restores(
        pagila: TestDatabase, pg_cluster: TestCluster, tmp_path: Path,
        archive_format: str, jobs: int) -> None:
    seen: list[tuple[int, int]] = []
    made = create_backup(pagila.url, tmp_path, archive_format=archive_format, jobs=jobs,
                         progress=lambda done, total: seen.append((done, total)))
    manifest = made.manifest
    body = manifest.body
    # Layout and atomic rename: the final directory only, no partial left behind.
    assert made.path.parent == tmp_path / pagila.name
    assert [p.name for p in made.path.parent.iterdir()] == [made.path.name]
    assert body["server"]["major"] == pg_cluster.major
    assert body["pg_dump"]["major"] == pg_cluster.major  # lowest not older than server
    assert Path(body["pg_dump"]["path"]).name == "pg_dump"
    for entry in manifest.files:
        assert sha256_file(made.path / entry["path"]) == entry["sha256"]
    if archive_format == "directory":
        assert len(manifest.files) > 10  # toc.dat plus a file per table
    tables = {(t["schema"], t["name"]): t for t in manifest.facts["tables"]}
    assert tables[("public", "rental")]["rows"] == RENTALS
    assert tables[("public", "payment")]["kind"] == "p"
    assert seen[-1][0] == seen[-1][1] == sum(1 for t in tables.values() if t["kind"] == "r")
    assert (body["toc_sha256"] is None) == (archive_format == "plain")

    result = verify_backup(made.path, pagila.url)
    assert result.ok, result.problems
    assert result.restore_ms is not None and result.comparison is not None
    kinds = {c.kind for c in result.comparison.checks}
    assert {"rows", "sequence", "constraints", "extension", "rls"} <= kinds
    stored = read_verification(made.path)
    assert stored is not None and stored["ok"] and stored["level"] == "restore"
    with pagila.connect() as conn:  # the scratch database is gone
        left = conn.execute("SELECT count(*) FROM pg_database "
                            "WHERE datname LIKE 'pgkeel_verify%'").fetchone()
    assert left == (0,)

    target = pg_cluster.create_database()
    try:
        restored = restore_into(read_manifest(made.path), made.path, pg_cluster.url(target))
        assert restored.comparison.ok, restored.comparison.failures
        with TestDatabase(target, pg_cluster.url(target), pg_cluster).connect() as conn:
            assert conn.execute("SELECT count(*) FROM rental").fetchone() == (RENTALS,)
            assert conn.execute("SELECT count(*) FROM payment").fetchone() == (16049,)
            # ANALYZE ran: the planner has statistics for the restored rows.
            assert conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'rental'"
                                ).fetchone() == (RENTALS,)
            # The restored sequence hands out a new id, not one already used.
            new = conn.execute("INSERT INTO actor (first_name, last_name) VALUES ('A', "
                               "'B') RETURNING actor_id").fetchone()
            assert new == (201,)
    finally:
        pg_cluster.drop_database(target)


def test_compression_follows_the_pg_dump(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t "
                     "SELECT generate_series(1, 100)")
    made = create_backup(pg_database.url, tmp_path)
    pg_dump = made.manifest.body["pg_dump"]
    # zstd from pg_dump 16 on, where the build has it (the PyPI wheel has not); else gzip.
    want = "zstd" if tools.supports(Path(pg_dump["path"]), pg_dump["major"], "zstd") \
        else "gzip"
    assert made.manifest.body["compression"] == want
    assert verify_backup(made.path, pg_database.url).ok
    none = create_backup(pg_database.url, tmp_path, compression="none")
    assert none.manifest.size > made.manifest.size


def test_schema_only_and_selected_tables(pagila: TestDatabase, tmp_path: Path) -> None:
    schema = create_backup(pagila.url, tmp_path, schema_only=True)
    assert schema.manifest.body["options"]["schema_only"] is True
    result = verify_backup(schema.path, pagila.url)
    assert result.ok, result.problems
    assert result.comparison is not None
    assert any(c.detail == "0 rows (schema-only dump)" for c in result.comparison.checks)

    some = create_backup(pagila.url, tmp_path, tables=["actor", "public.category"])
    names = {t["name"] for t in some.manifest.facts["tables"]}
    assert names == {"actor", "category"}
    # Pagila's sequences are not OWNED BY their tables: pgkeel names them to pg_dump.
    assert [s["name"] for s in some.manifest.facts["sequences"]] == [
        "actor_actor_id_seq", "category_category_id_seq"]
    # Their trigger calls a function the table-only dump leaves out: the backup cannot
    # be restored alone, and verification says so rather than passing.
    result = verify_backup(some.path, pagila.url)
    assert not result.ok
    assert "last_updated" in result.problems[0]


def test_selected_tables_restore_alone(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE kept (id serial PRIMARY KEY, v text); "
                     "CREATE TABLE other (id int); "
                     "INSERT INTO kept (v) SELECT 'x' FROM generate_series(1, 50)")
    made = create_backup(pg_database.url, tmp_path, tables=["kept"])
    assert made.manifest.body["options"]["tables"] == ["public.kept"]
    result = verify_backup(made.path, pg_database.url)
    assert result.ok, result.problems


def test_estimates_above_the_exact_count_size(pagila: TestDatabase, tmp_path: Path) -> None:
    with pagila.connect() as conn:
        conn.execute("ANALYZE rental")
    made = create_backup(pagila.url, tmp_path, exact_max_pages=0)
    rental = next(t for t in made.manifest.facts["tables"] if t["name"] == "rental")
    assert rental["rows"] is None and rental["estimate"] == RENTALS
    result = verify_backup(made.path, pagila.url)
    assert result.ok, result.problems
    assert result.comparison is not None
    details = {c.object: c.detail for c in result.comparison.checks if c.kind == "rows"}
    assert details["public.rental"] == f"{RENTALS} rows, manifest estimated {RENTALS} " \
        "(reltuples)"
    # An estimate far from the restored count fails, naming the table.
    body = made.manifest.body
    for table in body["facts"]["tables"]:
        if table["name"] == "rental":
            table["estimate"] = RENTALS * 2
    write_manifest(made.path, body)
    result = verify_backup(made.path, pagila.url)
    assert result.problems == (f"rows public.rental: {RENTALS} rows, manifest estimated "
                               f"{RENTALS * 2} (reltuples)",)
