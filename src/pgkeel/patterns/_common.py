"""What every pattern generator shares: finding tables, and the migration's shape.

Each generated migration runs ``transaction:false``: every statement commits on its
own. A lock is held until its transaction ends (PostgreSQL docs, "Explicit Locking",
13.3.1), so one transaction holding ACCESS EXCLUSIVE on every table would block them
all until the last statement (lint rule ``statements-after-access-exclusive``), and
the runner owns transactions (no ``BEGIN`` in a file). Statements are written to be
safe to run again (``IF [NOT] EXISTS``, ``OR REPLACE``), so a section that stopped
part-way can be resumed (``migrate up --resume``). ``lock_timeout`` makes a statement
queued behind a long transaction fail instead of blocking every later query on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.errors import UsageError
from pgkeel.migrations._write import MigrationDraft

__all__ = ["LOCK_TIMEOUT", "Generated", "comment", "draft", "find_table"]

#: The ``lock_timeout`` every generated section sets first.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True, slots=True)
class Generated:
    """A generator's result: the migration ``draft`` and ``notes`` (one sentence each)
    the reviewer must act on before applying it."""

    draft: MigrationDraft
    notes: tuple[str, ...] = ()


def find_table(snapshot: Snapshot, name: str) -> Table:
    """The table ``name`` (``schema.table``, or ``table`` in ``public``) of ``snapshot``.

    Raises ``UsageError`` when no ordinary or partitioned table has that name.
    """
    schema, _, table = name.rpartition(".")
    schema = schema or "public"
    for candidate in snapshot.tables:
        if (candidate.schema, candidate.name) == (schema, table):
            return candidate
    raise UsageError(f"no table {schema}.{table} in database {snapshot.database}",
                     hint="name an existing table as schema.table (pgkeel inspect lists them)")


def _section(groups: Sequence[Sequence[str]]) -> str:
    body = [f"SET lock_timeout = '{LOCK_TIMEOUT}';"]
    for group in groups:
        body += group
    return "\n".join(body)


def draft(name: str, up: Sequence[Sequence[str]], down: Sequence[Sequence[str]],
          header: str) -> MigrationDraft:
    """A ``transaction:false`` draft whose sections run ``up`` and ``down``, each a list
    of statement groups (one per object, in order)."""
    return MigrationDraft(name=name, up=_section(up), down=_section(down), header=header,
                          up_transaction=False, down_transaction=False)


def comment(lines: Sequence[str]) -> str:
    """``lines`` as SQL line comments (the file's header)."""
    return "\n".join(f"-- {line}".rstrip() for line in lines)
