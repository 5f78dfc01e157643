"""A pytest plugin: real throwaway PostgreSQL clusters and a fresh database per test.

Installed with pgkeel (entry point ``pytest11``), so any project can use it::

    def test_orders(pg_database):
        with pg_database.connect() as conn:
            conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY)")

Fixtures:

- ``pg_cluster`` (session): a :class:`TestCluster`, started once per PostgreSQL major
  version found (see :func:`pgkeel.cluster.available_binaries`); tests that use it
  run once per version, with ids ``pg15``, ``pg18``. ``--pgkeel-pg 15`` (or the
  environment variable ``PGKEEL_TEST_PG=15``) keeps only the listed versions.
- ``pg_database``: a new, empty database on that cluster, dropped after the test.
- ``pg_url``: the libpq URI of ``pg_database``.

The clusters live in fresh directories under the system temp dir (reachable by the
unprivileged server user when the suite runs as root) with ``fsync`` off, and are
stopped and deleted at the end of the session.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from pgkeel.cluster import THROWAWAY_SETTINGS, Binaries, Cluster, available_binaries, throwaway
from pgkeel.connect import connect

__all__ = ["TestCluster", "TestDatabase"]

_FAST = {**THROWAWAY_SETTINGS, "max_connections": "60"}
_counter = itertools.count()


@dataclass(frozen=True, slots=True)
class TestDatabase:
    """A database made for one test: ``name`` and its libpq ``url``."""

    __test__ = False  # not a test class, despite the name
    name: str
    url: str
    cluster: TestCluster

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
        """Open a connection to this database."""
        return connect(self.url, autocommit=autocommit)

    def run_sql_file(self, path: Path) -> None:
        """Run a SQL script (pg_dump output with ``COPY ... FROM stdin`` too) with psql."""
        self.cluster.psql_file(self.name, path)


class TestCluster:
    """A running throwaway cluster. ``major`` is its PostgreSQL major version."""

    __test__ = False

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.binaries = cluster.binaries
        self.major = cluster.binaries.major

    def url(self, dbname: str = "postgres") -> str:
        """The libpq URI of ``dbname`` on this cluster (Unix socket, no password)."""
        return self.cluster.url(dbname)

    def create_database(self, name: str | None = None, *, template: str = "template1") -> str:
        """Create a database (a unique name when ``name`` is None) and return its name."""
        name = name or f"t{os.getpid()}_{next(_counter)}"
        with connect(self.url()) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting whoever still uses it."""
        with connect(self.url()) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))

    def psql_file(self, dbname: str, path: Path) -> None:
        """Run ``path`` with this cluster's psql, stopping at the first error.

        Raises ``RuntimeError`` with psql's output when the script fails.
        """
        result = subprocess.run(
            [str(self.binaries.tool("psql")), "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-d", self.url(dbname), "-f", str(path)],
            capture_output=True, text=True, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"psql -f {path} failed:\n{result.stderr[-3000:]}")


def _selected(config: pytest.Config) -> list[Binaries]:
    wanted = config.getoption("pgkeel_pg") or os.environ.get("PGKEEL_TEST_PG", "")
    found = available_binaries()
    if wanted and wanted != "all":
        majors = {int(v) for v in wanted.split(",") if v.strip()}
        found = [b for b in found if b.major in majors]
    return found


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--pgkeel-pg",
        dest="pgkeel_pg",
        default=None,
        help="PostgreSQL major versions to test on, comma-separated, or 'all' "
        "(default: every version found; env PGKEEL_TEST_PG)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pg(spec): run only on servers matching e.g. '>= 16'")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "pg_cluster" in metafunc.fixturenames:
        chosen = _selected(metafunc.config)
        metafunc.parametrize(
            "pg_cluster",
            chosen,
            indirect=True,
            scope="session",
            ids=[f"pg{b.major}" for b in chosen],
        )


@pytest.fixture(scope="session")
def pg_cluster(request: pytest.FixtureRequest) -> Iterator[TestCluster]:
    """A running cluster of one PostgreSQL major version, shared by the session."""
    binaries: Binaries = request.param
    with throwaway(binaries, prefix="pgkeel-test-", settings=_FAST) as cluster:
        yield TestCluster(cluster)


@pytest.fixture(autouse=True)
def _pg_version_marker(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("pg")
    if marker is None or "pg_cluster" not in request.fixturenames:
        return
    cluster: TestCluster = request.getfixturevalue("pg_cluster")
    op, _, version = str(marker.args[0]).partition(" ")
    ops = {">=": int.__ge__, "<=": int.__le__, "==": int.__eq__, ">": int.__gt__,
           "<": int.__lt__}
    if not ops[op](cluster.major, int(version)):
        pytest.skip(f"needs PostgreSQL {marker.args[0]}, server is {cluster.major}")


@pytest.fixture
def pg_database(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    """A new empty database, dropped after the test."""
    name = pg_cluster.create_database()
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_url(pg_database: TestDatabase) -> str:
    """The libpq URI of a fresh database."""
    return pg_database.url
