"""Generated rows that satisfy the schema: :func:`fill`.

The generator reads the catalog (:func:`pgkeel.catalog.snapshot`), orders tables by
their foreign keys (:mod:`pgkeel.seed._order`), draws each row's values from the
column's type, length, enum or domain and the CHECK rules it understands
(:mod:`pgkeel.seed._values`, :mod:`pgkeel.seed._checks`), keeps primary keys, unique
constraints and unique indexes unique, takes foreign-key values from the rows the
parent already holds, tests every CHECK on the server before loading, and loads with
``COPY`` (:mod:`pgkeel.seed._load`). Identity, serial and generated columns are left
to the server. One ``random.Random`` and one Faker per table, both seeded from
``seed`` and the table's name, make the data a function of the seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from random import Random
from typing import Any

import psycopg
from psycopg import sql

from pgkeel.catalog import snapshot
from pgkeel.catalog.model import Column, Domain, ForeignKey, Snapshot, Table
from pgkeel.errors import UsageError
from pgkeel.seed import _load
from pgkeel.seed._checks import ColumnOrder, Rule, parse_check
from pgkeel.seed._order import Edge, load_order
from pgkeel.seed._values import ColumnSpec, column_spec, supported, value
from pgkeel.seed.partial import PartialKeys
from pgkeel.seed.realism import natural_orders

__all__ = ["FillReport", "TableFill", "fill"]

_ATTEMPTS = 30  # draws per row before a unique key is declared exhausted
_ROUNDS = 10  # server CHECK rounds before failing rows are dropped
_HISTORY_SCHEMA = "pgkeel"  # the migration history (pgkeel.migrations.history_schema)


@dataclass(frozen=True)
class TableFill:
    """``rows`` rows were loaded into ``table`` (``schema.name``)."""

    table: str
    rows: int


@dataclass(frozen=True)
class FillReport:
    """What :func:`fill` did.

    ``tables`` in load order; ``deferred`` the foreign keys loaded empty (or with a
    placeholder) and set once their parent had rows, as ``"fk on table"``; ``problems``
    one sentence per thing the generator could not satisfy (a CHECK it could not meet,
    a unique key out of values, a type it cannot generate), naming the constraint.
    """

    tables: tuple[TableFill, ...]
    deferred: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def rows(self, table: str) -> int:
        """Rows loaded into ``table`` (``schema.name``; 0 when not filled)."""
        return next((t.rows for t in self.tables if t.table == table), 0)


def fill(conn: psycopg.Connection[Any], *, rows: int = 3, seed: int = 0,
         tables: Sequence[str] | None = None,
         counts: Mapping[str, int] | None = None,
         providers: Mapping[str, str] | None = None,
         progress: Callable[[str, int], None] | None = None) -> FillReport:
    """Load ``rows`` generated rows into each table of the database ``conn`` reads.

    pgkeel's own migration history (schema ``pgkeel``) is never filled. ``tables``
    limits the run to those tables (``schema.name``, ``public.`` assumed),
    plus the tables their foreign keys need rows in; a partitioned table stands for
    its leaf partitions, each of which gets ``rows`` rows inside its bounds. Existing
    rows stay: new keys avoid them and foreign keys may point at them. Everything runs
    in one transaction (a savepoint inside the caller's) and ends with ``ANALYZE``.
    ``counts`` gives some tables (``schema.name``, or a partitioned table for each of
    its partitions) their own number of rows instead of ``rows``. ``providers`` maps
    ``table.column`` or ``schema.table.column`` to the Faker provider its text values
    come from (the ``[seed] columns`` setting), over the one the column's name suggests.
    ``progress(table, rows)`` is called after each table is loaded.

    Returns a :class:`FillReport`. Raises :class:`pgkeel.seed.CycleError` for a cycle of
    NOT NULL non-deferrable foreign keys, ``UsageError`` for an unknown table name,
    and ``psycopg.Error`` when the server rejects the load.
    """
    from faker import Faker  # imported here: Faker's import is slow, the CLI's start is not

    snap = snapshot(conn)
    leaves = _leaves(snap)
    chosen = _selection(snap, leaves, tables)
    wanted = {leaf: n for name, n in (counts or {}).items()
              for leaf in leaves.get(_qualified(name), (_qualified(name),))}
    order = load_order(chosen, leaves)
    faker = Faker("en_US")
    done: list[TableFill] = []
    problems: list[str] = []
    with conn.transaction():
        if any(e.fk.deferrable and not e.nullable for e in order.deferred):
            conn.execute("SET CONSTRAINTS ALL DEFERRED")
        run_xid = _load.own_xid(conn)
        xids: dict[str, str] = {}
        for name in order.tables:
            table = chosen[name]
            tag = zlib.crc32(f"{seed}:{name}".encode())
            faker.seed_instance(tag)
            mine = [e for e in order.deferred if e.child == name]
            builder = _Builder(conn, snap, table, Random(tag), faker, mine, leaves,
                               providers or {})
            try:
                with conn.transaction():  # a table the server refuses leaves the others
                    loaded = builder.run(wanted.get(name, rows))
                    xids[name] = _load.own_xid(conn)
            except psycopg.Error as exc:
                loaded = 0
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                builder.problems.append(f"{name}: the server refused the generated rows: "
                                        f"{first}")
            done.append(TableFill(name, loaded))
            if progress is not None:
                progress(name, loaded)
            problems += builder.problems
        for edge in order.deferred:
            if edge.child in xids:
                _load.link_deferred(conn, edge, (xids[edge.child], run_xid))
        if any(e.fk.deferrable and not e.nullable for e in order.deferred):
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name in order.tables:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*name.split(".", 1))))
    deferred = tuple(f"{e.fk.name} on {e.child}" for e in order.deferred)
    return FillReport(tuple(done), deferred, tuple(problems))


def _leaves(snap: Snapshot) -> dict[str, tuple[str, ...]]:
    """Map each partitioned table to its leaf partitions (through sub-partitions)."""
    children: dict[str, list[str]] = {}
    for t in snap.tables:
        if t.partition_of:
            children.setdefault(t.partition_of, []).append(t.qualified)

    def walk(name: str) -> list[str]:
        kids = children.get(name)
        return [leaf for k in kids for leaf in walk(k)] if kids else [name]

    return {t.qualified: tuple(walk(t.qualified)) for t in snap.tables if t.kind == "partitioned"}


def _selection(snap: Snapshot, leaves: dict[str, tuple[str, ...]],
               names: Sequence[str] | None) -> dict[str, Table]:
    by_name = {t.qualified: t for t in snap.tables if t.schema != _HISTORY_SCHEMA}
    if names is None:
        return {n: t for n, t in by_name.items() if t.kind == "table"}
    todo = []
    for raw in names:
        name = _qualified(raw)
        if name not in by_name:
            raise UsageError(f"table {name} does not exist",
                             hint="name a table of the database as schema.table")
        todo += leaves.get(name, (name,))
    chosen: dict[str, Table] = {}
    while todo:
        name = todo.pop()
        if name in chosen:
            continue
        chosen[name] = by_name[name]
        for fk in by_name[name].foreign_keys:
            todo += [p for p in leaves.get(fk.ref_qualified, (fk.ref_qualified,)) if p in by_name]
    return chosen


def _qualified(name: str) -> str:
    return name if "." in name else f"public.{name}"


@dataclass
class _Key:
    columns: tuple[str, ...]
    name: str
    nulls_distinct: bool = True
    seen: set[tuple[Any, ...]] = field(default_factory=set)


class _Builder:
    """Rows for one table: the columns it writes, the keys it keeps unique, the
    parents its foreign keys draw from."""

    def __init__(self, conn: psycopg.Connection[Any], snap: Snapshot, table: Table, rng: Random,
                 faker: Any, deferred: list[Edge], leaves: dict[str, tuple[str, ...]],
                 providers: Mapping[str, str]) -> None:
        self.conn, self.table, self.rng, self.faker = conn, table, rng, faker
        self.problems: list[str] = []
        self.specs: dict[str, ColumnSpec] = {}
        self.domains: dict[str, Domain] = {}
        self.orders: list[ColumnOrder] = []
        rules: dict[str, Rule] = {}
        for check in table.check_constraints:
            parse_check(check.expression, rules, self.orders)
        self.orders += natural_orders(c.name for c in table.columns)
        for column in table.columns:
            if _server_fills(column):
                continue
            spec = column_spec(column, snap.domains, snap.enums)
            spec.provider = providers.get(f"{table.schema}.{table.name}.{column.name}",
                                          providers.get(f"{table.name}.{column.name}",
                                                        spec.provider))
            if spec.domain is not None:
                self.domains[column.name] = spec.domain
            if column.name in rules:
                _merge(spec.rule, rules[column.name])
            if supported(spec):
                self.specs[column.name] = spec
            elif not column.nullable and column.default is None:
                self.problems.append(f"column {table.qualified}.{column.name}: "
                                     f"pgkeel cannot generate values of type {column.type}")
        bound = _load.partition_rule(conn, table)
        if bound is not None and bound[0] in self.specs:
            _merge(self.specs[bound[0]].rule, bound[1])
        self.deferred = {e.fk.name: e for e in deferred}
        self.fks: list[tuple[ForeignKey, list[tuple[Any, ...]]]] = []
        for fk in table.foreign_keys:
            if fk.enforced and fk.name not in self.deferred and fk.ref_qualified != table.qualified:
                parents = leaves.get(fk.ref_qualified, (fk.ref_qualified,))
                keys = [k for p in parents for k in _load.parent_keys(conn, p, fk.ref_columns)]
                self.fks.append((fk, sorted(set(keys), key=repr)))
        self.keys = self._keys()

    def _keys(self) -> list[_Key]:
        table = self.table
        keys = [_Key(u.columns, u.name, not u.nulls_not_distinct)
                for u in (table.primary_key, *table.unique_constraints) if u is not None]
        keys += [_Key(tuple(i.columns), i.name, not i.nulls_not_distinct)  # type: ignore[arg-type]
                 for i in table.indexes
                 if i.unique and i.constraint is None and None not in i.columns
                 and not i.predicate]
        # A key holding a column the server fills (serial, identity) is unique by itself;
        # partial unique indexes are kept by pgkeel.seed.partial, over matching rows only.
        keys = [k for k in keys if all(c in self.specs for c in k.columns)]
        for k in keys:
            k.seen = _load.existing(self.conn, table, k.columns)
        return keys

    def run(self, count: int) -> int:
        """Generate, test and ``COPY`` up to ``count`` rows; return how many were loaded."""
        if any(p.startswith(f"column {self.table.qualified}.") for p in self.problems):
            return 0
        for fk, parents in self.fks:
            if not parents and not all(self.table.column(c).nullable for c in fk.columns):  # type: ignore[union-attr]
                self.problems.append(f"foreign key {fk.name} on {self.table.qualified}: "
                                     f"{fk.ref_qualified} has no rows to point at")
                return 0
        rows: dict[int, dict[str, Any]] = {}
        for n in range(count):
            row = self._row(n)
            if row is not None:
                rows[n] = row
        if len(rows) < count:
            self.problems.append(
                f"{self.table.qualified}: {count - len(rows)} rows left out, their unique "
                f"keys ran out of values ({', '.join(k.name for k in self.keys)})")
        partial = PartialKeys(self.conn, self.table, list(self.specs), self.domains)
        rows, left_out = partial.keep(rows, lambda n: self._row(n + len(rows) * 11))
        rows = self._checked(rows)
        rows, dropped = partial.keep(rows, None)  # a CHECK redraw may repeat a key
        self.problems += left_out + dropped
        names = list(self.specs)
        _load.copy_rows(self.conn, self.table, names,
                        ([r[c] for c in names] for r in rows.values()))
        return len(rows)

    def _row(self, n: int) -> dict[str, Any] | None:
        """Row number ``n``, or None when ``_ATTEMPTS`` draws all clash with a unique key."""
        for attempt in range(_ATTEMPTS):
            serial = n + 1 + attempt * 1_000_003
            row = {c: value(s, self.rng, self.faker, serial) for c, s in self.specs.items()}
            for fk, parents in self.fks:
                if parents:
                    row.update(zip(fk.columns, self.rng.choice(parents), strict=True))
                else:
                    row.update(dict.fromkeys(fk.columns))
            for edge in self.deferred.values():
                if edge.nullable:
                    row.update(dict.fromkeys(edge.fk.columns))
            self._order(row)
            tuples = [(k, tuple(row[c] for c in k.columns)) for k in self.keys]
            if all(not _clash(k, t) for k, t in tuples):
                for k, t in tuples:
                    k.seen.add(t)
                return row
        return None

    def _order(self, row: dict[str, Any]) -> None:
        """Swap two generated values that a CHECK ``a <= b`` wants the other way round."""
        for o in self.orders:
            a, b = row.get(o.left), row.get(o.right)
            if a is None or b is None or o.left not in self.specs or o.right not in self.specs:
                continue
            try:
                wrong = a > b if o.op in ("<", "<=") else a < b if o.op in (">", ">=") else False
            except TypeError:
                continue
            if wrong:
                row[o.left], row[o.right] = b, a

    def _checked(self, rows: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """Drop (after ``_ROUNDS`` redraws) the rows a CHECK rejects on the server."""
        has_domain_checks = any(d.checks for d in self.domains.values())
        if not rows or not (self.table.check_constraints or has_domain_checks):
            return rows
        box = _load.Candidates(self.conn, self.table, self.domains)
        try:
            failed: dict[str, set[int]] = {}
            for _ in range(_ROUNDS):
                failed = box.failing(rows)
                bad = set().union(*failed.values()) if failed else set()
                if not bad:
                    break
                for spec in self.specs.values():
                    spec.narrow += 1  # a CHECK like qty * 2 < 40 wants smaller numbers
                for n in bad:
                    row = self._row(n + len(rows) * 7)
                    if row is not None:
                        rows[n] = row
            for name, bad in failed.items():
                self.problems.append(f"{name} on {self.table.qualified}: {len(bad)} generated "
                                     "rows could not satisfy it and were left out")
                for n in bad:
                    rows.pop(n, None)
        finally:
            box.close()
        return rows


def _clash(key: _Key, values: tuple[Any, ...]) -> bool:
    if key.nulls_distinct and None in values:
        return False
    return values in key.seen


def _server_fills(column: Column) -> bool:
    """Identity, generated and serial (``nextval`` default) columns are the server's."""
    return (column.identity is not None or column.generated is not None
            or (column.default or "").startswith("nextval("))


def _merge(into: Rule, extra: Rule) -> None:
    for name in ("low", "high", "choices", "min_len", "max_len", "pattern"):
        if getattr(extra, name) is not None:
            setattr(into, name, getattr(extra, name))
    into.low_strict = extra.low_strict if extra.low is not None else into.low_strict
    into.high_strict = extra.high_strict if extra.high is not None else into.high_strict
    into.excluded |= extra.excluded
