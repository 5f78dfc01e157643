"""Damaged backups fail verification naming the file, and are never restored (exit 4)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from backup_helpers import flip_byte, pgkeel
from psycopg import sql

from pgkeel.backup.create import CreateResult, create_backup
from pgkeel.backup.manifest import (
    BackupDamaged,
    read_manifest,
    read_verification,
    sha256_file,
    write_manifest,
)
from pgkeel.backup.verify import verify_backup
from pgkeel.errors import DatabaseError
from pgkeel.testing import TestDatabase


@pytest.fixture
def small(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE item (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " name text NOT NULL); CREATE TABLE note (id serial PRIMARY KEY, "
                     "body text); INSERT INTO item (name) SELECT md5(g::text) FROM "
                     "generate_series(1, 3000) g; INSERT INTO note (body) VALUES ('n')")
    return pg_database


def _backup(db: TestDatabase, root: Path, archive_format: str = "custom") -> CreateResult:
    return create_backup(db.url, root / "backups", archive_format=archive_format,
                         compression="none")


def _restore_code(db: TestDatabase, root: Path, ident: str) -> tuple[int, str]:
    target = db.cluster.create_database()
    try:
        done = pgkeel("restore", ident, "--target", db.cluster.url(target),
                      "--project", str(root))
        with TestDatabase(target, db.cluster.url(target), db.cluster).connect() as conn:
            tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = "
                                  "'public'").fetchone()
        assert tables == (0,), "a refused restore changed the target"
        return done.returncode, done.stderr
    finally:
        db.cluster.drop_database(target)


def test_flipped_byte(small: TestDatabase, tmp_path: Path) -> None:
    made = _backup(small, tmp_path)
    archive = made.path / made.manifest.archive
    flip_byte(archive)
    result = verify_backup(made.path, small.url, level="checksum")
    assert not result.ok
    assert result.problems == (f"{archive}: SHA-256 differs from the manifest "
                               "(content changed)",)
    assert read_verification(made.path)["ok"] is False  # type: ignore[index]
    done = pgkeel("backup", "verify", made.manifest.id, "--project", str(tmp_path),
                  "-d", small.url)
    assert done.returncode == 1
    assert str(archive) in done.stdout
    code, err = _restore_code(small, tmp_path, made.manifest.id)
    assert code == 4
    assert str(archive) in err and "restore refused" in err


def test_missing_file(small: TestDatabase, tmp_path: Path) -> None:
    made = _backup(small, tmp_path, "directory")
    data = sorted(p for p in (made.path / made.manifest.archive).iterdir()
                  if p.name != "toc.dat")[0]
    data.unlink()
    result = verify_backup(made.path, small.url, level="toc")
    assert result.problems == (f"{data}: missing (listed in manifest.json)",)
    code, err = _restore_code(small, tmp_path, made.manifest.id)
    assert code == 4 and str(data) in err


def test_truncated_archive(small: TestDatabase, tmp_path: Path) -> None:
    made = _backup(small, tmp_path)
    archive = made.path / made.manifest.archive
    size = archive.stat().st_size
    os.truncate(archive, size // 2)
    result = verify_backup(made.path, small.url)
    assert result.problems == (f"{archive}: truncated, {size // 2} bytes where the "
                               f"manifest recorded {size}",)


def test_truncated_before_hashing_is_caught_by_pg_restore(
        small: TestDatabase, tmp_path: Path) -> None:
    # An archive cut short before its manifest was written (the checksums then match
    # the cut file): only reading the archive can tell.
    made = _backup(small, tmp_path)
    archive = made.path / made.manifest.archive
    os.truncate(archive, 200)
    body = read_manifest(made.path).body
    body["files"] = [{"path": archive.name, "size": 200, "sha256": sha256_file(archive)}]
    write_manifest(made.path, body)
    assert verify_backup(made.path, small.url, level="checksum").ok
    result = verify_backup(made.path, small.url, level="toc")
    assert not result.ok
    assert result.problems[0].startswith(f"{archive}: pg_restore cannot read the archive")


def test_edited_manifest(small: TestDatabase, tmp_path: Path) -> None:
    made = _backup(small, tmp_path)
    path = made.path / "manifest.json"
    body = json.loads(path.read_text())
    body["facts"]["tables"][0]["rows"] = 1
    path.write_text(json.dumps(body))
    with pytest.raises(BackupDamaged, match="manifest checksum mismatch"):
        verify_backup(made.path, small.url)
    done = pgkeel("backup", "verify", made.manifest.id, "--project", str(tmp_path),
                  "--level", "checksum")
    assert done.returncode == 4
    assert str(path) in done.stderr


def test_restore_level_compares_rows(small: TestDatabase, tmp_path: Path) -> None:
    # A manifest whose counts disagree with the archive (re-signed, as a dump of a
    # different moment would be) fails at the restore level, naming the table.
    made = _backup(small, tmp_path)
    body = read_manifest(made.path).body
    for table in body["facts"]["tables"]:
        if table["name"] == "item":
            table["rows"] = 2999
    write_manifest(made.path, body)
    result = verify_backup(made.path, small.url, level="toc")
    assert result.ok
    result = verify_backup(made.path, small.url)
    assert result.problems == ("rows public.item: 3000 rows, manifest counted 2999",)


def test_restore_level_without_createdb_says_how(small: TestDatabase, tmp_path: Path) -> None:
    made = _backup(small, tmp_path)
    role = f"nocreate_{small.name}"
    with small.connect() as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        url = f"{small.url}&user={role}"
        with pytest.raises(DatabaseError, match="cannot create the scratch database") as exc:
            verify_backup(made.path, url)
        assert f"ALTER ROLE {role} CREATEDB" in (exc.value.hint or "")
    finally:
        with small.connect() as conn:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
