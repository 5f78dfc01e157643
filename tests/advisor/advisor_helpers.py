"""The advisor benchmark's dataset and scorer, loaded from benchmarks/advisor/."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from pgkeel.testing import TestCluster

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
