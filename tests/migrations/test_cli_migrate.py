"""``pgkeel migrate`` as a user runs it: real processes, output, and every exit code.

Exit codes (pgkeel.errors): 0 ok; 1 validate mismatch or repair preview; 2 usage or
file error; 3 database error; 4 refused. The refusals that the issue singles out
(edited applied file, out of order, failed ``transaction:false``) are also exercised,
with kills and crowds, in ``test_reliability.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pgkeel.migrations import history
from pgkeel.migrations.lock import AdvisoryLock
from pgkeel.testing import TestDatabase

CASES = Path(__file__).parent / "cases"


def pgkeel(*args: str, project: Path, url: str | None = None,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    target = ["-d", url] if url else []
    return subprocess.run([sys.executable, "-m", "pgkeel", "migrate", *args, *target,
                           "--project", str(project)], capture_output=True, text=True,
                          env=env, input=stdin, timeout=120, check=False)


def project_with(tmp_path: Path, case: str) -> Path:
    shutil.copytree(CASES / case, tmp_path / "migrations")
    return tmp_path


def versions(db: TestDatabase) -> list[str]:
    with db.connect() as conn:
        return [r.version for r in history.read(conn)]


def test_lifecycle_up_status_rollback_redo(pg_database: TestDatabase, tmp_path: Path) -> None:
    project = project_with(tmp_path, "shop")
    url = pg_database.url
    dry = pgkeel("up", "--dry-run", project=project, url=url)
    assert dry.returncode == 0, dry.stderr
    assert "would apply 20240102 index_users_email (transaction:false)" in dry.stdout
    assert "CREATE UNIQUE INDEX CONCURRENTLY users_email_key" in dry.stdout
    assert versions(pg_database) == []

    applied = pgkeel("up", "--to", "20240102", project=project, url=url)
    assert applied.returncode == 0, applied.stderr
    assert applied.stdout.count("applied 2024") == 2

    shown = pgkeel("status", "--format", "json", project=project, url=url)
    data = json.loads(shown.stdout)
    assert [(m["version"], m["state"]) for m in data["migrations"]] == [
        ("20240101", "applied"), ("20240102", "applied"), ("20240103", "pending")]
    assert data["counts"]["pending"] == 1 and data["lock_holder"] is None
    text = pgkeel("status", project=project, url=url)
    assert "2 applied, 1 pending" in text.stdout

    assert pgkeel("up", project=project, url=url).returncode == 0
    back = pgkeel("rollback", "--steps", "2", project=project, url=url)
    assert back.returncode == 0, back.stderr
    assert back.stdout.splitlines() == [
        line for line in back.stdout.splitlines() if line.startswith("rolled back")]
    assert "rolled back 20240103" in back.stdout.splitlines()[0]
    again = pgkeel("redo", project=project, url=url)
    assert again.returncode == 0, again.stderr
    assert "rolled back 20240101" in again.stdout and "applied 20240101" in again.stdout
    assert versions(pg_database) == ["20240101"]


def test_status_and_rollback_show_a_noop_down(pg_database: TestDatabase,
                                             tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20240101_create_t.sql").write_text(
        "-- migrate:up\nCREATE TABLE t (x int);\n-- migrate:down\n-- cannot be undone\n")
    (migrations / "20240102_backfill_t.sql").write_text(
        "-- migrate:up\nINSERT INTO t VALUES (1);\n-- migrate:down noop:true\n")
    url = pg_database.url
    assert pgkeel("up", project=tmp_path, url=url).returncode == 0
    shown = pgkeel("status", project=tmp_path, url=url)
    lines = {line.split()[0]: line for line in shown.stdout.splitlines()[1:3]}
    assert lines["20240101"].rstrip().endswith("irreversible")
    assert lines["20240102"].rstrip().endswith("reversible (noop down)")
    assert "2 applied, 1 irreversible" in shown.stdout
    data = json.loads(pgkeel("status", "--format", "json", project=tmp_path, url=url).stdout)
    assert [(m["reversible"], m["noop_down"]) for m in data["migrations"]] == [
        (False, False), (True, True)]

    dry = pgkeel("rollback", "--dry-run", project=tmp_path, url=url)
    assert dry.stdout.splitlines() == [
        "would roll back 20240102 backfill_t (stored down) (noop:true: nothing to run)"]
    back = pgkeel("rollback", project=tmp_path, url=url)
    assert back.returncode == 0, back.stderr
    assert back.stdout.startswith("rolled back 20240102 backfill_t in ")
    refused = pgkeel("rollback", project=tmp_path, url=url)
    assert refused.returncode == 4
    assert "cannot roll back 20240101 (20240101_create_t.sql)" in refused.stderr
    assert versions(pg_database) == ["20240101"]


def test_validate_exit_1_on_a_mismatch(pg_database: TestDatabase, tmp_path: Path) -> None:
    project = project_with(tmp_path, "shop")
    assert pgkeel("up", project=project, url=pg_database.url).returncode == 0
    ok = pgkeel("validate", project=project, url=pg_database.url)
    assert ok.returncode == 0 and "3 applied migration(s) match" in ok.stdout
    path = project / "migrations" / "20240103_create_orders.sql"
    path.write_text(path.read_text().replace("numeric(12, 2)", "numeric(14, 2)"))
    bad = pgkeel("validate", project=project, url=pg_database.url)
    assert bad.returncode == 1
    assert "changed 20240103_create_orders.sql" in bad.stdout


def test_refusals_exit_4(pg_database: TestDatabase, tmp_path: Path) -> None:
    project = project_with(tmp_path, "irreversible")
    url = pg_database.url
    assert pgkeel("up", project=project, url=url).returncode == 0

    irreversible = pgkeel("rollback", "--all", project=project, url=url)
    assert irreversible.returncode == 4
    assert "20240102_drop_legacy_column.sql" in irreversible.stderr
    assert "irreversible" in irreversible.stderr and "nothing was rolled back" in \
        irreversible.stderr
    assert versions(pg_database) == ["20240101", "20240102", "20240103"]

    baseline = pgkeel("baseline", "20240101", project=project, url=url)
    assert baseline.returncode == 4 and "already holds 3" in baseline.stderr

    with pg_database.connect() as conn, AdvisoryLock(conn, wait_s=0):
        pid = conn.info.backend_pid
        locked = pgkeel("rollback", "--lock-wait", "0.2", project=project, url=url)
    assert locked.returncode == 4
    assert f"pid {pid} (application_name 'pgkeel')" in locked.stderr
    assert versions(pg_database) == ["20240101", "20240102", "20240103"]

    with pg_database.connect() as conn:
        conn.execute("UPDATE pgkeel.meta SET value = '999' WHERE key = 'history_format'")
    newer = pgkeel("up", project=project, url=url)
    assert newer.returncode == 4 and "newer than this pgkeel" in newer.stderr


def test_failed_history_refusals_and_repair(pg_database: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    path = tmp_path / "migrations" / "20240101_steps.sql"
    path.write_text("-- migrate:up transaction:false\nCREATE TABLE a ();\nSELECT 1/0;\n"
                    "CREATE TABLE b ();\n\n-- migrate:down\nDROP TABLE b;\nDROP TABLE a;\n")
    url = pg_database.url
    failed = pgkeel("up", project=tmp_path, url=url)
    assert failed.returncode == 3
    assert failed.stderr.startswith(f"error: {path}:3: applying 20240101 failed at statement 2")
    assert "division by zero [SQLSTATE 22012]" in failed.stderr

    assert pgkeel("rollback", project=tmp_path, url=url).returncode == 4
    path.write_text(path.read_text().replace("CREATE TABLE a ()", "CREATE TABLE a (x int)"))
    changed = pgkeel("up", "--resume", project=tmp_path, url=url)
    assert changed.returncode == 4 and "statement 1 changed" in changed.stderr
    path.write_text(path.read_text().replace("CREATE TABLE a (x int)", "CREATE TABLE a ()"))

    both = pgkeel("repair", project=tmp_path, url=url)
    assert both.returncode == 2 and "exactly one of" in both.stderr
    preview = pgkeel("repair", "--mark-rolled-back", project=tmp_path, url=url, stdin="")
    assert preview.returncode == 1
    assert "20240101 steps (20240101_steps.sql) failed (up) at statement 2 (line 3)" in \
        preview.stdout
    assert "nothing changed" in preview.stderr
    with pg_database.connect() as conn:
        assert history.read(conn)[0].failed
        conn.execute("DROP TABLE a")
    done = pgkeel("repair", "--mark-rolled-back", "--yes", project=tmp_path, url=url)
    assert done.returncode == 0 and "repaired 20240101" in done.stdout
    assert versions(pg_database) == []
    nothing = pgkeel("repair", "--mark-applied", "--yes", project=tmp_path, url=url)
    assert nothing.returncode == 0 and "nothing to repair" in nothing.stdout


def test_usage_and_file_errors_exit_2(pg_database: TestDatabase, tmp_path: Path) -> None:
    project = project_with(tmp_path, "shop")
    url = pg_database.url
    for args, expected in (
        (("rollback", "--steps", "1", "--to", "20240101"), "only one of"),
        (("up", "--to", "20991231"), "no migration has that version"),
        (("baseline", "20991231"), "no migration file has that version"),
        (("rollback", "--steps", "0"), "--steps"),
    ):
        result = pgkeel(*args, project=project, url=url)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr, (args, result.stderr)
    bad = project / "migrations" / "20240104_concurrent.sql"
    bad.write_text("-- migrate:up\nCREATE TABLE t (id int);\n"
                   "CREATE INDEX CONCURRENTLY orders_total ON orders (total);\n"
                   "\n-- migrate:down\nDROP INDEX orders_total;\n")
    refused = pgkeel("up", project=project, url=url)
    assert refused.returncode == 2
    assert refused.stderr.startswith(f"error: {bad}:3:")
    assert "transaction:false" in refused.stderr and "split the file" in refused.stderr
    bad.write_text("-- migrate:up\nBEGIN;\nCREATE TABLE x ();\nCOMMIT;\n-- migrate:down\n")
    wrapped = pgkeel("up", project=project, url=url)
    assert wrapped.returncode == 2 and f"{bad}:2: BEGIN in a migration" in wrapped.stderr
    assert versions(pg_database) == []  # a bad file stops everything before it starts


def test_backup_before_migrating_keeps_the_password_out(pg_database: TestDatabase,
                                                        tmp_path: Path) -> None:
    project = project_with(tmp_path, "shop")
    cluster = pg_database.cluster
    url = cluster.cluster.url(pg_database.name, tcp=True)
    password = cluster.cluster.password()
    assert password and password in url
    result = pgkeel("up", "--backup", project=project, url=url)
    assert result.returncode == 0, result.stderr
    [dump] = (project / "backups").iterdir()
    assert dump.name.startswith(f"{pg_database.name}-") and dump.suffix == ".dump"
    assert f"backup: {dump}" in result.stdout
    assert password not in result.stdout + result.stderr
    listing = subprocess.run([str(cluster.binaries.tool("pg_restore")), "--list", str(dump)],
                             capture_output=True, text=True, check=True).stdout
    # Taken before the first migration ran, after the history was set up.
    assert "TABLE pgkeel migrations" in listing and "TABLE public users" not in listing
    with pg_database.connect() as conn:
        [event] = [e for e in history.events(conn) if e.kind == "backup"]
    assert event.detail["path"] == str(dump) and event.detail["bytes"] == dump.stat().st_size
    assert password not in json.dumps(event.detail)
    nothing = pgkeel("up", "--backup", project=project, url=url)
    assert nothing.returncode == 0 and len(list((project / "backups").iterdir())) == 1


def test_new_and_import(tmp_path: Path) -> None:
    made = pgkeel("new", "Add Users Table", project=tmp_path)
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip())
    assert path.parent == tmp_path / "migrations" and path.name.endswith("_add_users_table.sql")
    assert "-- migrate:down" in path.read_text()

    other = tmp_path / "elsewhere"
    kept = pgkeel("import", str(CASES / "import_golang_migrate"), "--from",
                  "golang-migrate", project=other)  # 9 then 10: as file names 10_ sorts first
    assert kept.returncode == 2 and "10_index_email.sql would sort before" in kept.stderr
    assert "--start" in kept.stderr and not (other / "migrations").exists()
    imported = pgkeel("import", str(CASES / "import_golang_migrate"), "--from",
                      "golang-migrate", "--start", "20000101000000", project=other)
    assert imported.returncode == 0, imported.stderr
    written = sorted((other / "migrations").iterdir())
    assert f"imported {len(written)} migration(s) from golang-migrate" in imported.stdout
    assert "no down" in imported.stdout and "no up" in imported.stdout
    unknown = pgkeel("import", str(CASES / "import_golang_migrate"), "--from", "flyway",
                     project=other)
    assert unknown.returncode == 2

    source = tmp_path / "source"
    source.mkdir()
    for name, text in [("1_a.up.sql", "create table a (x int);\n"),
                       ("1_a.down.sql", "-- nothing to undo\n"),
                       ("2_b.up.sql", "create index b on a (x);\n"),
                       ("2_b.down.sql", "DROP INDEX b ON a;\n")]:
        (source / name).write_text(text)
    downs = pgkeel("import", str(source), "--from", "golang-migrate", project=tmp_path / "p3")
    assert downs.returncode == 0, downs.stderr
    assert downs.stdout.splitlines()[1:] == [
        "noop down 1_a.down.sql: no statements, written as noop:true",
        "down kept as a comment 2_b.down.sql: PostgreSQL's parser says: syntax error at or "
        'near "ON" (line 1); irreversible until rewritten',
    ]


def test_new_twice_in_one_second_and_import_refusals(tmp_path: Path) -> None:
    first = pgkeel("new", "Ünïcode Straße", project=tmp_path)
    second = pgkeel("new", "Ünïcode Straße", project=tmp_path)
    assert first.returncode == second.returncode == 0, second.stderr
    names = sorted(p.name for p in (tmp_path / "migrations").iterdir())
    assert len(names) == 2 and all(n.endswith("_unicode_strasse.sql") for n in names)

    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = pgkeel("import", str(empty), "--from", "dbmate", project=tmp_path / "p1")
    assert nothing.returncode == 2 and "nothing importable for dbmate" in nothing.stderr
    wrong = pgkeel("import", str(CASES / "import_golang_migrate"), "--from", "diesel",
                   project=tmp_path / "p1")
    assert wrong.returncode == 2 and "imported 0" not in wrong.stdout

    before = pgkeel("import", str(CASES / "import_golang_migrate"), "--from",
                    "golang-migrate", project=tmp_path)
    assert before.returncode == 2 and "--start" in before.stderr, before.stderr
    latest = names[-1][:14]
    after = (datetime.strptime(latest, "%Y%m%d%H%M%S") + timedelta(seconds=1)).strftime(
        "%Y%m%d%H%M%S")
    started = pgkeel("import", str(CASES / "import_golang_migrate"), "--from",
                     "golang-migrate", "--start", after, project=tmp_path)
    assert started.returncode == 0, started.stderr
    bad = pgkeel("import", str(CASES / "import_golang_migrate"), "--from", "golang-migrate",
                 "--start", "2024-01-01", project=tmp_path / "p2")
    assert bad.returncode == 2 and "YYYYMMDDHHMMSS" in bad.stderr

    diesel = pgkeel("import", str(CASES / "import_diesel"), "--from", "diesel",
                    project=tmp_path / "p3")
    assert diesel.returncode == 0, diesel.stderr
    assert ("no down 2018-02-01-000000_backfill/up.sql: written as irreversible"
            in diesel.stdout)


@pytest.mark.parametrize("command", ["up", "rollback", "status", "validate", "redo",
                                     "baseline", "repair", "new", "import"])
def test_every_command_has_help_with_an_example(command: str, tmp_path: Path) -> None:
    shown = pgkeel(command, "--help", project=tmp_path)
    assert shown.returncode == 0
    assert "Example:" in shown.stdout


def test_a_dbmate_project_is_pointed_at_db_migrations(pg_database: TestDatabase,
                                                      tmp_path: Path) -> None:
    """dbmate keeps its files in db/migrations: the missing-folder error says so, and
    the setting it prints works as printed."""
    folder = tmp_path / "db" / "migrations"
    folder.mkdir(parents=True)
    (folder / "10000000000000_demote-postgres.sql").write_text(
        "-- migrate:up\nCREATE TABLE demoted (id int);\n-- migrate:down\nDROP TABLE demoted;\n")
    missing = pgkeel("up", project=tmp_path, url=pg_database.url)
    assert missing.returncode == 2
    [line] = missing.stderr.strip().splitlines()
    assert line.endswith(f"fix: {folder} exists (dbmate's default folder): set "
                         'migrations_dir = "db/migrations" in pgkeel.toml, or '
                         "PGKEEL_MIGRATIONS_DIR=db/migrations")
    (tmp_path / "pgkeel.toml").write_text('migrations_dir = "db/migrations"\n')
    done = pgkeel("up", project=tmp_path, url=pg_database.url)
    assert done.returncode == 0, done.stderr
    assert "applied 10000000000000 demote-postgres" in done.stdout
