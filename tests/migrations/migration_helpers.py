"""Helpers the migration tests share: writing migration files."""

from __future__ import annotations

from pathlib import Path


def write(directory: Path, name: str, up_sql: str, down_sql: str = "", *,
          up_tx: bool = True, down_tx: bool = True) -> Path:
    """Write migration ``name`` in ``directory`` with both sections; return its path."""
    path = directory / name
    path.write_text(
        f"-- migrate:up{'' if up_tx else ' transaction:false'}\n{up_sql}\n\n"
        f"-- migrate:down{'' if down_tx else ' transaction:false'}\n{down_sql}\n")
    return path
