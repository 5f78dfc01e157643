"""Partial unique indexes: only the rows matching the index's predicate must be unique.

PostgreSQL docs, "Partial Indexes" (11.8): a unique partial index "enforces
uniqueness only among the rows that satisfy the index predicate". Treating it as a
full unique index (Snaplet, supabase-community/seed#191) allows too few rows, e.g. one
member per organisation where only one *owner* per organisation is meant; ignoring it
makes the load fail. The predicate is evaluated by the server on the candidate rows
(loaded into a temporary table of the same columns), so any predicate PostgreSQL
accepts is understood. ``NULLS NOT DISTINCT`` (PostgreSQL 15+) is honoured: NULLs
then clash like any value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.catalog.model import Domain, Index, Table

__all__ = ["PartialKeys"]

_TEMP = sql.Identifier("pgkeel_fill_partial")


class PartialKeys:
    """The partial unique indexes of ``table`` whose columns are all in ``columns``
    (the columns the generator writes), with the key values already taken by existing
    rows that match each predicate."""

    def __init__(self, conn: psycopg.Connection[Any], table: Table, columns: list[str],
                 domains: dict[str, Domain]) -> None:
        self.conn, self.table, self.domains = conn, table, domains
        self.indexes: list[Index] = [
            i for i in table.indexes
            if i.unique and i.predicate and i.constraint is None
            and None not in i.columns and all(c in columns for c in i.columns)]
        self.seen: dict[str, set[tuple[Any, ...]]] = {}
        relation = sql.Identifier(table.schema, table.name)
        for index in self.indexes:
            query = sql.SQL("SELECT {} FROM {} WHERE {}").format(
                sql.SQL(", ").join(map(sql.Identifier, index.columns)), relation,
                sql.SQL(index.predicate))  # type: ignore[arg-type]
            self.seen[index.name] = {tuple(r) for r in conn.execute(query)}

    def keep(self, rows: dict[int, dict[str, Any]],
             redraw: Callable[[int], dict[str, Any] | None] | None,
             rounds: int = 10) -> tuple[dict[int, dict[str, Any]], list[str]]:
        """Make ``rows`` (number -> values) unique under every partial index.

        A row matching a predicate whose key repeats an earlier matching row (or an
        existing one) is drawn again with ``redraw(number)`` up to ``rounds`` times,
        then left out (also at once when ``redraw`` is None). Call it on the whole
        batch of a table (keys are compared with the existing rows and within ``rows``).
        Returns the rows kept and one sentence per index that made rows be left out,
        naming it.
        """
        if not self.indexes or not rows:
            return rows, []
        clashing: dict[str, set[int]] = {}
        for _ in range(rounds if redraw is not None else 1):
            clashing = self._clashing(rows)
            if not clashing or redraw is None:
                break
            for n in set().union(*clashing.values()):
                row = redraw(n)
                if row is not None:
                    rows[n] = row
        else:
            clashing = self._clashing(rows)
        problems = []
        for name, bad in clashing.items():
            problems.append(f"partial unique index {name} on {self.table.qualified}: "
                            f"{len(bad)} generated rows repeated a key among the rows its "
                            "predicate covers and were left out")
            for n in bad:
                rows.pop(n, None)
        return rows, problems

    def _clashing(self, rows: dict[int, dict[str, Any]]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = {}
        self._load(rows)
        for index in self.indexes:
            seen = set(self.seen[index.name])
            bad = set()
            for n in sorted(self._matching(index, rows)):
                key = tuple(rows[n].get(c) for c in index.columns)
                if not index.nulls_not_distinct and None in key:
                    continue
                if key in seen:
                    bad.add(n)
                else:
                    seen.add(key)
            if bad:
                found[index.name] = bad
        self.conn.execute(sql.SQL("DROP TABLE {}").format(_TEMP))
        return found

    def _load(self, rows: dict[int, dict[str, Any]]) -> None:
        columns = [c for c in self.table.columns if c.generated is None]
        defs = [sql.SQL("pgkeel_n integer")] + [
            sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(
                self.domains[c.name].base_type if c.name in self.domains else c.type))
            for c in columns]
        self.conn.execute(sql.SQL("CREATE TEMP TABLE {} ({})").format(
            _TEMP, sql.SQL(", ").join(defs)))
        names = sorted({k for r in rows.values() for k in r})
        with self.conn.cursor().copy(sql.SQL("COPY {} (pgkeel_n, {}) FROM STDIN").format(
                _TEMP, sql.SQL(", ").join(map(sql.Identifier, names)))) as copy:
            for n, row in rows.items():
                copy.write_row([n, *(row.get(c) for c in names)])
        self._matches = {
            index.name: {r[0] for r in self.conn.execute(
                sql.SQL("SELECT pgkeel_n FROM {} WHERE {}").format(
                    _TEMP, sql.SQL(index.predicate)))}  # type: ignore[arg-type]
            for index in self.indexes}

    def _matching(self, index: Index, rows: dict[int, dict[str, Any]]) -> set[int]:
        return {n for n in self._matches.get(index.name, set()) if n in rows}
