"""Convert other tools' migration histories into pgkeel migration files.

``import_history(source, dest, tool)`` reads a golang-migrate, diesel or dbmate directory
and writes one migration file per migration into ``dest``, in the original order, each
with both sections and a header comment naming its original file(s). Every file
written parses with :func:`pgkeel.migrations.read_migration`.

Versions: every migration keeps its upstream version as a digit string, so the
versions an existing database recorded still match and nothing is renumbered behind
the user's back: dbmate's files keep their whole name (``10000000000000_demote-postgres.sql``
stays as it is); diesel's ``YYYY-MM-DD-HHMMSS_name`` becomes ``YYYYMMDDHHMMSS_name.sql``
(diesel's own version: the digits, dashes removed, so 2.2's ``-0000`` suffix and a
seconds field of 60 are kept too); golang-migrate's ``0189_name.up.sql`` becomes
``0189_name.sql``. pgkeel applies files in dbmate's order (file names compared byte by
byte), so a history whose kept names would not come out in the original order, two
migrations sharing a version, or a version that is not digits is refused with every
file or folder responsible named (``MigrationFileError``); the fix is to rename those
originals (zero-padding golang-migrate versions keeps their numeric value), or to pass
``start``, which gives every migration a new ``YYYYMMDDHHMMSS`` version, ``start`` + i
seconds for the i-th (0-based, original order), the original names staying in the
header comment.

Importing into a directory that already holds migrations is refused (``UsageError``)
when an imported file would sort before an existing one: the imported history would
be pending behind applied migrations. Pass ``start`` after the latest existing version.

What is not copied as it was is reported, never silently changed:

- a down file that exists but holds no statements (only comments, or nothing) becomes
  ``-- migrate:down noop:true`` with its comments kept: the original tools ran it as a
  successful no-op, so rolling back past it does nothing here either;
- an up without a down becomes an irreversible migration (empty down section). The
  original runners step over it too (golang-migrate's ``newMigration`` makes an "empty"
  migration, Harness's ``maragudk/migrate`` walks only the down files), but nobody
  wrote that there is nothing to undo, so pgkeel does not assume it. A dbmate file
  whose down section is empty is copied as it is, irreversible, and listed the same way;
- a down without an up is reported and not written;
- a down PostgreSQL's parser rejects is kept as a comment (irreversible), with the
  parser's message, so that one broken down does not block applying the history (the
  original tool would have sent it and failed when rolling back; pgkeel parses every
  file before it runs anything, so it cannot keep such a down as SQL);
- a section with statements PostgreSQL refuses in a transaction block gets
  ``transaction:false`` (golang-migrate never wrapped files in a transaction, so they ran);
- a section wrapped in ``BEGIN; ... COMMIT;`` loses the wrapper (pgkeel runs each
  section in its own transaction), the two statements left as comments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Literal

from pglast import ast
from pglast.enums import TransactionStmtKind

from pgkeel.errors import MigrationFileError, PgkeelError, UsageError
from pgkeel.migrations._naming import is_version, leading_version, order_key
from pgkeel.migrations._sources import READERS, FileNote, Scan, Source
from pgkeel.migrations._split import RawStatement, SplitError, split_sql
from pgkeel.migrations._txrules import is_transaction_control, non_transactional_reason
from pgkeel.migrations._write import write_new
from pgkeel.migrations.files import Migration, parse_hint, parse_migration

__all__ = ["DEFAULT_START", "FileNote", "ImportReport", "Tool", "import_history"]

Tool = Literal["golang-migrate", "diesel", "dbmate"]
#: The ``start`` for a history whose versions cannot be kept (Harness's share versions):
#: a fixed date keeps re-imports reproducible and sorts before ``migrate new``'s files.
DEFAULT_START = datetime(2000, 1, 1, tzinfo=UTC)
_TX_OPEN = {TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START}
_TX_CLOSE = {TransactionStmtKind.TRANS_STMT_COMMIT}  # COMMIT and END
_MISSING_DOWN = "none in the original history: irreversible until written"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What :func:`import_history` did.

    ``written``: the new files, in order. ``unpaired_ups``: original ups without a down,
    and dbmate files whose down section is empty (written irreversible).
    ``noop_downs``: original down files that hold no statements (written
    ``noop:true``). ``unparsable_downs``: original downs PostgreSQL's parser rejects,
    with its message (kept as comments, irreversible).
    ``unpaired_downs``: original downs without an up (not written). ``skipped``: files
    in ``source`` that are not migrations, with the reason. ``notes``: changes made
    while converting (``transaction:false`` added, a ``BEGIN``/``COMMIT`` wrapper
    removed, a ``_up.sql`` name read as an up).
    """

    tool: Tool
    source: Path
    dest: Path
    written: tuple[Path, ...]
    unpaired_ups: tuple[Path, ...]
    noop_downs: tuple[Path, ...]
    unparsable_downs: tuple[FileNote, ...]
    unpaired_downs: tuple[Path, ...]
    skipped: tuple[FileNote, ...]
    notes: tuple[FileNote, ...]


def import_history(source: Path, dest: Path, tool: Tool, *,
                   start: datetime | None = None) -> ImportReport:
    """Convert the history in ``source`` (written for ``tool``) into pgkeel files in ``dest``.

    Formats and the original order kept:

    - ``golang-migrate``: ``NNNN_name.up.sql`` / ``NNNN_name.down.sql`` pairs (timestamps
      work as versions too), ordered by numeric version, then file name, which is the
      order of golang-migrate (numeric) and of Harness's runner (name order,
      ``maragudk/migrate``) alike for zero-padded versions sharing a prefix.
    - ``diesel``: ``YYYY-MM-DD-HHMMSS_name/up.sql`` + ``down.sql`` directories ordered by
      version; ``metadata.toml`` with ``run_in_transaction = false`` becomes
      ``transaction:false``.
    - ``dbmate``: the files dbmate reads (leading digits, ``.sql``), with markers,
      copied unchanged after the header under their own names, ordered by file name as
      dbmate does.

    Upstream versions are kept (see the module docstring); ``start``, when given, gives
    every migration a new version from that time (naive means UTC). ``dest`` is created
    when missing. Nothing is written unless every file converts: kept names that would
    change the order, share a version or are not digits (all of them named in one
    error), an existing file or version in ``dest``, an up PostgreSQL's parser rejects,
    or a result that would not re-read raises ``MigrationFileError`` naming the
    original files (and line). Raises ``UsageError`` when ``source`` holds nothing
    importable for ``tool`` and when an imported file would sort before a migration
    already in ``dest``.
    Files are written atomically and never overwritten; if writing fails midway, the
    files written by this call are removed and ``PgkeelError`` is raised.
    """
    reader = READERS.get(tool)
    if reader is None:
        raise UsageError(f"unknown migration tool {tool!r}",
                         hint="use one of: " + ", ".join(sorted(READERS)))
    if not source.is_dir():
        raise MigrationFileError("the directory to import does not exist", path=source,
                                 hint="pass the directory that holds the migration files")
    scan = reader(source)
    if not scan.sources:
        raise _nothing_importable(source, tool, scan)
    names = _file_names(source, scan, start)
    planned: list[tuple[Path, bytes]] = []
    unpaired_ups = list(scan.unpaired_ups)
    noop_downs: list[Path] = []
    unparsable_downs: list[FileNote] = []
    for number, item in enumerate(scan.sources):
        path = dest / names[number]
        header = (f"-- Imported by pgkeel from {tool}: migration {number + 1} of "
                  f"{len(scan.sources)} in the original order.\n")
        if item.whole_file:
            pieces = _copy_whole(item, header)
        else:
            pieces, down = _compose(source, item, header, scan.notes)
            if item.down is not None and down.noop:
                noop_downs.append(item.down)
            if item.down is not None and down.problem is not None:
                unparsable_downs.append(FileNote(item.down, down.problem))
        data, migration = _validated(path, pieces, item.up)
        if item.whole_file and not migration.reversible:
            unpaired_ups.append(item.up)  # a dbmate file whose down section is empty
        planned.append((path, data))
    _check_free(dest, [path for path, _ in planned])
    _check_order(dest, [path for path, _ in planned], kept=start is None)
    _write_all(dest, planned)
    return ImportReport(
        tool=tool, source=source, dest=dest,
        written=tuple(path for path, _ in planned),
        unpaired_ups=tuple(unpaired_ups), noop_downs=tuple(noop_downs),
        unparsable_downs=tuple(unparsable_downs), unpaired_downs=tuple(scan.unpaired_downs),
        skipped=tuple(scan.skipped), notes=tuple(scan.notes),
    )


_SHAPES = {
    "golang-migrate": "NNNN_name.up.sql / NNNN_name.down.sql files",
    "diesel": "YYYY-MM-DD-HHMMSS_name directories holding up.sql and down.sql",
    "dbmate": "NNNN_name.sql files with -- migrate:up / -- migrate:down markers",
}


def _nothing_importable(source: Path, tool: str, scan: Scan) -> UsageError:
    seen = [note.path.name for note in scan.skipped]
    seen += [str(path.relative_to(source)) for path in scan.unpaired_downs]
    listing = ", ".join(seen[:8]) + (f" and {len(seen) - 8} more" if len(seen) > 8 else "")
    return UsageError(
        f"nothing importable for {tool} in {source}: "
        + (f"found only {listing}" if seen else "the directory is empty"),
        hint=f"{tool} migrations are {_SHAPES.get(tool, 'files')}; check the directory "
        "and --from (golang-migrate, diesel or dbmate)",
    )


def _file_names(source: Path, scan: Scan, start: datetime | None) -> list[str]:
    """The name of each migration's new file, in order (see the module docstring).

    Raises ``MigrationFileError`` naming every original whose version cannot be kept.
    """
    if start is not None:
        moment = start.astimezone(UTC) if start.tzinfo else start
        return [f"{(moment + timedelta(seconds=number)).strftime('%Y%m%d%H%M%S')}_"
                f"{item.name}.sql" for number, item in enumerate(scan.sources)]
    names = [item.up.name if item.whole_file else f"{item.version}_{item.name}.sql"
             for item in scan.sources]
    problems = [f"{item.label}: version {item.version!r} is not digits"
                for item in scan.sources if not is_version(item.version)]
    # Each kind of problem has its own rename; the hint names only those present.
    renames = ["give the non-digit ones a leading digit version"] if problems else []
    by_version: dict[str, list[Source]] = {}
    for item in scan.sources:
        by_version.setdefault(item.version, []).append(item)
    shared = [f"version {version} is shared by " + ", ".join(i.label for i in items)
              for version, items in by_version.items() if len(items) > 1]
    if shared:
        renames.append("give each migration sharing a version one of its own")
    pairs = list(zip(scan.sources, names, strict=True))
    misordered = [f"{before.label} comes before {after.label} upstream, but {name_after} "
                  f"would sort before {name_before}"
                  for (before, name_before), (after, name_after) in pairwise(pairs)
                  if order_key(name_before) >= order_key(name_after)]
    if misordered:
        renames.append("make the out-of-order versions sort as names (zero-padding "
                       "golang-migrate versions keeps their value)")
    problems += shared + misordered
    if problems:
        raise MigrationFileError(
            f"{len(problems)} upstream version problem(s) keep pgkeel from keeping the "
            "original versions (pgkeel, like dbmate, runs files in file-name order and "
            "records one row per version): " + "; ".join(problems),
            path=source,
            hint="rename those originals (" + "; ".join(renames) + "), or pass --start "
            "YYYYMMDDHHMMSS to give every migration a new version in the original order "
            "(a database that recorded the old versions then needs `pgkeel migrate "
            "baseline`)",
        )
    return names


# --- composing one pgkeel file -----------------------------------------------------

# A piece of the new file: its text, and the original file and line it starts at (None
# for text pgkeel wrote), so that an error in the result names the original.
_Piece = tuple[str, Path | None, int]


def _copy_whole(item: Source, header: str) -> list[_Piece]:
    return [(f"{header}-- Original: {item.up.name}\n", None, 1), (_read(item.up), item.up, 1)]


@dataclass(frozen=True, slots=True)
class _Down:
    """A down section to write: its ``text``, the options of its ``marker`` line, the
    header's ``label`` (lines after ``-- down:``), and what became of the original:
    ``noop`` for a file without statements, ``problem`` (the parser's message) for one
    kept as a comment."""

    text: str
    marker: str
    label: str
    noop: bool = False
    problem: str | None = None


def _convert_down(source: Path, item: Source, notes: list[FileNote]) -> _Down:
    if item.down is None:
        return _Down("", "", _MISSING_DOWN)
    name = item.down.relative_to(source)
    original = _read(item.down)
    try:
        text, transaction = _prepare(item.down, original, item.transaction, notes)
    except MigrationFileError as exc:
        # One broken down must not block applying the whole history: keep its text
        # as a comment, so the migration is irreversible until someone fixes it.
        problem = f"{exc.message} (line {exc.line})"
        label = (f"{name}\n--   {problem}\n--   Kept below as a comment, so this migration "
                 "is irreversible until the down is\n--   rewritten (the original tool would "
                 "have sent it to the server, and failed there).")
        return _Down("".join(f"-- {line}\n" for line in original.splitlines()), "", label,
                     problem=problem)
    if split_sql(text):
        return _Down(text, _option(transaction), str(name))
    # Someone wrote this file and put nothing to run in it, and the original tools ran
    # it as a successful no-op: noop:true says both. It stands alone on its marker (a
    # down that runs nothing has no transaction mode).
    label = (f"{name}\n--   It holds no statements, only comments (kept below) or nothing; "
             "the original tool\n--   ran it as a successful no-op, so it is written as "
             "noop:true: rolling back runs\n--   nothing here either.")
    return _Down(text, " noop:true", label, noop=True)


def _compose(source: Path, item: Source, header: str,
             notes: list[FileNote]) -> tuple[list[_Piece], _Down]:
    up_text, up_tx = _prepare(item.up, _read(item.up), item.transaction, notes)
    down = _convert_down(source, item, notes)
    up_label = item.up.relative_to(source)
    return [
        (f"{header}-- up:   {up_label}\n-- down: {down.label}\n", None, 1),
        (f"-- migrate:up{_option(up_tx)}\n", None, 1),
        (_terminated(up_text), item.up, 1),
        (f"\n-- migrate:down{down.marker}\n", None, 1),
        (_terminated(down.text), item.down, 1),
    ], down


def _prepare(path: Path, text: str, transaction: bool,
             notes: list[FileNote]) -> tuple[str, bool]:
    """Return the section text and whether it runs in a transaction.

    Raises ``MigrationFileError`` (naming ``path`` and its line) for SQL PostgreSQL's
    parser rejects and for transaction control other than one wrapping BEGIN/COMMIT.
    """
    try:
        statements = split_sql(text)
    except SplitError as exc:
        line = _line(text, exc.index)
        raise MigrationFileError(exc.message, path=path, line=line,
                                 hint=exc.hint or parse_hint(line)) from None
    text, statements = _unwrap(path, text, statements, notes)
    for statement in statements:
        if is_transaction_control(statement.node):
            raise MigrationFileError(
                "transaction control in a migration", path=path,
                line=_line(text, statement.start),
                hint="remove it: pgkeel runs each migration in its own transaction",
            )
    if transaction and any(non_transactional_reason(s.node) for s in statements):
        notes.append(FileNote(path, "holds statements PostgreSQL refuses in a transaction "
                                    "block: written with transaction:false"))
        transaction = False
    return text, transaction


def _unwrap(path: Path, text: str, statements: list[RawStatement],
            notes: list[FileNote]) -> tuple[str, list[RawStatement]]:
    """Comment out a BEGIN ... COMMIT pair wrapping the whole text, if there is one."""
    if len(statements) < 2:
        return text, statements
    first, last = statements[0].node, statements[-1].node
    if not (isinstance(first, ast.TransactionStmt) and first.kind in _TX_OPEN
            and isinstance(last, ast.TransactionStmt) and last.kind in _TX_CLOSE):
        return text, statements
    opening, closing = statements[0], statements[-1]
    # Block comments keep the layout, and the ';' left after each is an empty statement.
    text = (text[:opening.start] + f"/* {text[opening.start:opening.end]} */"
            + text[opening.end:closing.start] + f"/* {text[closing.start:closing.end]} */"
            + text[closing.end:])
    notes.append(FileNote(path, "BEGIN/COMMIT wrapper commented out: pgkeel runs each "
                                "migration in its own transaction"))
    return text, split_sql(text)


def _validated(path: Path, pieces: list[_Piece], original: Path) -> tuple[bytes, Migration]:
    """Join ``pieces`` and prove the result re-reads; map any error to the original.

    An error without a line of the original (a missing marker ...) names ``original``:
    ``path`` is never written when this fails.
    """
    data = "".join(text for text, _, _ in pieces).encode()
    try:
        migration = parse_migration(path, data)
    except MigrationFileError as exc:
        origin, line = _origin(pieces, exc.line)
        if origin is None:
            origin, line = original, None
        raise MigrationFileError(exc.message, path=origin, line=line,
                                 hint=exc.hint) from None
    return data, migration


def _origin(pieces: list[_Piece], line: int | None) -> tuple[Path | None, int | None]:
    if line is None:
        return None, None
    first = 1
    for text, origin, origin_line in pieces:
        count = text.count("\n")
        if line < first + count:
            return (origin, origin_line + line - first) if origin else (None, line)
        first += count
    return None, line


def _read(path: Path) -> str:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MigrationFileError("the file is not UTF-8 text", path=path,
                                 hint="convert it to UTF-8 first") from exc
    except OSError as exc:
        raise MigrationFileError(f"cannot read the file: {exc.strerror}", path=path,
                                 hint="check that it exists and is readable") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _terminated(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _option(transaction: bool) -> str:
    return "" if transaction else " transaction:false"


# --- writing -----------------------------------------------------------------------


def _check_free(dest: Path, paths: list[Path]) -> None:
    """Refuse before writing anything when a target name or version is taken in ``dest``."""
    if not dest.is_dir():
        return
    taken = {leading_version(entry.name): entry for entry in dest.glob("*.sql")
             if leading_version(entry.name)}
    for path in paths:
        other = taken.get(leading_version(path.name))
        if other is not None:
            raise MigrationFileError(
                f"{other.name} already exists in the destination with version "
                f"{leading_version(path.name)}", path=path,
                hint="import into an empty directory, or pass a start time after the "
                "existing migrations (pgkeel migrate import --start YYYYMMDDHHMMSS)",
            )


def _check_order(dest: Path, paths: list[Path], *, kept: bool) -> None:
    """Refuse when an imported file sorts before a migration already in ``dest``."""
    if not dest.is_dir():
        return
    existing = [entry.name for entry in dest.glob("*.sql") if leading_version(entry.name)]
    if not existing:
        return
    latest = max(existing, key=order_key)
    for path in paths:
        if order_key(path.name) < order_key(latest):
            after = _start_after(leading_version(latest))
            raise UsageError(
                f"the imported {path.name} would sort before {latest}, already in {dest}: "
                "the imported history would run after migrations that come later",
                path=dest,
                hint="import into an empty migrations directory"
                + (f", or pass --start {after} (any YYYYMMDDHHMMSS after the existing "
                   "migrations) so the imported versions begin after them"
                   + ("; --start replaces the original versions" if kept else "")
                   if after else ""),
            )


def _start_after(version: str) -> str | None:
    """The first ``--start`` whose files sort after a file of ``version``, if any.

    Files compare by name, and ``'0' < '_'``: ``20240119000000_x`` sorts before
    ``20240119_y``, so after an 8-digit date comes the next day.
    """
    for fmt, step in (("%Y%m%d%H%M%S", timedelta(seconds=1)), ("%Y%m%d", timedelta(days=1))):
        try:
            moment = datetime.strptime(version, fmt)
        except ValueError:
            continue
        if moment.strftime(fmt) == version:
            return (moment + step).strftime("%Y%m%d%H%M%S")
    return None


def _write_all(dest: Path, planned: list[tuple[Path, bytes]]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for path, data in planned:
            write_new(path, data)
            written.append(path)
    except OSError as exc:
        for path in written:  # all or nothing: a half-imported history is worse than none
            path.unlink()
        raise PgkeelError(f"cannot write the imported migrations: {exc}", path=dest,
                          hint="nothing was kept; fix the problem and import again") from exc
