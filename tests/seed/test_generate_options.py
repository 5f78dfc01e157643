"""``seed generate --sql / --fast`` and ``[seed] columns``: a script of COPY blocks that
loads elsewhere and is byte-identical per seed, indexes rebuilt, Faker per column."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pgkeel.connect import connect
from pgkeel.testing import TestCluster, TestDatabase

SCHEMA = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN score AS int CHECK (VALUE BETWEEN 0 AND 10);
CREATE TABLE users (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    email text UNIQUE NOT NULL, nickname text, mood mood NOT NULL);
CREATE TABLE posts (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES users,
                    starts_at date NOT NULL, ends_at date NOT NULL, points score,
                    CHECK (starts_at <= ends_at));
CREATE INDEX posts_user_id ON posts (user_id);
CREATE INDEX users_lower_email ON users (lower(email));
"""


def pgkeel(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return subprocess.run([sys.executable, "-m", "pgkeel", "seed", "generate", *args,
                           "-d", url, "--project", str(cwd)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_sql_script_is_identical_per_seed_and_loads(pg_cluster: TestCluster,
                                                    pg_database: TestDatabase,
                                                    tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    first, second = tmp_path / "a.sql", tmp_path / "b.sql"
    for path in (first, second):
        done = pgkeel("--rows", "200", "--seed", "5", "--sql", str(path),
                      url=pg_database.url, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    assert first.read_bytes() == second.read_bytes()
    assert b"COPY public.users" in first.read_bytes() or b'COPY "public"."users"' in (
        first.read_bytes())
    with pg_database.connect() as conn:  # nothing was loaded
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (0,)

    target = pg_cluster.create_database()
    with connect(pg_cluster.url(target)) as conn:
        conn.execute(SCHEMA)
    pg_cluster.psql_file(target, first)  # raises with psql's output when a line fails
    with connect(pg_cluster.url(target)) as conn:
        assert conn.execute("SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts)"
                            ).fetchone() == (200, 200)
        assert conn.execute("SELECT count(*) FROM posts WHERE starts_at > ends_at"
                            ).fetchone() == (0,)
        # setval in the script: the next identity value is past the rows.
        assert conn.execute("INSERT INTO users (email, mood) VALUES ('n@example.com', 'ok')"
                            " RETURNING id > 200").fetchone() == (True,)


def test_fast_rebuilds_indexes_and_columns_setting(pg_database: TestDatabase,
                                                   tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    (tmp_path / "pgkeel.toml").write_text('[seed.columns]\n"users.nickname" = "user_name"\n')
    done = pgkeel("--rows", "300", "--fast", url=pg_database.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "index public.posts_user_id dropped for the load and rebuilt" in done.stderr
    with pg_database.connect() as conn:
        indexes = {r[0] for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        assert {"posts_user_id", "users_lower_email"} <= indexes
        nicknames = [r[0] for r in conn.execute("SELECT nickname FROM users LIMIT 20")]
        # user_name gives one token (letters, digits, _ .), then the row's serial.
        assert all(n is None or (" " in n and " " not in n.rsplit(" ", 1)[0])
                   for n in nicknames)
        assert conn.execute("SELECT count(*) FROM posts").fetchone() == (300,)

    (tmp_path / "pgkeel.toml").write_text('[seed.columns]\n"users.nickname" = "no_such"\n')
    bad = pgkeel("--rows", "1", url=pg_database.url, cwd=tmp_path)
    assert bad.returncode == 2 and "no_such" in bad.stderr
