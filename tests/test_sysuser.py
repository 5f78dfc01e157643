"""Shared directories are used only when they are really pgkeel's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pgkeel._sysuser import secure_dir
from pgkeel.errors import ClusterError


def test_creates_a_private_directory(tmp_path: Path) -> None:
    made = secure_dir(tmp_path / "d", owners=(os.geteuid(),), mode=0o700)
    assert made.stat().st_mode & 0o777 == 0o700
    assert secure_dir(made, owners=(os.geteuid(),)) == made  # and accepts it again


def test_refuses_a_symbolic_link(tmp_path: Path) -> None:
    (tmp_path / "victim").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "victim")
    with pytest.raises(ClusterError, match="is a symbolic link"):
        secure_dir(tmp_path / "link", owners=(os.geteuid(),))


def test_refuses_a_directory_others_can_write(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(ClusterError, match="writable by other users"):
        secure_dir(tmp_path / "open", owners=(os.geteuid(),))


def test_refuses_another_owner(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="belongs to uid"):
        secure_dir(tmp_path, owners=(os.geteuid() + 12345,))
