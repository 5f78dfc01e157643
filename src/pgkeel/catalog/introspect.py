"""Read a database's structure into a :class:`~pgkeel.catalog.model.Snapshot`.

:func:`snapshot` runs a fixed set of 19 set-based catalog queries, whatever the number
of tables: one per object family (relations, columns, constraints, indexes, triggers,
policies, schemas, sequences, functions, enums, domains, extensions, what views read:
:mod:`pgkeel.catalog._views`), two small ones for index definitions
(:mod:`pgkeel.catalog._indexes`) and four for roles and privileges
(:mod:`pgkeel.catalog._access`). It then assembles the frozen
model in Python with dicts keyed by oid. All queries run in one ``REPEATABLE READ``
read-only transaction, so they see one consistent state of the catalog.

Example::

    from pgkeel.catalog import read_snapshot

    snap = read_snapshot("postgresql://app@localhost/app")
    for table in snap.tables:
        print(table.qualified, table.row_estimate, len(table.foreign_keys))
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq

from pgkeel.catalog._access import read_access
from pgkeel.catalog._indexes import read_indexes
from pgkeel.catalog._keys import Keys, read_keys
from pgkeel.catalog._objects import (
    read_domains,
    read_enums,
    read_extensions,
    read_functions,
    read_schemas,
    read_sequences,
)
from pgkeel.catalog._reader import Reader
from pgkeel.catalog._relations import Relation, kind_of, read_columns, read_relations
from pgkeel.catalog._triggers import read_policies, read_triggers
from pgkeel.catalog._views import ViewFacts, read_view_facts
from pgkeel.catalog.model import Column, Index, Policy, Snapshot, Table, Trigger, View
from pgkeel.connect import connect
from pgkeel.errors import DatabaseError

__all__ = ["read_snapshot", "snapshot"]


def snapshot(conn: psycopg.Connection[Any], *, exact_sizes: bool = False) -> Snapshot:
    """Read the structure of the database ``conn`` is connected to.

    Covers the user schemas only: ``pg_catalog``, ``information_schema``, ``pg_toast``
    and temporary schemas are left out, and so is every object that belongs to an
    extension (PostgreSQL docs, "Packaging Related Objects into an Extension"). The
    number of queries is fixed (``Snapshot.queries``), whatever the table count.

    When ``conn`` is idle, the queries run in their own ``REPEATABLE READ READ ONLY``
    transaction, committed at the end; inside the caller's open transaction, they run
    in a savepoint and see what that transaction sees.

    Sizes (``Table.size_bytes``, ``Index.size_bytes``) are in bytes. By default they
    are estimated from ``pg_class.relpages`` (main fork, as of the last ``VACUUM``,
    ``ANALYZE`` or ``CREATE INDEX``, like ``row_estimate``; 0 before any), which reads
    no file and takes no lock. ``exact_sizes=True`` measures every relation instead
    (``pg_table_size``, summing to ``pg_total_relation_size`` per table; PostgreSQL
    docs, "Database Object Management Functions"): it costs a file check per fork
    and relation, and briefly takes an ``ACCESS SHARE`` lock on each, so it waits
    behind a concurrent ``ACCESS EXCLUSIVE`` lock (a long migration, say).

    Returns a :class:`Snapshot` with every collection sorted by schema and name.
    Raises ``DatabaseError`` (with the SQLSTATE) when a catalog query fails, for
    example when the connection is lost or a statement timeout cancels it.
    """
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    try:
        with _gc_paused(), conn.transaction():
            if idle:
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return _read(conn, exact_sizes=exact_sizes)
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DatabaseError(
            f"reading the catalog failed: {first}", sqlstate=exc.sqlstate
        ) from exc


def read_snapshot(url: str, *, exact_sizes: bool = False) -> Snapshot:
    """Connect to ``url`` (a libpq URI or key=value DSN), take a :func:`snapshot`, close.

    ``exact_sizes`` is passed on to :func:`snapshot`.

    Raises ``ConfigError``/``ConnectError`` as :func:`pgkeel.connect.connect` does, and
    ``DatabaseError`` as :func:`snapshot` does.
    """
    with connect(url) as conn:
        return snapshot(conn, exact_sizes=exact_sizes)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the snapshot is built.

    A snapshot allocates tens of thousands of small acyclic objects (rows, columns,
    indexes); with the collector on, each burst of allocations sets off a collection
    that walks the whole, growing heap again, about an eighth of the time of a
    2,000-table snapshot. Paused, it makes one pass after. Nothing built here forms a
    cycle, so reference counting frees all the garbage meanwhile.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _read(conn: psycopg.Connection[Any], *, exact_sizes: bool) -> Snapshot:
    # libpq already knows these from the connection start-up: no query needed.
    version_num = conn.info.server_version
    version = conn.info.parameter_status("server_version") or str(version_num)
    reader = Reader(conn, version_num)
    try:
        relations = read_relations(reader, exact_sizes=exact_sizes)
        columns = read_columns(reader)
        indexes = read_indexes(reader, columns.attributes, {r.oid: r for r in relations},
                               exact_sizes=exact_sizes)
        keys = read_keys(reader, columns.attributes, indexes.nulls_not_distinct)
        triggers = read_triggers(reader)
        policies = read_policies(reader)
        access = read_access(reader)
        parts = _Parts(columns.by_relation, keys, indexes.by_relation, triggers, policies,
                       read_view_facts(reader))
        tables = [access.table(parts.table(r), r.oid)
                  for r in relations if r.relkind in ("r", "p")]
        views = [access.view(parts.view(r), r.oid) for r in relations if r.relkind in ("v", "m")]
        return Snapshot(
            database=conn.info.dbname,
            server_version=version,
            server_version_num=version_num,
            schemas=tuple(access.with_schemas(read_schemas(reader))),
            tables=tuple(sorted(tables, key=lambda t: (t.schema, t.name))),
            views=tuple(sorted(views, key=lambda v: (v.schema, v.name))),
            sequences=tuple(read_sequences(reader)),
            functions=tuple(access.with_functions(read_functions(reader))),
            extensions=tuple(read_extensions(reader)),
            enums=tuple(read_enums(reader)),
            domains=tuple(read_domains(reader)),
            queries=reader.count,
            exact_sizes=exact_sizes,
            roles=access.roles,
            stats_reset=indexes.stats_reset,
            stats_age_seconds=indexes.stats_age_seconds,
        )
    finally:
        reader.close()


class _Parts:
    """The per-relation pieces read by the family queries, ready to assemble."""

    def __init__(
        self,
        columns: dict[int, list[Column]],
        keys: Keys,
        indexes: dict[int, list[Index]],
        triggers: dict[int, list[Trigger]],
        policies: dict[int, list[Policy]],
        view_facts: dict[int, ViewFacts],
    ) -> None:
        self.columns = columns
        self.keys = keys
        self.indexes = indexes
        self.triggers = triggers
        self.policies = policies
        self.view_facts = view_facts

    def table(self, rel: Relation) -> Table:
        oid = rel.oid
        indexes = self.indexes.get(oid, ())
        return Table(
            schema=rel.schema,
            name=rel.name,
            kind=kind_of(rel.relkind),
            columns=tuple(self.columns.get(oid, ())),
            primary_key=self.keys.primary.get(oid),
            unique_constraints=tuple(self.keys.unique.get(oid, ())),
            check_constraints=tuple(self.keys.checks.get(oid, ())),
            foreign_keys=tuple(self.keys.foreign.get(oid, ())),
            indexes=tuple(indexes),
            triggers=tuple(self.triggers.get(oid, ())),
            policies=tuple(self.policies.get(oid, ())),
            rls_enabled=rel.rls_enabled,
            rls_forced=rel.rls_forced,
            row_estimate=rel.row_estimate,
            # As pg_total_relation_size counts: the heap with its TOAST, plus its indexes.
            size_bytes=(rel.size_bytes or 0) + sum(i.size_bytes for i in indexes),
            partition_of=rel.partition_of,
            comment=rel.comment,
            partition_key=rel.partition_key,
            partition_bound=rel.partition_bound,
            owner=rel.owner,
        )

    def view(self, rel: Relation) -> View:
        oid = rel.oid
        facts = self.view_facts.get(oid)
        return View(
            schema=rel.schema,
            name=rel.name,
            materialized=rel.relkind == "m",
            definition=rel.view_definition or "",
            columns=tuple(self.columns.get(oid, ())),
            indexes=tuple(self.indexes.get(oid, ())),
            triggers=tuple(self.triggers.get(oid, ())),
            comment=rel.comment,
            uses=facts.uses if facts else (),
            owner=facts.owner if facts else None,
            populated=facts.populated if facts else True,
        )
