"""The advisor benchmark's dataset and scorer, loaded from benchmarks/advisor/, and
the fixtures built on them (imported by the test modules: a conftest.py here would
shadow tests/conftest.py for ``from conftest import ...``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from pgkeel.connect import connect
from pgkeel.testing import TestCluster, TestDatabase

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "advisor"


def bench_module(name: str) -> ModuleType:
    """Import ``benchmarks/advisor/<name>.py`` (not a package)."""
    spec = importlib.util.spec_from_file_location(f"advisor_bench_{name}", _BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dataset = bench_module("dataset")
score = bench_module("score")


def require_hypopg(conn: psycopg.Connection[tuple[object, ...]], cluster: TestCluster) -> None:
    """Create hypopg, or skip saying why (it comes from the OS's packages)."""
    row = conn.execute("SELECT EXISTS (SELECT FROM pg_available_extensions "
                       "WHERE name = 'hypopg')").fetchone()
    if not (row and row[0]):
        pytest.skip(f"HypoPG is not installed for PostgreSQL {cluster.major} "
                    f"({cluster.binaries.bindir}): tools/install_test_extensions.sh installs "
                    "postgresql-NN-hypopg when run as root on Debian")
    conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")


#: 5 % of the benchmark: 50 k orders, 10 k customers, 5 k products, 15 k events.
SCALE = 0.05


@pytest.fixture(scope="session", name="shop_template")
def shop_template_fixture(pg_cluster: TestCluster) -> str:
    """A database holding the advisor benchmark's tables at :data:`SCALE` (one per
    module that imports the fixture: pytest scopes an imported fixture per module)."""
    name = pg_cluster.create_database()
    with connect(pg_cluster.url(name)) as conn:
        dataset.build(conn, SCALE)
    return name


@pytest.fixture(name="shop")
def shop_fixture(pg_cluster: TestCluster, shop_template: str) -> Iterator[TestDatabase]:
    """A fresh copy of the shop for one test."""
    name = pg_cluster.create_database(template=shop_template)
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)
