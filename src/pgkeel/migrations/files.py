"""Migration files on disk: names, the up and down sections, statements, checksums.

A migration is one file named as dbmate names them (the version is the leading digits,
anything may follow: ``20240119093000_create_users.sql``,
``10000000000000_demote-postgres.sql``; see ``_naming``), holding both directions under
dbmate's markers::

    -- migrate:up
    CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL);

    -- migrate:down
    DROP TABLE users;

``-- migrate:up transaction:false`` runs that section's statements one at a time
instead of in one transaction, for statements PostgreSQL refuses inside one (``CREATE
INDEX CONCURRENTLY`` ...). An empty down section makes the migration irreversible;
``-- migrate:down noop:true`` says instead that it has nothing to undo (a data fix, a
dropped table nobody wants back), so rolling it back runs nothing and succeeds, as
Django's ``RunSQL.noop`` and an Alembic ``downgrade()`` of ``pass`` do. A ``noop:true``
down with statements contradicts itself and is an error.

This module only reads and writes files; it never connects to a database. Every
problem is a ``MigrationFileError`` naming the file, the line and the fix, raised
before anything runs.

Sources: the marker syntax is dbmate's (``amacneil/dbmate``, ``pkg/dbmate/migration.go``);
unlike dbmate, which sends a ``transaction:false`` section as one string that PostgreSQL
still runs as one implicit transaction (``amacneil/dbmate#126``, ``#182``, ``#285``),
pgkeel splits every section into statements so the runner can send them one at a time.
Transaction control is refused because a stray ``COMMIT`` silently ends the runner's
transaction (``supabase/cli#5047``). The non-transactional list follows the PostgreSQL
reference pages of each command ("cannot be executed inside a transaction block"); see
``_txrules``.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from bisect import bisect_right
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Literal

from pgkeel.errors import MigrationFileError
from pgkeel.migrations import _naming
from pgkeel.migrations._markers import Marker, MarkerError, find_markers
from pgkeel.migrations._split import RawStatement, SplitError, split_sql
from pgkeel.migrations._txrules import is_transaction_control, non_transactional_reason
from pgkeel.migrations._write import MigrationDraft, write_migrations

__all__ = [
    "CHECKSUM_ALGORITHM",
    "Migration",
    "Section",
    "Statement",
    "checksum",
    "discover",
    "new_migration",
    "parse_migration",
    "read_migration",
]

CHECKSUM_ALGORITHM = "sha256"

_TEMPLATE_DOWN = """\
-- Write the SQL that undoes the up section here. Until this section holds a
-- statement the migration is irreversible: pgkeel refuses to roll it back.
-- If there is nothing to undo, make the marker line '-- migrate:down noop:true'.
"""


@dataclass(frozen=True, slots=True)
class Statement:
    r"""One SQL statement of a section, exactly as written in the file.

    ``sql`` runs from the statement's first token to its last, without the closing
    ``;`` (line endings normalised to LF); ``line`` is the file line where it starts;
    ``checksum`` is the SHA-256 hex of ``sql`` (``up --resume`` compares it);
    ``non_transactional`` says why PostgreSQL refuses it inside a transaction block, or
    is None; ``transaction_control`` marks BEGIN/COMMIT/ROLLBACK/SAVEPOINT...;
    ``column`` is the 1-based column where it starts. A ``COPY ... FROM STDIN`` carries
    the rows that follow it in ``copy_data`` (each ending in a newline, without the
    closing ``\.``) and the line of the first in ``data_line``; its ``checksum`` then
    covers the rows too.
    """

    index: int
    sql: str
    line: int
    checksum: str
    non_transactional: str | None
    transaction_control: bool
    column: int = 1
    copy_data: str | None = None
    data_line: int | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """The up or down half of a migration; ``line`` is its marker's line.

    ``transaction`` is False when the marker says ``transaction:false``, and when the
    section's only statement cannot run in a transaction block: ``implicit`` then says
    why (PostgreSQL's words), since one statement is atomic on its own. ``noop`` is
    True for a down whose marker says ``noop:true`` (then ``statements`` is empty: the
    migration deliberately has nothing to undo).
    """

    direction: Literal["up", "down"]
    line: int
    transaction: bool
    statements: tuple[Statement, ...]
    noop: bool = False
    implicit: str | None = None


@dataclass(frozen=True, slots=True)
class Migration:
    """A parsed migration file: ``version`` is its digits, ``name`` the rest.

    ``checksum`` is the SHA-256 hex of the file after :func:`checksum`'s normalisation.
    """

    version: str
    name: str
    path: Path
    checksum: str
    up: Section
    down: Section

    @property
    def reversible(self) -> bool:
        """True when the down section has a statement or is marked ``noop:true``."""
        return bool(self.down.statements) or self.down.noop

    @property
    def sort_key(self) -> str:
        """The order in which migrations apply: the file name, as dbmate sorts them."""
        return _naming.order_key(self.path.name)


def checksum(data: bytes) -> str:
    """Return the SHA-256 hex digest of a migration file's bytes, normalised first.

    A leading UTF-8 BOM is dropped and CRLF and lone CR become LF, so an editor or a
    git ``autocrlf`` setting that only changes line endings does not change the
    checksum (Flyway's checksum ignores them too). The algorithm is
    :data:`CHECKSUM_ALGORITHM`, which the history records beside each checksum.
    """
    return hashlib.sha256(_normalise(data)).hexdigest()


def read_migration(path: Path) -> Migration:
    """Read and parse one migration file; see :func:`parse_migration`.

    Raises ``MigrationFileError`` for a name dbmate would not read, a file that cannot
    be read, and everything :func:`parse_migration` refuses.
    """
    _naming.parse_filename(path)  # refuse a bad name before reading anything
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MigrationFileError(f"cannot read the file: {exc.strerror}", path=path,
                                 hint="check that it exists and is readable") from None
    return parse_migration(path, data)


def parse_migration(path: Path, data: bytes) -> Migration:
    """Parse ``data`` as the migration file ``path`` (which need not exist yet).

    Checks, in order, each with file, line and fix in the ``MigrationFileError``:

    - the name (one dbmate reads: leading digits, ``.sql``; see ``_naming``);
    - UTF-8 text (a BOM is allowed and ignored);
    - the markers: exactly one ``-- migrate:up`` then one ``-- migrate:down``, in
      column 1, options ``transaction:true|false`` and (down only, alone)
      ``noop:true|false``; look-alikes are errors;
    - a ``noop:true`` down holds no statements;
    - no SQL before the up marker (comments are fine), as dbmate requires;
    - every statement parses with PostgreSQL's parser (pglast), and none is a
      ``COPY ... FROM STDIN`` / ``TO STDOUT``;
    - no transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT ...) in either section;
    - no statement PostgreSQL refuses inside a transaction block in a section that runs
      in one (the fix is ``transaction:false`` on its marker).

    Statements are taken from the text with line endings normalised to LF, the same
    text the checksum covers, so what runs is what was checksummed.
    """
    version, name = _naming.parse_filename(path)
    text = _decode(path, data)
    lines = _Lines(text)
    try:
        up_marker, down_marker = find_markers(text)
    except MarkerError as exc:
        raise MigrationFileError(exc.message, path=path, line=exc.line,
                                 hint=exc.hint) from None
    preamble = _statements(path, text, lines, 0, up_marker.start)
    if preamble:
        raise MigrationFileError(
            "SQL before the '-- migrate:up' marker", path=path,
            line=lines.line(preamble[0].start),
            hint="move it below '-- migrate:up'; only comments may come before it",
        )
    return Migration(
        version=version,
        name=name,
        path=path,
        checksum=checksum(data),
        up=_section(path, text, lines, up_marker, down_marker.start),
        down=_section(path, text, lines, down_marker, len(text)),
    )


def discover(directory: Path) -> list[Migration]:
    """Read every migration in ``directory``, in dbmate's order (by file name).

    A migration candidate is a regular file directly in ``directory`` whose name ends in
    ``.sql`` (any case) and does not start with a dot, or a symlink to one. Everything
    else is ignored: README.md, dotfiles, editor backups, subdirectories, except that
    anything not a regular file (a dangling symlink, a directory, a FIFO ...) whose name
    starts with a digit and ends in ``.sql`` is an error, never a skipped migration.
    Every candidate must be a name dbmate reads (``_naming.name_problem``), so
    ``V1__x.sql``, ``x.sql`` or ``0001_x.up.sql`` is an error rather than a silently
    skipped migration; a name that merely breaks pgkeel's convention is read.

    Raises ``MigrationFileError`` when ``directory`` is not a directory; for the names:
    one error listing every misnamed or non-regular candidate and every version used by
    more than one file (dbmate records one row per version, so it fails on the second);
    then for the contents: the file's own error when one file is refused, else one
    error listing every refused file with its line, message and fix.
    """
    if directory.exists() and not directory.is_dir():
        raise MigrationFileError("this is a file, where the migrations folder is expected",
                                 path=directory,
                                 hint="move or rename that file, or point pgkeel at the "
                                 "right folder (--project, or the migrations_dir setting)")
    if not directory.is_dir():
        dbmate = directory.parent / "db" / "migrations"
        hint = ("create it, or point pgkeel at the right one"
                if directory.name != "migrations" or not dbmate.is_dir() else
                # dbmate's default folder (its --migrations-dir is ./db/migrations).
                f"{dbmate} exists (dbmate's default folder): set migrations_dir = "
                "\"db/migrations\" in pgkeel.toml, or PGKEEL_MIGRATIONS_DIR=db/migrations")
        raise MigrationFileError("the migrations directory does not exist", path=directory,
                                 hint=hint)
    problems: list[tuple[Path, str]] = []
    candidates: list[Path] = []
    for entry in sorted(directory.iterdir(), key=lambda e: _naming.order_key(e.name)):
        if entry.suffix.lower() != ".sql" or entry.name.startswith("."):
            continue
        if entry.is_file():
            reason = _naming.name_problem(entry.name)
        elif _naming.leading_version(entry.name):
            reason = _not_regular(entry)
        else:
            continue
        if reason is None:
            candidates.append(entry)
        else:
            problems.append((entry, reason))
    by_version: dict[str, list[Path]] = {}
    for path in candidates:
        by_version.setdefault(_naming.parse_filename(path)[0], []).append(path)
    for version, paths in by_version.items():
        if len(paths) > 1:
            problems.append((paths[-1], f"version {version} is also used by "
                             + ", ".join(p.name for p in paths[:-1])
                             + "; give one of them a later version (the version is the "
                             "leading digits)"))
    if problems:
        raise _names_error(directory, problems)
    migrations: list[Migration] = []
    refused: list[MigrationFileError] = []
    for path in candidates:
        try:
            migrations.append(read_migration(path))
        except MigrationFileError as exc:
            refused.append(exc)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        where = [f"{e.path.name if e.path else '?'}" + (f":{e.line}" if e.line else "")
                 for e in refused]
        raise MigrationFileError(
            f"{len(refused)} migration files cannot run: "
            + "; ".join(f"{w}: {e.message}" for w, e in zip(where, refused, strict=True)),
            path=directory,
            hint="; ".join(f"{w}: {e.hint}" for w, e in zip(where, refused, strict=True)
                           if e.hint) or None,
        )
    return migrations


def _names_error(directory: Path, problems: list[tuple[Path, str]]) -> MigrationFileError:
    """One error for every misnamed file: the file itself when it is the only one."""
    if len(problems) == 1:
        path, reason = problems[0]
        message, _sep, hint = reason.partition("; ")
        return MigrationFileError(f"{path.name!r}: {message}", path=path,
                                  hint=hint or None)
    listing = "; ".join(f"{path.name!r}: {reason.partition('; ')[0]}"
                        for path, reason in problems)
    fixes = "; ".join(f"{path.name}: {reason.partition('; ')[2]}" for path, reason in problems
                      if reason.partition("; ")[2])
    return MigrationFileError(
        f"{len(problems)} files in the migrations directory are not migrations pgkeel "
        f"(or dbmate) can run: {listing}", path=directory, hint=fixes or None)


def _not_regular(entry: Path) -> str:
    """What is wrong with a non-regular entry named like a migration, with the fix."""
    if entry.is_symlink() and not entry.exists():
        what = "a symlink whose target does not exist"
    elif entry.is_dir():
        what = "a directory"
    else:
        what = "not a regular file (a FIFO, socket or device)"
    return (f"named like a migration but is {what}; make it a regular .sql file (or a "
            "symlink to one), or move it out of the migrations directory")


def new_migration(directory: Path, name: str, *, now: datetime | None = None) -> Path:
    """Write a new migration ``YYYYMMDDHHMMSS_snake_name.sql`` and return its path.

    ``name`` is turned into snake_case ("Add Users Table", "addUsersTable" and
    "add-users-table" all give ``add_users_table``). The version is ``now`` (default:
    the current time) in UTC to the second, so several migrations written on one day
    keep their order; a naive ``now`` is taken as UTC. The file holds both markers and
    a down section that says it must be written: until it is, the migration is
    irreversible. ``directory`` is created when missing.

    When a migration with that version already exists (two runs within one second), the
    next free second is taken instead; an existing file is never overwritten. Raises
    ``MigrationFileError`` for a name with no letters or digits. Written by
    :func:`pgkeel.migrations._write.write_migrations`, like every new migration.
    """
    return write_migrations(directory, [MigrationDraft(name, up="", down=_TEMPLATE_DOWN)],
                            now=now)[0]


def parse_hint(line: int) -> str:
    """The fix for SQL PostgreSQL's parser rejects at ``line``."""
    return (f"fix the SQL at line {line}; pgkeel runs nothing from this file until it "
            "parses")


def _normalise(data: bytes) -> bytes:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _decode(path: Path, data: bytes) -> str:
    normalised = _normalise(data)
    try:
        return normalised.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(
            "the file is not UTF-8 text", path=path,
            line=normalised.count(b"\n", 0, exc.start) + 1,
            hint="save it as UTF-8 (PostgreSQL's server encoding is usually UTF8)",
        ) from None


class _Lines:
    """Map a ``str`` index of the file text to its 1-based line number."""

    def __init__(self, text: str) -> None:
        self._starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def line(self, index: int) -> int:
        return bisect_right(self._starts, index)

    def column(self, index: int) -> int:
        """The 1-based column of ``index`` on its line, in characters."""
        return index - self._starts[self.line(index) - 1] + 1


def _statements(path: Path, text: str, lines: _Lines, begin: int,
                stop: int) -> list[RawStatement]:
    """Split ``text[begin:stop]``: its statements, with file indices."""
    try:
        raw = split_sql(text[begin:stop])
    except SplitError as exc:
        line = lines.line(begin + exc.index)
        raise MigrationFileError(exc.message, path=path, line=line,
                                 hint=exc.hint or parse_hint(line)) from None
    return [replace(item, start=begin + item.start, end=begin + item.end,
                    data=None if item.data is None else
                    (begin + item.data[0], begin + item.data[1])) for item in raw]


def _section(path: Path, text: str, lines: _Lines, marker: Marker, stop: int) -> Section:
    found = _statements(path, text, lines, marker.end, stop)
    if marker.noop and found:
        raise MigrationFileError(
            f"the down section is marked noop:true (line {marker.line}) but holds SQL",
            path=path, line=lines.line(found[0].start),
            hint="remove noop:true if these statements undo the up section, or remove the "
            "statements (comments are fine) if there is nothing to undo",
        )
    statements = []
    implicit = None
    for index, item in enumerate(found):
        sql, line = text[item.start:item.end], lines.line(item.start)
        control = is_transaction_control(item.node)
        reason = non_transactional_reason(item.node)
        if control:
            raise MigrationFileError(
                f"{sql.split(None, 1)[0].upper()} in a migration: the runner owns the "
                "transaction", path=path, line=line,
                hint="remove it; each section runs in its own transaction, or with "
                f"'-- migrate:{marker.direction} transaction:false' each statement on its own",
            )
        if reason and marker.transaction and len(found) == 1:
            implicit = reason  # alone, it is atomic without a transaction block
        elif reason and marker.transaction:
            raise MigrationFileError(
                f"{reason}, and the {marker.direction} section runs in one: it holds "
                f"{len(found)} statements",
                path=path, line=line,
                hint=f"add transaction:false to the marker on line {marker.line} "
                f"('-- migrate:{marker.direction} transaction:false'; its statements then "
                "run one at a time, each committed on its own), or split the file so this "
                "statement is alone in its migration",
            )
        rows, data_line = None, None
        if item.data is not None:
            if marker.direction == "down":
                raise MigrationFileError(
                    "COPY ... FROM STDIN with rows in the down section: pgkeel stores the "
                    "down section when the migration is applied, and not COPY rows",
                    path=path, line=line,
                    hint="undo the up section with DELETE, TRUNCATE or DROP statements")
            rows = text[item.data[0]:item.data[1]]
            data_line = lines.line(item.data[0])
        digest = hashlib.sha256(sql.encode() if rows is None
                                else f"{sql}\n{rows}".encode()).hexdigest()
        statements.append(Statement(index, sql, line, digest, reason, control,
                                    lines.column(item.start), rows, data_line))
    return Section(marker.direction, marker.line, marker.transaction and implicit is None,
                   tuple(statements), marker.noop, implicit)
