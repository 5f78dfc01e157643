"""The one place new migration files are written (DESIGN.md principle 6).

``migrate new``, ``check --write-migration`` and every later generator hand this
module :class:`MigrationDraft` objects; :func:`write_migrations` picks free versions
(UTC now, to the second, one second apart), composes each file under dbmate's
markers, proves it reads back as a valid migration (the same parser ``migrate up``
uses), and writes all of them or none. Files are created atomically and never
replace one that exists (:func:`write_new`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pgkeel.errors import MigrationFileError, PgkeelError
from pgkeel.migrations import _naming

__all__ = ["MigrationDraft", "write_migrations", "write_new"]

_ATTEMPTS = 3600  # seconds looked ahead for free versions


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``, all or nothing.

    The bytes go to a temporary file in the same directory, are flushed to disk, and
    the file is then hard-linked to ``path``: unlike a rename, a link fails when the
    name exists, so a concurrent writer or an existing file is never replaced. Raises
    ``FileExistsError`` when ``path`` exists and ``OSError`` for other I/O failures;
    the temporary file is removed either way.
    """
    # A short temporary name: one built from ``path.name`` would pass the file system's
    # 255-byte limit for names that are valid themselves (a 242-byte migration name).
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".pgkeel-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a migration is an ordinary file
        os.link(tmp, path)
    finally:
        os.unlink(tmp)


@dataclass(frozen=True, slots=True)
class MigrationDraft:
    """A migration to write: its ``name`` (free text, made snake_case) and sections.

    ``up`` and ``down`` are SQL text (comments allowed); an empty ``down`` makes the
    migration irreversible (say why in ``down``'s comments), ``down_noop`` declares
    that there is nothing to undo. ``up_transaction`` / ``down_transaction`` False
    put ``transaction:false`` on that marker (statements PostgreSQL refuses inside a
    transaction block). ``header`` is comment text placed above the up marker.
    """

    name: str
    up: str
    down: str = ""
    header: str = ""
    up_transaction: bool = True
    down_transaction: bool = True
    down_noop: bool = False

    def render(self) -> str:
        """The file's text: header, ``-- migrate:up`` section, ``-- migrate:down`` section."""
        up_marker = "-- migrate:up" + ("" if self.up_transaction else " transaction:false")
        down_marker = "-- migrate:down" + (
            " noop:true" if self.down_noop
            else "" if self.down_transaction else " transaction:false")
        header = self.header.rstrip("\n") + "\n" if self.header.strip() else ""
        return (f"{header}{up_marker}\n{self.up.strip(chr(10))}\n\n"
                f"{down_marker}\n{self.down.strip(chr(10))}\n")


def write_migrations(directory: Path, drafts: Sequence[MigrationDraft], *,
                     now: datetime | None = None) -> tuple[Path, ...]:
    """Write ``drafts`` as new migration files in ``directory``, in order; return the paths.

    Versions are ``now`` (default: the current time; naive means UTC) to the second,
    one second apart, each the next version no file in ``directory`` uses, so the
    drafts apply in the order given. ``directory`` is created when missing. Every
    file is parsed before anything is written.

    Raises ``MigrationFileError`` for a name with no letters or digits, or a draft that
    is not a valid migration (naming the line), ``PgkeelError`` when no free versions
    are found, and ``OSError`` when writing fails (files written by this call are
    removed first).
    """
    from pgkeel.migrations.files import parse_migration  # files imports this module

    slugs = []
    for draft in drafts:
        slug = _naming.snake_case(draft.name)
        if not slug:
            raise MigrationFileError(f"no usable migration name in {draft.name!r}",
                                     hint="name the change, e.g. 'add users table'")
        slugs.append(slug)
    moment = now or datetime.now(UTC)
    moment = (moment.astimezone(UTC) if moment.tzinfo else moment).replace(microsecond=0)
    directory.mkdir(parents=True, exist_ok=True)
    for _attempt in range(_ATTEMPTS):
        planned: list[tuple[Path, bytes]] = []
        for slug, draft in zip(slugs, drafts, strict=True):
            # A version already taken (by any name) moves the file a second later.
            while _taken(directory, version := moment.strftime("%Y%m%d%H%M%S")):
                moment += timedelta(seconds=1)
            path = directory / f"{version}_{slug}.sql"
            data = draft.render().encode()
            parse_migration(path, data)
            planned.append((path, data))
            moment += timedelta(seconds=1)
        if _write_all(planned):
            return tuple(path for path, _ in planned)
    raise PgkeelError(f"no free versions in the {_ATTEMPTS} seconds from now", path=directory,
                      hint="check the migrations directory for misnamed files")


def _taken(directory: Path, version: str) -> bool:
    """True when a file in ``directory`` has ``version`` (its leading digits)."""
    return any(_naming.leading_version(other.name) == version
               for other in directory.glob(f"{version}*"))


def _write_all(planned: list[tuple[Path, bytes]]) -> bool:
    """Write every file, or none (False when one name was taken meanwhile)."""
    written: list[Path] = []
    try:
        for path, data in planned:
            write_new(path, data)
            written.append(path)
    except OSError as exc:
        # Nothing half-written stays. A name taken meanwhile means another try; any
        # other OSError (its errno and path) reaches the caller, whose message names
        # the path and the fix (a too-long name, a file where the folder should be).
        for path in written:
            path.unlink()
        if isinstance(exc, FileExistsError):
            return False
        raise
    return True
