"""Compare a restored database with the facts its backup's manifest recorded.

What must hold after a restore (the checks ``verify --level restore`` and ``restore``
run, after the research note's tiered verify and pg_verifybackup's advice that only a
test restore proves a backup):

- ``rows``: each table holds exactly the rows the manifest counted; where the manifest
  holds only ``pg_class.reltuples`` (a table over the exact-count size), the restored
  table's exact count is within 20 % (and 1,000 rows) of that estimate, which is as
  close as PostgreSQL's own statistics promise (PostgreSQL docs, "Statistics Used by
  the Planner": reltuples is an estimate updated by VACUUM, ANALYZE, CREATE INDEX);
- ``sequence``: each sequence is back at its recorded value (or, when it was behind
  its column at dump time, at that column's max after restore's resync) and at least
  the max of every column it feeds, so the next insert cannot collide (a sequence
  that was behind in the source and is restored unchanged passes, saying so);
- ``constraints``: as many of each type, and every constraint valid at dump time is
  valid now (``NOT VALID`` ones stay so, pg_dump keeps the flag);
- ``extension``: every extension present (a version difference is noted, not failed:
  the target installs its default version unless told otherwise);
- ``rls``: row-level security enabled/forced flags and policy counts per table equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.backup.facts import column_max, read_facts

__all__ = ["Comparison", "Difference", "compare"]


@dataclass(frozen=True, slots=True)
class Difference:
    """One check: ``kind`` (rows, sequence, constraints, extension, rls), ``object``,
    ``ok`` and a human ``detail``."""

    kind: str
    object: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``kind``, ``object``, ``ok``, ``detail``."""
        return {"kind": self.kind, "object": self.object, "ok": self.ok,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Comparison:
    """Every check run; ``ok`` when none failed."""

    checks: tuple[Difference, ...]

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Difference, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.ok)


def _count(conn: psycopg.Connection[Any], schema: str, name: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(
        sql.Identifier(schema), sql.Identifier(name))).fetchone()
    return int(row[0]) if row else 0


def _rows(want: dict[str, Any], conn: psycopg.Connection[Any], have: dict[str, Any] | None,
          schema_only: bool) -> Difference:
    label = f"{want['schema']}.{want['name']}"
    if have is None:
        return Difference("rows", label, False, "table missing after restore")
    if want["kind"] != "r":
        return Difference("rows", label, True, "partitioned: rows live in its partitions")
    actual = have["rows"] if have["rows"] is not None else _count(conn, want["schema"],
                                                                   want["name"])
    if schema_only:
        return Difference("rows", label, actual == 0, f"{actual} rows (schema-only dump)")
    if want["rows"] is not None:
        return Difference("rows", label, actual == want["rows"],
                          f"{actual} rows, manifest counted {want['rows']}")
    estimate = want["estimate"]
    if estimate is None or estimate < 0:
        return Difference("rows", label, True, f"{actual} rows (never analysed at dump "
                          "time: no estimate to compare)")
    close = abs(actual - estimate) <= max(0.2 * estimate, 1000)
    return Difference("rows", label, close,
                      f"{actual} rows, manifest estimated {estimate} (reltuples)")


def _sequence(want: dict[str, Any], conn: psycopg.Connection[Any],
              have: dict[str, Any] | None, schema_only: bool) -> Difference:
    label = f"{want['schema']}.{want['name']}"
    if have is None:
        return Difference("sequence", label, False, "sequence missing after restore")
    top = column_max(conn, have["columns"])
    value = have["last_value"]
    if top is not None and (value is None or value < top):
        # Behind as the source was: the backup is faithful, and restore's resync moves
        # it up; anything else behind its column is a restore that lost its value.
        faithful = not schema_only and value == want["last_value"]
        return Difference("sequence", label, faithful,
                          f"at {value}, below max {top} of its columns"
                          + (" as in the source (restore moves it up)" if faithful
                             else ": the next insert collides"))
    if not schema_only and value != want["last_value"]:
        # A sequence behind its column's max at dump time was moved up by the restore's
        # resync: that is the one difference expected.
        resynced = top is not None and value == top and (want["last_value"] or 0) < top
        return Difference("sequence", label, resynced,
                          f"at {value}, manifest recorded {want['last_value']}"
                          + (" (moved up to its columns' max)" if resynced else ""))
    return Difference("sequence", label, True, f"at {value}, max of its columns {top}")


def compare(conn: psycopg.Connection[Any], facts: dict[str, Any], *,
            schema_only: bool = False, tables: set[tuple[str, str]] | None = None
            ) -> Comparison:
    """Check the database ``conn`` is connected to against the manifest's ``facts``.

    ``schema_only`` expects empty tables and does not compare sequence values;
    ``tables`` (``(schema, name)`` pairs) limits the comparison to those tables and
    their sequences, and skips the database-wide constraint and extension checks.
    Every table is counted exactly. Returns a :class:`Comparison`; raises
    ``psycopg.Error`` when a query fails.
    """
    now = read_facts(conn, exact_max_pages=2**31 - 1)
    have_tables = {(t["schema"], t["name"]): t for t in now["tables"]}
    have_seqs = {(s["schema"], s["name"]): s for s in now["sequences"]}
    checks: list[Difference] = []
    for want in facts["tables"]:
        key = (want["schema"], want["name"])
        if tables is not None and key not in tables:
            continue
        have = have_tables.get(key)
        checks.append(_rows(want, conn, have, schema_only))
        if have is not None:
            flags = (have["rls"], have["rls_forced"], have["policies"])
            recorded = (want["rls"], want["rls_forced"], want["policies"])
            checks.append(Difference(
                "rls", f"{key[0]}.{key[1]}", flags == recorded,
                f"rls={flags[0]} forced={flags[1]} policies={flags[2]}"
                + ("" if flags == recorded else f", manifest rls={recorded[0]} "
                   f"forced={recorded[1]} policies={recorded[2]}")))
    for want in facts["sequences"]:
        if tables is not None and not any((c["schema"], c["table"]) in tables
                                          for c in want["columns"]):
            continue
        checks.append(_sequence(want, conn, have_seqs.get((want["schema"], want["name"])),
                                schema_only))
    if tables is None:
        checks.extend(_constraints(facts["constraints"], now["constraints"]))
        for name, version in facts["extensions"].items():
            got = now["extensions"].get(name)
            detail = "missing" if got is None else f"version {got}" + (
                "" if got == version else f" (manifest {version})")
            checks.append(Difference("extension", name, got is not None, detail))
    return Comparison(tuple(checks))


_KINDS = {"c": "check", "f": "foreign key", "p": "primary key", "u": "unique",
          "t": "trigger", "x": "exclusion", "n": "not null"}


def _constraints(want: dict[str, Any], have: dict[str, Any]) -> list[Difference]:
    out = []
    for kind in sorted(set(want) | set(have)):
        w = want.get(kind, {"count": 0, "not_valid": []})
        h = have.get(kind, {"count": 0, "not_valid": []})
        ok = w["count"] == h["count"] and w["not_valid"] == h["not_valid"]
        detail = f"{h['count']} ({len(h['not_valid'])} not valid)"
        if not ok:
            detail += f", manifest {w['count']} ({len(w['not_valid'])} not valid)"
            lost = sorted(set(h["not_valid"]) - set(w["not_valid"]))
            if lost:
                detail += f"; no longer valid: {', '.join(lost)}"
        out.append(Difference("constraints", _KINDS.get(kind, kind), ok, detail))
    return out
