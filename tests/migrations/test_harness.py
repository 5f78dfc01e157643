"""Harness's real history (../shared/data/harness-migrations/postgres), end to end.

Imported with ``import_history``, applied by ``migrate up`` to a fresh database that
already holds the upstream runner's own table, the schema must equal what ``psql -f``
of the original up files, one by one in the upstream order, gives. Rolling back then
runs the downs until the first one that is broken upstream, which must fail naming the
file, the statement's line and PostgreSQL's message, with the history consistent.

Harness's ups need uuid-ossp, btree_gin, citext and pg_trgm; on a server without them
(the embedded PostgreSQL 18 wheel has no uuid-ossp) the test skips, saying so.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_path

from pgkeel.connect import connect
from pgkeel.errors import IrreversibleMigration
from pgkeel.migrations import discover, history, import_history, rollback, status, up
from pgkeel.testing import TestCluster, TestDatabase

EXTENSIONS = ("uuid-ossp", "btree_gin", "citext", "pg_trgm")
UPSTREAM_TABLE = "CREATE TABLE migrations (version text NOT NULL)"
# Harness's runner (github.com/maragudk/migrate) runs files matching this pattern, in
# name order; its dots are unescaped, so `..._up.sql` files run too.
UPSTREAM_UP = re.compile(r"^[\w-]+.up.sql$")
FIRST_BROKEN_DOWN = "0069_create_table_usergroup_reviewers"  # drops "usergroups_reviewers"


@pytest.fixture
def harness_db(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        available = {r[0] for r in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)",
            (list(EXTENSIONS),))}
        missing = sorted(set(EXTENSIONS) - available)
        if missing:
            pytest.skip(f"PostgreSQL {pg_database.cluster.major} here lacks {missing}, "
                        "which Harness's migrations create")
        conn.execute(UPSTREAM_TABLE)
    return pg_database


def schema_dump(cluster: TestCluster, dbname: str) -> str:
    text = subprocess.run(
        [str(cluster.binaries.tool("pg_dump")), "--schema-only", "--no-owner",
         "--exclude-schema=pgkeel", "-d", cluster.url(dbname)],
        capture_output=True, text=True, check=True).stdout
    # pg_dump 15.14+/17.6+ writes a random \restrict key per run (amacneil/dbmate#678).
    return "\n".join(line for line in text.splitlines()
                     if not line.startswith(("\\restrict", "\\unrestrict")))


def original_of(path: Path) -> str:
    """The original up file named in an imported file's header."""
    match = re.search(r"^-- up: +(\S+)\.up\.sql$|^-- up: +(\S+)_up\.sql$", path.read_text(),
                      re.MULTILINE)
    assert match, path
    return match[1] or match[2]


def test_harness_history_imports_applies_and_rolls_back(harness_db: TestDatabase,
                                                        tmp_path: Path) -> None:
    source = shared_path("harness-migrations", "postgres")
    project = tmp_path
    report = import_history(source, project / "migrations", "golang-migrate")
    migrations = discover(project / "migrations")
    upstream = sorted(p for p in source.iterdir() if UPSTREAM_UP.match(p.name))
    assert len(migrations) == len(report.written) == len(upstream) == 209
    assert [original_of(m.path) for m in migrations] == [
        re.sub(r"[._]up\.sql$", "", p.name) for p in upstream]

    result = up(harness_db.url, project / "migrations")
    assert len(result.done) == 209 and result.warnings == ()

    cluster = harness_db.cluster
    reference = cluster.create_database()
    try:
        with connect(cluster.url(reference)) as conn:
            conn.execute(UPSTREAM_TABLE)
        for path in upstream:
            cluster.psql_file(reference, path)
        expected = schema_dump(cluster, reference)
    finally:
        cluster.drop_database(reference)
    actual = schema_dump(cluster, harness_db.name)
    assert actual == expected, "\n".join(list(difflib.unified_diff(
        expected.splitlines(), actual.splitlines(), "psql", "pgkeel", lineterm=""))[:80])

    # Ups without a down are irreversible: rolling back everything is refused up front.
    with pytest.raises(IrreversibleMigration, match="nothing was rolled back"):
        rollback(harness_db.url, project / "migrations", everything=True)
    with harness_db.connect() as conn:
        assert len(history.read(conn)) == 209

    # What a user does about a data-only migration without a down: write one that says
    # so, then roll back to the newest migration that stays irreversible.
    data_only = next(m for m in migrations
                     if original_of(m.path) == "0084_update_table_gitspaces_infra")
    data_only.path.write_text(data_only.path.read_text() +
                              "-- Data only: the old states cannot be restored.\nSELECT 1;\n")
    migrations = discover(project / "migrations")
    barrier = [m for m in migrations if m.up.statements and not m.down.statements][-1]
    broken = next(m for m in migrations if original_of(m.path) == FIRST_BROKEN_DOWN)
    assert barrier.sort_key < broken.sort_key
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    failed = subprocess.run(
        [sys.executable, "-m", "pgkeel", "migrate", "rollback", "--to", barrier.version,
         "--use-file-down", "-d", harness_db.url, "--project", str(project)],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert failed.returncode == 3, failed.stderr
    line = broken.down.statements[0].line
    assert failed.stderr.splitlines()[0] == (
        f"error: {broken.path}:{line}: rolling back {broken.version} failed at statement 1 "
        f"(line {line}): table \"usergroups_reviewers\" does not exist [SQLSTATE 42P01]")

    # Everything rolled back before it is gone from history; it stays applied.
    report_now = status(harness_db.url, project / "migrations")
    states = {m.version: m.state for m in report_now.migrations}
    assert states[broken.version] == "applied"
    assert all(state == ("pending" if version > broken.version else "applied")
               for version, state in states.items())
    with harness_db.connect() as conn:
        events = history.events(conn)
        assert conn.execute("SELECT to_regclass('usergroup_reviewers')").fetchone() != (None,)
    rolled_back = {e.version for e in events if e.kind == "rollback"}
    assert rolled_back == {v for v in states if v > broken.version}
    assert (events[-1].kind, events[-1].version, events[-1].sqlstate) == (
        "fail", broken.version, "42P01")
