"""connect() and reach() against a real server: the handshake and its three failures."""

from __future__ import annotations

import pytest

from pgkeel.connect import connect, reach
from pgkeel.errors import ConnectError
from pgkeel.testing import TestCluster, TestDatabase


def test_reach_reports_server_facts(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, organization_id int)")
        conn.execute("ALTER TABLE t ENABLE ROW LEVEL SECURITY")
    facts = reach(pg_database.url)
    assert facts.database == pg_database.name
    assert facts.user == "postgres"
    assert facts.server_version_num // 10000 == pg_database.cluster.major
    assert facts.latency_ms > 0
    assert facts.extension("pg_stat_statements") is not None
    assert facts.rls_tables == ("public.t",)


def test_wrong_password_is_one_line_with_fix(pg_cluster: TestCluster) -> None:
    url = pg_cluster.cluster.url(tcp=True).replace(pg_cluster.cluster.password() or "", "nope")
    with pytest.raises(ConnectError) as caught:
        connect(url)
    assert caught.value.sqlstate == "28P01"
    assert "password authentication failed" in str(caught.value)
    assert "nope" not in str(caught.value)
    assert caught.value.exit_code == 3


def test_missing_database(pg_cluster: TestCluster) -> None:
    with pytest.raises(ConnectError) as caught:
        connect(pg_cluster.url("no_such_db"))
    assert caught.value.sqlstate == "3D000"
    assert "createdb no_such_db" in (caught.value.hint or "")


def test_unreachable_host() -> None:
    from pgkeel.cluster import free_port

    with pytest.raises(ConnectError) as caught:
        connect(f"postgresql://u:secret@127.0.0.1:{free_port()}/db", connect_timeout=2)
    assert "cannot reach PostgreSQL at 127.0.0.1" in str(caught.value)
    assert "secret" not in str(caught.value)


def test_bad_parameter_value_is_a_configuration_error() -> None:
    from pgkeel.errors import ConfigError

    with pytest.raises(ConfigError, match='invalid sslmode value: "bogus"') as caught:
        connect("postgresql://u:secret@127.0.0.1:5432/db?sslmode=bogus")
    assert caught.value.exit_code == 2
