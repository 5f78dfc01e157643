"""Messages that name the real problem and a fix that works (issue 6).

A password the server asked for and nobody gave is not "cannot reach the server";
a user without the privilege to create pgkeel's schema is told which one, with the
GRANT, and each printed fix is run here; operating-system errors are one line with a
fix; ``pgkeel connect`` prints extension commands that work as printed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from pgkeel.cli._oserror import describe
from pgkeel.cluster import THROWAWAY_SETTINGS, Cluster
from pgkeel.connect import connect
from pgkeel.testing import TestCluster, TestDatabase


def pgkeel(*args: str, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "PGPASSWORD", "PGPASSFILE")}
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, env=base | (env or {}), cwd=cwd, timeout=120,
                          check=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "20240101_noop.sql").write_text(
        "-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n")
    return tmp_path


@pytest.fixture
def role(pg_cluster: TestCluster) -> Iterator[str]:
    """A login role with a password and no privilege beyond PUBLIC's."""
    name = f"app_{os.getpid()}"
    with connect(pg_cluster.url()) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'app-s3cret'").format(
            sql.Identifier(name)))
    try:
        yield name
    finally:
        with connect(pg_cluster.url()) as conn:
            for row in conn.execute("SELECT datname FROM pg_database WHERE datallowconn"
                                    ).fetchall():
                conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM {}").format(
                    sql.Identifier(str(row[0])), sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_missing_password_says_where_pgkeel_looks(pg_database: TestDatabase, role: str,
                                                  project: Path, tmp_path: Path) -> None:
    port = pg_database.cluster.cluster.port
    url = f"postgresql://{role}@127.0.0.1:{port}/{pg_database.name}"
    nowhere = {"HOME": str(tmp_path), "PGPASSFILE": str(tmp_path / "no.pgpass")}
    for args in (("connect", "-d", url), ("migrate", "status", "-d", url,
                                          "--project", str(project))):
        result = pgkeel(*args, env=nowhere)
        assert result.returncode == 3
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: the server at 127.0.0.1:{port} asked for a "
                               f"password for user '{role}' and none was given — fix: ")
        assert "cannot reach" not in line
        for place in ("database URL", "DATABASE_URL", ".env", "PGPASSWORD", "~/.pgpass",
                      "PGPASSFILE"):
            assert place in line
    # Each place named works.
    assert pgkeel("connect", "-d", url, env=nowhere | {"PGPASSWORD": "app-s3cret"}
                  ).returncode == 0
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{port}:*:{role}:app-s3cret\n")
    passfile.chmod(0o600)
    assert pgkeel("connect", "-d", url, env=nowhere | {"PGPASSFILE": str(passfile)}
                  ).returncode == 0
    with_password = url.replace(f"{role}@", f"{role}:app-s3cret@")
    assert pgkeel("connect", "-d", with_password, env=nowhere).returncode == 0


def test_wrong_password_names_the_place_it_came_from(pg_database: TestDatabase, role: str,
                                                     tmp_path: Path) -> None:
    port = pg_database.cluster.cluster.port
    url = f"postgresql://{role}@127.0.0.1:{port}/{pg_database.name}"
    passfile = tmp_path / "pgpass"
    passfile.write_text(f"127.0.0.1:{port}:*:{role}:Zq9-bad\n")
    passfile.chmod(0o600)
    nowhere = {"HOME": str(tmp_path), "PGPASSFILE": str(tmp_path / "no.pgpass")}
    for env, dsn, place in (
            (nowhere, url.replace(f"{role}@", f"{role}:Zq9-bad@"), "in the database URL"),
            (nowhere | {"PGPASSWORD": "Zq9-bad"}, url, "fix PGPASSWORD, which gave"),
            ({"HOME": str(tmp_path), "PGPASSFILE": str(passfile)}, url,
             f"in the password file {passfile}, which gave")):
        result = pgkeel("connect", "-d", dsn, env=env)
        assert result.returncode == 3
        [line] = result.stderr.strip().splitlines()
        assert line.startswith(f"error: password authentication failed for user '{role}'")
        assert place in line.split(" — fix: ")[1]
        assert "Zq9-bad" not in line  # the password is never shown


def test_no_connect_privilege_names_it_and_the_grant_works(
        pg_database: TestDatabase, role: str, project: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
            sql.Identifier(pg_database.name)))
    as_role = make_conninfo(pg_database.url, user=role)
    denied = pgkeel("migrate", "status", "--project", str(project), "-d", as_role)
    assert denied.returncode == 3
    [line] = denied.stderr.strip().splitlines()
    assert line.startswith(f"error: user '{role}' may not connect to database "
                           f"'{pg_database.name}' on ")
    assert "cannot reach" not in line
    [grant] = _fixes(denied.stderr)
    assert grant == f'GRANT CONNECT ON DATABASE "{pg_database.name}" TO "{role}"'
    with pg_database.connect() as conn:
        conn.execute(grant.encode())
    assert pgkeel("migrate", "status", "--project", str(project), "-d", as_role
                  ).returncode == 0


def _fixes(stderr: str) -> list[str]:
    """The SQL statements in a hint: 'GRANT ...;' / 'CREATE ...' / 'ALTER ...'."""
    hint = stderr.split("— fix: ", 1)[1]
    return [m.strip().rstrip(";") for m in re.findall(
        r"((?:GRANT|CREATE SCHEMA|ALTER SCHEMA) [^;]+?)(?:;|$)", hint.strip())]


def test_no_create_privilege_names_it_and_each_fix_works(
        pg_cluster: TestCluster, role: str, project: Path) -> None:
    def fresh_db() -> tuple[str, str]:
        name = pg_cluster.create_database()
        return name, make_conninfo(pg_cluster.url(name), user=role)

    created: list[str] = []
    try:
        name, as_role = fresh_db()
        created.append(name)
        migrate = ("migrate", "up", "--project", str(project), "-d", as_role)
        # Reading needs no privilege and creates nothing.
        assert pgkeel("migrate", "status", "--project", str(project), "-d", as_role
                      ).returncode == 0
        denied = pgkeel(*migrate)
        assert denied.returncode == 3
        [line] = denied.stderr.strip().splitlines()
        assert line.startswith(f"error: user '{role}' may not create schema pgkeel")
        assert "permission denied for database" in line and "42501" in line
        grant, own_schema = _fixes(denied.stderr)
        assert grant == f'GRANT CREATE ON DATABASE "{name}" TO "{role}"'
        assert own_schema == f'CREATE SCHEMA pgkeel AUTHORIZATION "{role}"'
        for fix in (grant, own_schema):
            name, as_role = fresh_db()
            created.append(name)
            with connect(pg_cluster.url(name)) as conn:
                conn.execute(fix.replace(created[0], name).encode())
            done = pgkeel("migrate", "up", "--project", str(project), "-d", as_role)
            assert done.returncode == 0, done.stderr
            assert "applied 20240101 noop" in done.stdout
        # A schema made by someone else: the schema's privileges are named.
        name, as_role = fresh_db()
        created.append(name)
        with connect(pg_cluster.url(name)) as conn:
            conn.execute("CREATE SCHEMA pgkeel")
        denied = pgkeel("migrate", "up", "--project", str(project), "-d", as_role)
        assert denied.returncode == 3
        assert "may not create or read pgkeel's history tables in schema pgkeel (owned " \
            "by 'postgres')" in denied.stderr
        usage, owner = _fixes(denied.stderr)
        assert usage == f'GRANT USAGE, CREATE ON SCHEMA pgkeel TO "{role}"'
        assert owner == f'ALTER SCHEMA pgkeel OWNER TO "{role}"'
        with connect(pg_cluster.url(name)) as conn:
            conn.execute(usage.encode())
        done = pgkeel("migrate", "up", "--project", str(project), "-d", as_role)
        assert done.returncode == 0, done.stderr
    finally:
        for name in created:
            pg_cluster.drop_database(name)


def test_history_owned_by_another_role_names_the_table_grants_and_they_work(
        pg_database: TestDatabase, role: str, project: Path) -> None:
    """History tables another role created: USAGE, CREATE on the schema is not enough
    (the tables stay the owner's), so every command names the table grants; the
    read-only ones ask only for SELECT, and each printed fix works as printed."""
    assert pgkeel("migrate", "up", "--project", str(project), "-d", pg_database.url
                  ).returncode == 0
    (project / "migrations" / "20240102_more.sql").write_text(
        "-- migrate:up\nSELECT 2;\n-- migrate:down\nSELECT 2;\n")
    as_role = make_conninfo(pg_database.url, user=role)
    try:
        _history_grants_work(pg_database, role, project, as_role)
    finally:
        with pg_database.connect() as conn:
            conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA pgkeel FROM {0};"
                                 " REVOKE ALL ON SCHEMA pgkeel FROM {0}").format(
                                     sql.Identifier(role)))


def _history_grants_work(pg_database: TestDatabase, role: str, project: Path,
                         as_role: str) -> None:
    for command, rights in (("status", "SELECT"), ("validate", "SELECT"),
                            ("rollback", "SELECT, INSERT, UPDATE, DELETE"),
                            ("up", "SELECT, INSERT, UPDATE, DELETE")):
        denied = pgkeel("migrate", command, "--project", str(project), "-d", as_role)
        assert denied.returncode == 3, (command, denied.stderr)
        [line] = denied.stderr.strip().splitlines()
        assert "history in schema pgkeel (its tables are owned by 'postgres')" in line
        assert "42501" in line and "PostgreSQL:" not in line
        assert _fixes(line) == [f'GRANT USAGE ON SCHEMA pgkeel TO "{role}"',
                                f'GRANT {rights} ON ALL TABLES IN SCHEMA pgkeel TO "{role}"']
    read_only = _fixes(pgkeel("migrate", "status", "--project", str(project), "-d",
                              as_role).stderr)
    with pg_database.connect() as conn:
        for fix in read_only:
            conn.execute(fix.encode())
    shown = pgkeel("migrate", "status", "--project", str(project), "-d", as_role)
    assert shown.returncode == 0, shown.stderr
    denied = pgkeel("migrate", "up", "--project", str(project), "-d", as_role)
    assert denied.returncode == 3
    with pg_database.connect() as conn:
        for fix in _fixes(denied.stderr):
            conn.execute(fix.encode())
    done = pgkeel("migrate", "up", "--project", str(project), "-d", as_role)
    assert done.returncode == 0, done.stderr
    assert "applied 20240102 more" in done.stdout
    with pg_database.connect() as conn:
        assert conn.execute("SELECT applied_by FROM pgkeel.migrations"
                            " WHERE version = '20240102'").fetchone() == (role,)


def test_migrate_new_long_names_up_to_the_file_system_limit(tmp_path: Path) -> None:
    """A name within the 255-byte limit is written (the temporary file's name does not
    count against it); one past it is refused naming that file, not a temporary one."""
    fits = pgkeel("migrate", "new", "x" * 236, "--project", str(tmp_path))
    assert fits.returncode == 0, fits.stderr
    [written] = (tmp_path / "migrations").iterdir()
    assert len(written.name.encode()) == 255
    too_long = pgkeel("migrate", "new", "y" * 237, "--project", str(tmp_path))
    assert too_long.returncode == 3
    [line] = too_long.stderr.strip().splitlines()
    assert "the file name is too long (256 bytes; file systems allow 255)" in line
    assert ".tmp" not in line and "yyy.sql" in line
    assert [p.name for p in (tmp_path / "migrations").iterdir()] == [written.name]


def test_os_errors_are_one_line_with_a_fix(tmp_path: Path) -> None:
    long = pgkeel("migrate", "new", "x" * 300, "--project", str(tmp_path))
    assert long.returncode == 3
    [line] = long.stderr.strip().splitlines()
    assert "the file name is too long (" in line and "Errno" not in line
    assert "— fix: use a shorter name" in line
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "migrations").write_text("not a folder")
    for args in (("new", "x"), ("status", "-d", "postgresql://u@127.0.0.1:1/db")):
        result = pgkeel("migrate", *args, "--project", str(blocked))
        [line] = result.stderr.strip().splitlines()
        assert result.returncode in (2, 3) and "Errno" not in line
        assert str(blocked / "migrations") in line
        assert "a file, where" in line and "folder is expected" in line
        assert "— fix: move or rename that file" in line


def test_permission_denied_is_one_line_with_a_fix(tmp_path: Path) -> None:
    locked = tmp_path / "migrations"
    locked.mkdir()
    message, fix = describe(PermissionError(errno.EACCES, "Permission denied", str(locked)))
    assert message == f"{locked}: permission denied"
    assert fix is not None and "chmod u+rwx" in fix
    if os.geteuid() == 0:
        return  # root reads any folder: the end-to-end half needs another user
    locked.chmod(0)
    try:
        result = pgkeel("migrate", "status", "-d", "postgresql://u@127.0.0.1:1/db",
                        "--project", str(tmp_path))
    finally:
        locked.chmod(0o755)
    assert result.returncode == 3
    assert result.stderr.strip() == f"error: {message} — fix: {fix}"


class _NoPreload(Cluster):
    """A cluster started without pgkeel's ``-c shared_preload_libraries``, so that
    ``postgresql.auto.conf`` (ALTER SYSTEM) decides, as on a user's own server."""

    def _pkglibdir(self) -> str:
        return "/nonexistent"


@pytest.fixture
def bare_cluster(pg_cluster: TestCluster) -> Iterator[Cluster]:
    base = Path(tempfile.mkdtemp(prefix=f"pgkeel-test-ext-pg{pg_cluster.major}-"))
    base.chmod(0o755)
    cluster = _NoPreload(base / "cluster", binaries=pg_cluster.binaries,
                         server_settings=THROWAWAY_SETTINGS)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop(mode="immediate")
        finally:
            cluster.destroy()
            shutil.rmtree(base, ignore_errors=True)


def _extension_lines(url: str) -> dict[str, str]:
    """``pgkeel connect``'s line per notable extension, and under "to NAME" the steps
    printed below the table."""
    shown = pgkeel("connect", "-d", url)
    assert shown.returncode == 0, shown.stderr
    table, _, below = shown.stdout.partition("\nto use ")
    lines = {ln.split()[0]: ln.split(None, 1)[1].rstrip()
             for ln in table.splitlines() if ln.startswith("  ")}
    if below:
        head, *steps = below.splitlines()
        lines["to " + head.split()[0]] = "\n".join(step.strip() for step in steps)
    return lines


def test_connect_prints_extension_steps_that_work(bare_cluster: Cluster) -> None:
    url = bare_cluster.url()
    with connect(url) as conn:
        uuid_ossp = conn.execute("SELECT EXISTS (SELECT FROM pg_available_extensions"
                                 " WHERE name = 'uuid-ossp')").fetchone() == (True,)
    lines = _extension_lines(url)
    # (The PostgreSQL 18 wheel ships without uuid-ossp: then no command is printed.)
    assert lines["uuid-ossp"] == ('available: CREATE EXTENSION "uuid-ossp"' if uuid_ossp
                                  else "not available")
    assert lines["pg_stat_statements"] == "available: steps below"
    assert lines["to pg_stat_statements"] == (
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';\n"
        "-- then restart PostgreSQL\n"
        "CREATE EXTENSION pg_stat_statements;")
    steps = json.loads(pgkeel("connect", "--json", "-d", url).stdout)[
        "extensions_setup"]["pg_stat_statements"]
    assert steps == [line.removesuffix(";") for line in
                     lines["to pg_stat_statements"].replace("-- then ", "").splitlines()]
    with connect(url) as conn:
        if uuid_ossp:
            conn.execute(lines["uuid-ossp"].split(": ", 1)[1].encode())
            assert conn.execute("SELECT uuid_generate_v4() IS NOT NULL").fetchone() == (
                True,)
        # Created first, the extension is there but does not work until preloaded.
        conn.execute(steps[2].encode())
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT count(*) FROM pg_stat_statements")
    lines = _extension_lines(url)
    assert re.fullmatch(r"installed [\d.]+, not loaded: steps below",
                        lines["pg_stat_statements"])
    assert lines["to pg_stat_statements"] == (
        "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';\n"
        "-- then restart PostgreSQL")
    with connect(url) as conn:
        conn.execute(steps[0].encode())
    assert steps[1] == "restart PostgreSQL"
    bare_cluster.stop()
    bare_cluster.start()
    url = bare_cluster.url()
    with connect(url) as conn:
        assert conn.execute("SELECT count(*) >= 0 FROM pg_stat_statements").fetchone() \
            == (True,)
    lines = _extension_lines(url)
    assert re.fullmatch(r"installed [\d.]+", lines["pg_stat_statements"])
    assert re.fullmatch(r"installed [\d.]+" if uuid_ossp else "not available",
                        lines["uuid-ossp"])
    data = json.loads(pgkeel("connect", "--json", "-d", url).stdout)
    assert data["shared_preload_libraries"] == ["pg_stat_statements"]
    assert not {"pg_stat_statements", "uuid-ossp"} & set(data["extensions_setup"])


def test_connect_preload_step_keeps_other_libraries_and_the_server_starts(
        bare_cluster: Cluster) -> None:
    """With another library already preloaded, the printed ALTER SYSTEM names each
    library as its own literal: one literal 'auto_explain, pg_stat_statements' would
    be one library of that name, and the server would no longer start."""
    with connect(bare_cluster.url()) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain'")
    bare_cluster.stop()
    bare_cluster.start()
    lines = _extension_lines(bare_cluster.url())
    alter = lines["to pg_stat_statements"].splitlines()[0]
    assert alter == ("ALTER SYSTEM SET shared_preload_libraries = 'auto_explain', "
                     "'pg_stat_statements';")
    with connect(bare_cluster.url()) as conn:
        conn.execute(alter.encode())
        conn.execute("CREATE EXTENSION pg_stat_statements")
    bare_cluster.stop()
    bare_cluster.start()  # raises when the server refuses the setting
    with connect(bare_cluster.url()) as conn:
        assert conn.execute("SELECT count(*) >= 0 FROM pg_stat_statements").fetchone() \
            == (True,)
        assert conn.execute("SHOW shared_preload_libraries").fetchone() == (
            "auto_explain, pg_stat_statements",)
    assert "to pg_stat_statements" not in _extension_lines(bare_cluster.url())


def test_connect_preload_step_for_a_user_who_cannot_read_the_list(
        bare_cluster: Cluster) -> None:
    """shared_preload_libraries is hidden from a plain user: the step says, in a
    comment, to append the library with one quoted name each, and "then" comes only
    after it."""
    with connect(bare_cluster.url()) as conn:
        conn.execute("CREATE ROLE plain_reader LOGIN")
    url = make_conninfo(bare_cluster.url(), user="plain_reader")
    shown = pgkeel("connect", "-d", url)
    assert shown.returncode == 0, shown.stderr
    steps = shown.stdout.partition("\nto use pg_stat_statements")[2].splitlines()[1:]
    assert [s.strip()[:40] for s in steps] == [
        "-- as a superuser, add pg_stat_statement", "-- then restart PostgreSQL",
        "CREATE EXTENSION pg_stat_statements;"]
    assert "= 'each', 'library', 'pg_stat_statements' (one quoted name each)" in steps[0]
