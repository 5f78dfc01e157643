"""A database's name cannot put its backups outside the backups directory.

PostgreSQL allows any characters in a database name (PostgreSQL docs, "Identifiers
and Key Words": a quoted identifier), ``/`` and a leading ``..`` included: a backup of
a database named ``../escape`` was written next to the backups directory, where
``backup list``, ``prune`` and ``check`` never see it.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from pgkeel.backup.create import create_backup
from pgkeel.backup.store import find_backup, list_backups
from pgkeel.backup.verify import verify_backup
from pgkeel.testing import TestCluster


def test_backup_of_database_named_with_slashes_stays_inside(pg_cluster: TestCluster,
                                                            tmp_path: Path) -> None:
    name = pg_cluster.create_database("../escape")
    try:
        url = pg_cluster.url(urllib.parse.quote(name, safe=""))
        root = tmp_path / "backups"
        made = create_backup(url, root)
        assert made.path.resolve().parent.parent == root.resolve()
        assert [e.path for e in list_backups(root, name)] == [made.path]
        assert find_backup(root, "latest", name).path == made.path
        assert sorted(p.name for p in tmp_path.iterdir()) == ["backups"]
        assert sorted(p.name for p in made.path.iterdir()) == ["%2E.%2Fescape.dump",
                                                               "manifest.json"]
        assert verify_backup(made.path, url).ok
    finally:
        pg_cluster.drop_database(name)
