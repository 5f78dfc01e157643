"""Harness's real history (../shared/data/harness-migrations/postgres), end to end.

Imported with ``import_history``, applied by ``migrate up`` to a fresh database that
already holds the upstream runner's own table, the schema must equal what ``psql -f``
of the original up files, one by one in the upstream order, gives. Rolling back then
runs the downs newest first, passing through the ``noop:true`` downs the importer wrote
for upstream down files without statements, until the first one that is broken
upstream, which must fail naming the file, the statement's line and PostgreSQL's
message, with the history consistent. Rolling back everything is refused up front: the
oldest migrations have no down file at all.

Harness's ups need uuid-ossp, btree_gin, citext and pg_trgm; on a server without them
(the embedded PostgreSQL 18 wheel has no uuid-ossp) the test skips, saying so.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import shared_path

from pgkeel.connect import connect
from pgkeel.migrations import Migration, discover, history, import_history, up
from pgkeel.migrations.importer import DEFAULT_START
from pgkeel.testing import TestCluster, TestDatabase

EXTENSIONS = ("uuid-ossp", "btree_gin", "citext", "pg_trgm")
UPSTREAM_TABLE = "CREATE TABLE migrations (version text NOT NULL)"
# Harness's runner (github.com/maragudk/migrate) runs files matching this pattern, in
# name order; its dots are unescaped, so `..._up.sql` files run too.
UPSTREAM_UP = re.compile(r"^[\w-]+.up.sql$")
# Found by running the downs newest first: the first to fail drops a table under a name
# it never had ("usergroups_reviewers" for "usergroup_reviewers").
FIRST_BROKEN_DOWN = "0069_create_table_usergroup_reviewers"


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
    """The original migration (up file name without ``.up.sql``) an imported file names."""
    match = re.search(r"^-- up: +(\S+)\.up\.sql$|^-- up: +(\S+)_up\.sql$", path.read_text(),
                      re.MULTILINE)
    assert match, path
    return match[1] or match[2]


def pgkeel(*args: str, db: TestDatabase, project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run(
        [sys.executable, "-m", "pgkeel", "migrate", *args, "-d", db.url, "--project",
         str(project)], capture_output=True, text=True, env=env, timeout=300, check=False)


def stem(path: Path) -> str:
    return re.sub(r"[._](up|down)\.sql$", "", path.name)


def test_harness_history_imports_applies_and_rolls_back(harness_db: TestDatabase,
                                                        tmp_path: Path) -> None:
    source = shared_path("harness-migrations", "postgres")
    project = tmp_path
    # Harness's versions repeat (its runner keys on whole names): only new ones can do.
    report = import_history(source, project / "migrations", "golang-migrate",
                            start=DEFAULT_START)
    migrations = discover(project / "migrations")
    upstream = sorted(p for p in source.iterdir() if UPSTREAM_UP.match(p.name))
    assert len(migrations) == len(report.written) == len(upstream) == 209
    assert [original_of(m.path) for m in migrations] == [stem(p) for p in upstream]

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

    # The import report says which migrations cannot be undone: no down file upstream,
    # or one PostgreSQL cannot parse. Rollback can go down to the newest of them.
    irreversible = ({stem(p) for p in report.unpaired_ups}
                    | {stem(n.path) for n in report.unparsable_downs})
    blocked = [m for m in migrations if original_of(m.path) in irreversible]
    assert blocked == [m for m in migrations if not m.reversible and m.up.statements]
    barrier = blocked[-1]
    assert original_of(barrier.path) == "0033_alter_ci_tables"
    noop = {stem(p) for p in report.noop_downs}
    above = [m for m in migrations if m.sort_key > barrier.sort_key]
    assert all(m.reversible for m in above)

    # Rolling back everything is refused before anything runs, naming that barrier.
    refused = pgkeel("rollback", "--all", db=harness_db, project=project)
    assert refused.returncode == 4, refused.stderr
    first, _, fix = refused.stderr.splitlines()[0].partition(" — fix: ")
    assert first == (
        f"error: {barrier.path}: cannot roll back {barrier.version} ({barrier.path.name}): "
        "its down section has no statements, so it is irreversible, and so are "
        f"{len(blocked) - 1} migration(s) applied before it in this rollback; nothing "
        "was rolled back")
    assert fix.startswith(f"`pgkeel migrate rollback --to {barrier.version}` rolls back "
                          f"the {len(above)} migration(s) applied after it")
    with harness_db.connect() as conn:
        assert len(history.read(conn)) == 209

    # What the fix says: the downs run newest first, the noop ones among them as well,
    # until the first one broken upstream fails.
    failed = pgkeel("rollback", "--to", barrier.version, db=harness_db, project=project)
    assert failed.returncode == 3, failed.stderr
    broken = next(m for m in migrations if original_of(m.path) == FIRST_BROKEN_DOWN)
    line = broken.down.statements[0].line
    assert failed.stderr.splitlines()[0].partition(" — fix: ")[0] == (
        f"error: {broken.path}:{line}: rolling back {broken.version} failed at statement 1 "
        f"(line {line}): table \"usergroups_reviewers\" does not exist [SQLSTATE 42P01]")
    rolled_back = [m for m in above if m.sort_key > broken.sort_key]
    assert_consistent(harness_db, project, migrations, broken, rolled_back, noop)


def assert_consistent(db: TestDatabase, project: Path, migrations: list[Migration],
                      broken: Migration, rolled_back: list[Migration], noop: set[str]) -> None:
    """History, events, status and the failed down's table after a rollback that failed
    at ``broken``: the steps before it gone, it and everything older still applied."""
    gone = {m.version for m in rolled_back}
    with db.connect() as conn:
        applied = [r.version for r in history.read(conn)]
        events = history.events(conn)
        kept = conn.execute("SELECT to_regclass('usergroup_reviewers') IS NOT NULL").fetchone()
    assert applied == [m.version for m in migrations if m.version not in gone]
    assert kept == (True,)  # the failed down rolled back with its transaction
    rollbacks = [e.version for e in events if e.kind == "rollback"]
    assert rollbacks == [m.version for m in reversed(rolled_back)]
    assert (events[-1].kind, events[-1].version, events[-1].sqlstate) == (
        "fail", broken.version, "42P01")
    # Among the downs that ran: noop ones, one of them after an up that changed data.
    passed = [m for m in rolled_back if original_of(m.path) in noop]
    assert passed and all(m.down.noop and not m.down.statements for m in passed)
    assert any(m.up.statements for m in passed)

    shown = pgkeel("status", "--format", "json", db=db, project=project)
    assert shown.returncode == 0, shown.stderr
    states = {m["version"]: m for m in json.loads(shown.stdout)["migrations"]}
    assert {v for v, m in states.items() if m["state"] == "pending"} == gone
    assert {v for v, m in states.items() if m["state"] == "applied"} == set(applied)
    assert {v for v, m in states.items() if m["noop_down"]} == {
        m.version for m in migrations if original_of(m.path) in noop}
