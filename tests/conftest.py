"""Shared fixtures: the real inputs in ../shared/data, loaded into real clusters.

``../shared`` sits beside the project in CI and on the team's machines, not in a
user's clone: tests that need it skip there, saying why. ``PGKEEL_SHARED_DATA``
points elsewhere if needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pgkeel._shared_data import shared_data_dir
from pgkeel.testing import TestCluster, TestDatabase

SHARED_DATA = shared_data_dir()


def shared_path(*parts: str) -> Path:
    """Return a path under ../shared/data, or skip the test when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: ../shared/data exists only beside the team's clones")
    return path


@pytest.fixture(scope="session")
def pagila_template(pg_cluster: TestCluster) -> str:
    """A database holding Pagila (schema and data), loaded once per cluster."""
    schema = shared_path("pagila", "pagila-schema.sql")
    data = shared_path("pagila", "pagila-data.sql")
    name = pg_cluster.create_database("pagila_template")
    pg_cluster.psql_file(name, schema)
    pg_cluster.psql_file(name, data)
    return name


@pytest.fixture
def pagila(pg_cluster: TestCluster, pagila_template: str) -> Iterator[TestDatabase]:
    """A fresh copy of Pagila for one test."""
    name = pg_cluster.create_database(template=pagila_template)
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite tests/report/golden/* from the renderers' current output")
