"""Pagila, Chinook and Northwind from ../shared/data, one template database each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import shared_path

from pgkeel.testing import TestCluster, TestDatabase


@pytest.fixture(scope="session")
def docs_northwind_template(pg_cluster: TestCluster) -> str:
    name = pg_cluster.create_database("docs_northwind_template")
    pg_cluster.psql_file(name, shared_path("northwind", "northwind.sql"))
    return name


@pytest.fixture(scope="session")
def docs_chinook_template(pg_cluster: TestCluster) -> str:
    # The script drops, creates and \c-connects to its own database, "chinook".
    pg_cluster.psql_file("postgres", shared_path("chinook", "Chinook_PostgreSql.sql"))
    return "chinook"


def copy_of(cluster: TestCluster, template: str) -> Iterator[TestDatabase]:
    name = cluster.create_database(template=template)
    try:
        yield TestDatabase(name, cluster.url(name), cluster)
    finally:
        cluster.drop_database(name)
