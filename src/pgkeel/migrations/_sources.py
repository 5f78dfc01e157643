"""Read other tools' migration directories into one list, in each tool's own order.

Each reader returns a ``Scan``: the migrations (an up file and its down, or one dbmate
file holding both), plus what could not be paired or is not a migration at all.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pgkeel.errors import MigrationFileError
from pgkeel.migrations._naming import name_problem, parse_filename, snake_case

__all__ = ["READERS", "FileNote", "Scan", "Source"]


# golang-migrate's "<version>_<title>.up.sql" (github.com/golang-migrate/migrate,
# source/parse.go). Also "<version>.up.sql" and "<version>_<title>_up.sql": Harness's
# runner (github.com/maragudk/migrate, migrate.go) matches `^([\w-]+).up.sql$` with an
# unescaped dot, so those run there and its later history depends on them.
_PAIR_FILE = re.compile(r"([0-9]+)(?:_(.+?))?([._])(up|down)\.sql")


@dataclass(frozen=True, slots=True)
class FileNote:
    """Something to tell the user about one original file."""

    path: Path
    note: str


@dataclass(slots=True)
class Source:
    """One migration of the original history: its up and down files, or one dbmate file."""

    name: str
    up: Path
    down: Path | None = None
    whole_file: bool = False  # dbmate: ``up`` already holds both sections
    transaction: bool = True  # diesel's run_in_transaction
    version: str = ""  # the original version (diesel's dashes removed)
    label: str = ""  # the original's name in the source directory: file or folder


@dataclass(slots=True)
class Scan:
    """A history as read: its migrations in order, and what did not fit."""

    sources: list[Source] = field(default_factory=list)
    unpaired_ups: list[Path] = field(default_factory=list)
    unpaired_downs: list[Path] = field(default_factory=list)
    skipped: list[FileNote] = field(default_factory=list)
    notes: list[FileNote] = field(default_factory=list)


def _read_golang_migrate(source: Path) -> Scan:
    scan = Scan()
    ups: dict[tuple[str, str], Path] = {}
    downs: dict[tuple[str, str], Path] = {}
    for path in _files(source, scan):
        match = _PAIR_FILE.fullmatch(path.name)
        if match is None:
            scan.skipped.append(FileNote(path, "not NNNN_name.up.sql or NNNN_name.down.sql"))
            continue
        version, title, separator, direction = match.groups()
        key = (version, title or "")
        chosen = ups if direction == "up" else downs
        if key in chosen:
            scan.skipped.append(FileNote(path, f"a second {direction} file for "
                                               f"{chosen[key].name}"))
            continue
        chosen[key] = path
        if separator == "_":
            scan.notes.append(FileNote(path, f"named '_{direction}.sql': read as the "
                                             f"{direction} file, as Harness's runner does"))
    for key in sorted(ups, key=lambda k: (int(k[0]), ups[k].name)):
        version, title = key
        down = downs.pop(key, None)
        if down is None:
            scan.unpaired_ups.append(ups[key])
        scan.sources.append(Source(_name(title, version), ups[key], down, version=version,
                                   label=ups[key].name))
    scan.unpaired_downs.extend(sorted(downs.values()))
    return scan


def _read_diesel(source: Path) -> Scan:
    """diesel's directories, ordered as diesel orders them.

    diesel's version is the directory name up to the first ``_`` with every ``-``
    removed (``migrations_internals``, ``version_from_string``), compared as a string:
    ``2017-12-12-000000_x`` is ``20171212000000``, diesel 2.2's
    ``2024-05-01-120000-0000_x`` is ``202405011200000000``. Any name is a version there;
    one that is not digits is reported by the importer.
    """
    scan = Scan()
    entries: list[tuple[str, Path, str]] = []
    for path in sorted(source.iterdir()):
        if path.name.startswith("."):
            continue
        if not path.is_dir():
            scan.skipped.append(FileNote(path, "not a YYYY-MM-DD-HHMMSS_name directory"))
            continue
        version, _sep, title = path.name.partition("_")
        entries.append((version.replace("-", ""), path, title))
    for version, directory, title in sorted(entries):
        up, down = directory / "up.sql", directory / "down.sql"
        if not up.is_file():
            if down.is_file():
                scan.unpaired_downs.append(down)
            else:
                scan.skipped.append(FileNote(directory, "holds neither up.sql nor down.sql"))
            continue
        if not down.is_file():
            scan.unpaired_ups.append(up)
        scan.sources.append(Source(_name(title, version), up,
                                    down if down.is_file() else None,
                                    transaction=_diesel_transaction(directory),
                                    version=version, label=directory.name))
    return scan


def _diesel_transaction(directory: Path) -> bool:
    metadata = directory / "metadata.toml"
    if not metadata.is_file():
        return True
    try:
        return bool(tomllib.loads(metadata.read_text()).get("run_in_transaction", True))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MigrationFileError(f"cannot read diesel's metadata: {exc}", path=metadata,
                                 hint="fix the TOML, or remove the file") from None


def _read_dbmate(source: Path) -> Scan:
    """dbmate's files: the names dbmate reads (see ``_naming``), in its order (by name)."""
    scan = Scan()
    for path in _files(source, scan):
        problem = name_problem(path.name)
        if problem is not None:
            scan.skipped.append(FileNote(path, "not a dbmate migration: "
                                         + problem.partition("; ")[0]))
            continue
        version, title = parse_filename(path)
        scan.sources.append(Source(_name(title, version), path, whole_file=True,
                                   version=version, label=path.name))
    return scan


def _files(source: Path, scan: Scan) -> list[Path]:
    """Regular files directly in ``source``, by name; dotfiles ignored, the rest noted."""
    files = []
    for path in sorted(source.iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file():
            files.append(path)
        else:
            scan.skipped.append(FileNote(path, "not a file"))
    return files


def _name(title: str, version: str) -> str:
    return snake_case(title) or f"migration_{version}"


READERS: dict[str, Callable[[Path], Scan]] = {
    "golang-migrate": _read_golang_migrate,
    "diesel": _read_diesel,
    "dbmate": _read_dbmate,
}
