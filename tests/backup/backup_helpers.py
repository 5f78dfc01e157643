"""Shared by the backup tests: run the real CLI, edit a backup on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def pgkeel(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pgkeel ARGS`` as a user would, without a configured database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PGPASSWORD")}
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300, check=False)


def flip_byte(path: Path, offset: int | None = None) -> None:
    """Invert one byte of ``path`` (the middle one by default)."""
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))
