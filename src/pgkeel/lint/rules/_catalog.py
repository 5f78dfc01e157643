"""What several schema rules share: quoting names for suggested SQL, and partitions.

PostgreSQL gives every partition exactly its parent's columns, and clones the
parent's foreign keys, indexes and row triggers onto each partition (docs, "Table
Partitioning", Declarative Partitioning). Column-level findings therefore belong on
the parent alone; :func:`own_tables` yields the tables such rules look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pgkeel.catalog.model import ForeignKey, Snapshot, Table

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "ident",
    "in_partition_key",
    "index_name",
    "inherited_foreign_key",
    "own_tables",
    "parent_of",
    "partitions_of",
    "qualified_ident",
    "updated_at_trigger",
]

# NAMEDATALEN - 1: PostgreSQL truncates longer identifiers (docs, "Identifiers and
# Key Words", 4.1.1).
MAX_IDENTIFIER_BYTES = 63


def ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (``"a""b"`` for ``a"b``)."""
    return '"' + name.replace('"', '""') + '"'


def qualified_ident(schema: str, name: str) -> str:
    """``"schema"."name"``."""
    return f"{ident(schema)}.{ident(name)}"


def index_name(table: str, columns: tuple[str, ...], suffix: str = "idx") -> str:
    """A conventional index name, ``table_col1_col2_idx``, cut to 63 bytes."""
    name = "_".join((table, *columns, suffix))
    while len(name.encode()) > MAX_IDENTIFIER_BYTES:
        name = name[:-1]
    return name


def parent_of(snapshot: Snapshot, table: Table) -> Table | None:
    """The partitioned table ``table`` is a partition of, if it is in the snapshot."""
    return snapshot.table(table.partition_of) if table.partition_of else None


def partitions_of(snapshot: Snapshot, table: Table) -> tuple[Table, ...]:
    """The direct partitions of ``table`` (none unless it is partitioned)."""
    return tuple(t for t in snapshot.tables if t.partition_of == table.qualified)


# An identifier in pg_get_partkeydef() output: quoted (with "" inside) or plain.
_KEY_IDENT = re.compile(r'"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)')


def in_partition_key(table: Table, column: str) -> bool:
    """True when ``column`` appears in ``table``'s partition key.

    PostgreSQL refuses to change the type of such a column (docs, "ALTER TABLE"), so
    fixes must say so instead of offering ``ALTER COLUMN ... TYPE``. Names in key
    expressions count too, a cautious reading.
    """
    if not table.partition_key:
        return False
    names = {quoted.replace('""', '"') if quoted else plain
             for quoted, plain in _KEY_IDENT.findall(table.partition_key)}
    return column in names


def own_tables(snapshot: Snapshot) -> Iterator[Table]:
    """Every table except partitions, whose columns are their parent's."""
    return (t for t in snapshot.tables if not t.is_partition)


def inherited_foreign_key(snapshot: Snapshot, table: Table, fk: ForeignKey) -> bool:
    """True when ``fk`` on partition ``table`` is a clone of a parent's foreign key."""
    parent = parent_of(snapshot, table)
    if parent is None:
        return False
    return any(
        (p.columns, p.ref_schema, p.ref_table, p.ref_columns)
        == (fk.columns, fk.ref_schema, fk.ref_table, fk.ref_columns)
        for p in parent.foreign_keys
    )


def updated_at_trigger(table: Table) -> str:
    """SQL that keeps ``table.updated_at`` current: a trigger function and its trigger.

    The function lives in the table's schema, ``CREATE OR REPLACE`` so the SQL can run
    once per table (PostgreSQL docs, PL/pgSQL "Trigger Functions").
    """
    function = qualified_ident(table.schema, "set_updated_at")
    return (f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;\n"
            f"CREATE TRIGGER {ident(table.name + '_set_updated_at')} BEFORE UPDATE ON "
            f"{qualified_ident(table.schema, table.name)} FOR EACH ROW "
            f"EXECUTE FUNCTION {function}();")
