"""Fixtures of the advisor tests: the benchmark's generated database, small."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from advisor_helpers import dataset

from pgkeel.connect import connect
from pgkeel.testing import TestCluster, TestDatabase

#: 5 % of the benchmark: 50 k orders, 10 k customers, 5 k products, 15 k events.
SCALE = 0.05


@pytest.fixture(scope="session")
def shop_template(pg_cluster: TestCluster) -> str:
    """A database holding the advisor benchmark's tables at :data:`SCALE`."""
    name = pg_cluster.create_database("advisor_shop_template")
    with connect(pg_cluster.url(name)) as conn:
        dataset.build(conn, SCALE)
    return name


@pytest.fixture
def shop(pg_cluster: TestCluster, shop_template: str) -> Iterator[TestDatabase]:
    """A fresh copy of the shop for one test."""
    name = pg_cluster.create_database(template=shop_template)
    try:
        yield TestDatabase(name, pg_cluster.url(name), pg_cluster)
    finally:
        pg_cluster.drop_database(name)
