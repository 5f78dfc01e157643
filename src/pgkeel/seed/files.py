r"""Seed files: the ``seeds/`` folder, its naming, and loading one file.

A seed file is ``NN_name.ext`` (``NN`` digits; files run in name order, as Knex runs
seeds alphabetically, but pgkeel truncates children before parents itself):

- ``.sql``: statements, split by PostgreSQL's parser (:func:`pgkeel.migrations._split.
  split_sql`), including ``COPY ... FROM stdin`` blocks with inline rows ended by a
  ``\.`` line, which psql accepts (``psql/copy.c``).
- ``.csv``: rows for the table ``name`` (``schema.table`` allowed), the first line the
  column names; loaded with ``COPY ... (FORMAT csv, HEADER true)``, so an unquoted
  empty field is NULL (PostgreSQL docs, ``COPY``, "CSV Format").
- ``.json``: an array of objects, each a row of the table ``name``; keys are columns,
  missing keys take the column default (``json_populate_record``).
- ``.py``: a module defining ``seed(conn)``, called with the open connection inside
  the run's transaction. An optional ``TABLES = ("schema.table", ...)`` tells
  ``--reset`` which tables it fills.

Every loader raises :class:`SeedFileError` naming the file, the line and, for rows,
the row number when the server or the file refuses something.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from pglast import ast, parse_sql
from psycopg import sql

from pgkeel.errors import DatabaseError, UsageError
from pgkeel.migrations._split import SplitError, split_sql

__all__ = ["KINDS", "SeedFile", "SeedFileError", "discover", "load", "new_seed",
           "tables_named"]

KINDS = ("sql", "csv", "json", "py")
_NAME = re.compile(r"^(\d+)_([A-Za-z0-9_.]+)\.(sql|csv|json|py)$")
_COPY_LINE = re.compile(r"\bline (\d+)")  # COPY's error context: "COPY t, line 3"
_TEMPLATES = {
    "sql": "-- Rows for development. Runs in one transaction with the other seed files.\n"
           "-- INSERT INTO users (email) VALUES ('ada@example.com');\n",
    "csv": "",
    "json": "[]\n",
    "py": '"""Rows for development: seed(conn) runs inside the seed transaction."""\n\n'
          "TABLES: tuple[str, ...] = ()  # the tables this file fills, for --reset\n\n\n"
          "def seed(conn):\n    pass\n",
}


class SeedFileError(DatabaseError):
    """A seed file failed: ``path`` and ``line`` say where, ``row`` the data row
    (1-based, CSV/JSON/COPY rows) when one was being loaded."""

    def __init__(self, message: str, *, path: Path, line: int | None = None,
                 row: int | None = None, sqlstate: str | None = None,
                 hint: str | None = None) -> None:
        where = f" (row {row})" if row else ""
        super().__init__(message + where, path=path, line=line, sqlstate=sqlstate,
                         hint=hint or "fix the file and run again; nothing was kept")
        self.row = row


@dataclass(frozen=True)
class SeedFile:
    """One file of the seeds folder: ``name`` its file name (``01_users.csv``),
    ``kind`` one of :data:`KINDS`, ``target`` the table named by a CSV/JSON file."""

    path: Path
    name: str
    kind: str

    @property
    def target(self) -> str:
        """``NN_target.ext``: the table a CSV/JSON file fills."""
        match = _NAME.match(self.name)
        return match.group(2) if match else ""

    def checksum(self) -> str:
        """SHA-256 of the file's bytes, hex: what ``seed_runs`` records."""
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(directory: Path) -> list[SeedFile]:
    """The seed files of ``directory`` in name order.

    Files that are not ``NN_name.{sql,csv,json,py}`` are ignored unless they look
    like a seed (a known extension): those raise ``UsageError`` naming the file, so a
    misnamed seed is not skipped silently. A missing directory raises ``UsageError``.
    """
    if not directory.is_dir():
        raise UsageError(f"no seeds folder at {directory}",
                         hint="create one with `pgkeel seed new NAME`")
    found = []
    for path in sorted(directory.iterdir()):
        suffix = path.suffix.lstrip(".")
        if not path.is_file() or suffix not in KINDS or path.name.startswith(("_", ".")):
            continue
        if not _NAME.match(path.name):
            raise UsageError(f"seed file {path.name} is not named NN_name.{suffix}",
                             path=path, hint="rename it, e.g. 01_users." + suffix)
        found.append(SeedFile(path, path.name, suffix))
    return found


def new_seed(directory: Path, name: str, kind: str = "sql") -> Path:
    """Create ``directory/NN_name.kind`` numbered after the last file (10, 20, ...).

    Returns the new path. Raises ``UsageError`` for a name that is not letters,
    digits, ``_`` and ``.`` or a kind outside :data:`KINDS`.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown seed kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    if not re.fullmatch(r"[A-Za-z0-9_.]+", name):
        raise UsageError(f"seed name {name!r} may hold only letters, digits, _ and .",
                         hint="e.g. `pgkeel seed new users`")
    directory.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    path = directory / f"{(max(numbers, default=0) // 10 + 1) * 10:02d}_{name}.{kind}"
    path.write_text(_TEMPLATES[kind], encoding="utf-8")
    return path


def tables_named(seed: SeedFile) -> list[str]:
    """The tables ``seed`` writes, as written in it (``schema.table`` or ``table``).

    CSV/JSON: the file's table. SQL: the targets of its ``INSERT`` and ``COPY ... FROM``
    statements (read from the parse tree). Python: its ``TABLES``, read without running
    ``seed``. Raises :class:`SeedFileError` when the SQL does not parse.
    """
    if seed.kind in ("csv", "json"):
        return [seed.target]
    if seed.kind == "py":
        return list(getattr(_module(seed), "TABLES", ()))
    text = seed.path.read_text(encoding="utf-8")
    names = []
    for statement in _split(seed, text):
        node = parse_sql(text[statement.start:statement.end])[0].stmt
        writes = isinstance(node, ast.InsertStmt) or (
            isinstance(node, ast.CopyStmt) and node.is_from)
        relation = node.relation if writes else None
        if relation is not None:
            names.append(".".join(p for p in (relation.schemaname, relation.relname) if p))
    return names


def load(conn: psycopg.Connection[Any], seed: SeedFile) -> int:
    """Run one seed file on ``conn`` (inside the caller's transaction).

    Returns the rows it loaded (statements' row counts for SQL; -1 for Python, which
    reports none). Raises :class:`SeedFileError` naming file, line and row.
    """
    if seed.kind == "sql":
        return _load_sql(conn, seed)
    if seed.kind == "csv":
        return _load_csv(conn, seed)
    if seed.kind == "json":
        return _load_json(conn, seed)
    return _load_py(conn, seed)


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _split(seed: SeedFile, text: str) -> list[Any]:
    try:
        return split_sql(text)
    except SplitError as exc:
        raise SeedFileError(exc.message, path=seed.path, line=_line(text, exc.index),
                            hint=exc.hint) from None


def _db_error(seed: SeedFile, exc: psycopg.Error, line: int, first_row_line: int | None,
              ) -> SeedFileError:
    """The server's error as a :class:`SeedFileError`; with COPY, the row it names."""
    row = None
    if first_row_line is not None:
        match = _COPY_LINE.search(exc.diag.context or "")
        if match:
            row = int(match.group(1))
            line = first_row_line + row - 1
    message = (exc.diag.message_primary or str(exc)).strip()
    return SeedFileError(message, path=seed.path, line=line, row=row,
                         sqlstate=exc.sqlstate)


def _load_sql(conn: psycopg.Connection[Any], seed: SeedFile) -> int:
    text = seed.path.read_text(encoding="utf-8")
    loaded = 0
    for statement in _split(seed, text):
        query = text[statement.start:statement.end]
        line = _line(text, statement.start)
        if statement.kind == "TransactionStmt":
            raise SeedFileError("BEGIN, COMMIT, ROLLBACK and savepoints would break the "
                                "seed run's one transaction", path=seed.path, line=line,
                                hint="remove it: every seed file runs in one transaction")
        data_line = _line(text, statement.data[0]) if statement.data else None
        try:
            with conn.cursor() as cur:
                if statement.data:
                    with cur.copy(query) as copy:
                        copy.write(text[statement.data[0]:statement.data[1]])
                else:
                    cur.execute(query)
                loaded += max(cur.rowcount, 0)
        except psycopg.Error as exc:
            raise _db_error(seed, exc, line, data_line) from None
    return loaded


def _relation(name: str) -> sql.Composable:
    return sql.SQL(".").join(sql.Identifier(p) for p in name.split("."))


def _load_csv(conn: psycopg.Connection[Any], seed: SeedFile) -> int:
    data = seed.path.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(data)), None)
    if not header:
        return 0
    query = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true)").format(
        _relation(seed.target), sql.SQL(", ").join(sql.Identifier(c) for c in header))
    try:
        with conn.cursor() as cur:
            with cur.copy(query) as copy:
                copy.write(data)
            return cur.rowcount
    except psycopg.Error as exc:
        # COPY counts the header as line 1, as the file does.
        raise _db_error(seed, exc, 1, 1) from None


def _json_rows(seed: SeedFile, text: str) -> list[tuple[int, dict[str, Any]]]:
    """``(line, object)`` per element of the top-level array."""
    decoder = json.JSONDecoder()
    try:
        start = text.index("[") + 1
    except ValueError:
        raise SeedFileError("a JSON seed is an array of objects", path=seed.path,
                            line=1) from None
    rows: list[tuple[int, dict[str, Any]]] = []
    index = start
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return rows
        try:
            value, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise SeedFileError(f"not valid JSON: {exc.msg}", path=seed.path,
                                line=exc.lineno, row=len(rows) + 1) from None
        if not isinstance(value, dict):
            raise SeedFileError("each element must be an object of column: value",
                                path=seed.path, line=_line(text, index), row=len(rows) + 1)
        rows.append((_line(text, index), value))
        index = end


def _load_json(conn: psycopg.Connection[Any], seed: SeedFile) -> int:
    text = seed.path.read_text(encoding="utf-8")
    table = _relation(seed.target)
    rows = _json_rows(seed, text)
    for number, (line, row) in enumerate(rows, start=1):
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in row)
        # The table's row type converts each value as the column's input function does.
        query = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM "
                        "json_populate_record(NULL::{t}, %s::json)").format(t=table, c=columns)
        try:
            conn.execute(query, (json.dumps(row),))
        except psycopg.Error as exc:
            raise SeedFileError((exc.diag.message_primary or str(exc)).strip(),
                                path=seed.path, line=line, row=number,
                                sqlstate=exc.sqlstate) from None
    return len(rows)


def _module(seed: SeedFile) -> Any:
    spec = importlib.util.spec_from_file_location(f"pgkeel_seed_{seed.path.stem}", seed.path)
    if spec is None or spec.loader is None:
        raise SeedFileError("cannot be imported", path=seed.path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise SeedFileError(f"{type(exc).__name__}: {exc}", path=seed.path,
                            line=_py_line(seed, exc)) from None
    return module


def _py_line(seed: SeedFile, exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve() == seed.path.resolve()]
    return frames[-1].lineno if frames else None


def _load_py(conn: psycopg.Connection[Any], seed: SeedFile) -> int:
    function = getattr(_module(seed), "seed", None)
    if not callable(function):
        raise SeedFileError("defines no seed(conn) function", path=seed.path,
                            hint="add `def seed(conn): ...`")
    try:
        function(conn)
    except psycopg.Error as exc:
        raise SeedFileError((exc.diag.message_primary or str(exc)).strip(), path=seed.path,
                            line=_py_line(seed, exc), sqlstate=exc.sqlstate) from None
    except Exception as exc:
        raise SeedFileError(f"{type(exc).__name__}: {exc}", path=seed.path,
                            line=_py_line(seed, exc)) from None
    return -1
