"""What several schema rules share: naming objects, choosing names, partitions.

Names appear in two forms. In SQL a fix runs, every identifier is double-quoted
(:func:`ident`, :func:`qualified_ident`): always right, whatever the name. In a
finding's ``object`` and message, each part is quoted only when PostgreSQL's
``quote_ident`` would quote it (:func:`quote_ident`, :func:`object_name`), so
``public.rental`` stays as it is and ``"Mixed Case"."Bestellung ü"`` cannot be
misread. Text that goes into a ``--`` comment of a fix passes :func:`comment` first,
so no name can end the comment and smuggle SQL into the script.

PostgreSQL gives every partition exactly its parent's columns, and clones the
parent's foreign keys, indexes and row triggers onto each partition (docs, "Table
Partitioning", Declarative Partitioning). Column-level findings therefore belong on
the parent alone; :func:`own_tables` yields the tables such rules look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pgkeel.catalog.model import ForeignKey, Snapshot, Table, View
from pgkeel.sqltext import ident, literal, qualified_ident, quote_ident

__all__ = [
    "MAX_IDENTIFIER_BYTES",
    "SET_UPDATED_AT",
    "choose_name",
    "clip_bytes",
    "comment",
    "drop_set_updated_at",
    "ident",
    "in_partition_key",
    "index_name",
    "inherited_foreign_key",
    "leads_index",
    "literal",
    "make_object_name",
    "object_name",
    "own_tables",
    "parent_of",
    "partition_key_columns",
    "partitions_of",
    "qualified_ident",
    "quote_ident",
    "relation_names",
    "table_name",
    "updated_at_trigger",
]

# NAMEDATALEN - 1: PostgreSQL truncates longer identifiers (docs, "Identifiers and
# Key Words", 4.1.1). Lengths are in bytes of the server encoding, taken as UTF-8.
MAX_IDENTIFIER_BYTES = 63



def object_name(*parts: str) -> str:
    """A finding's ``object``: the parts, each as :func:`quote_ident`, joined by dots."""
    return ".".join(quote_ident(p) for p in parts)


def table_name(table: Table | View) -> str:
    """``schema.name`` of ``table``, each part as :func:`quote_ident`."""
    return object_name(table.schema, table.name)


def comment(text: str) -> str:
    """``text`` made safe inside a ``--`` comment: line breaks shown as ``\\n``/``\\r``.

    A ``--`` comment ends at the first line break (scan.l, ``comment``), so a name
    holding one would turn the rest of it into SQL.
    """
    return text.replace("\r", "\\r").replace("\n", "\\n")


def clip_bytes(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form fits in ``limit`` bytes.

    Never splits a character (PostgreSQL's ``pg_mbcliplen``).
    """
    size = 0
    for i, ch in enumerate(text):
        size += len(ch.encode())
        if size > limit:
            return text[:i]
    return text


def make_object_name(name1: str, name2: str | None, label: str | None) -> str:
    """``name1_name2_label`` within 63 bytes, as PostgreSQL's ``makeObjectName`` does.

    Only ``name1`` and ``name2`` are truncated, the longer one first, each at a
    character boundary; ``label`` is kept whole, so names made with different labels
    always differ (src/backend/commands/indexcmds.c).
    """
    size1 = len(name1.encode())
    size2 = len(name2.encode()) if name2 is not None else 0
    overhead = (1 if name2 is not None else 0) + (len(label.encode()) + 1 if label else 0)
    available = MAX_IDENTIFIER_BYTES - overhead
    if available < 2:
        raise ValueError(f"label {label!r} leaves no room for a name")
    while size1 + size2 > available:
        if size1 > size2:
            size1 -= 1
        else:
            size2 -= 1
    parts = [clip_bytes(name1, size1)]
    if name2 is not None:
        parts.append(clip_bytes(name2, size2))
    if label:
        parts.append(label)
    return "_".join(parts)


def _name_addition(columns: Iterable[str]) -> str:
    # ChooseIndexNameAddition: the column names joined by "_", stopping once the
    # result reaches NAMEDATALEN bytes (makeObjectName truncates it further).
    addition = ""
    for column in columns:
        addition = f"{addition}_{column}" if addition else column
        if len(addition.encode()) >= MAX_IDENTIFIER_BYTES + 1:
            break
    return addition


def choose_name(name1: str, name2: str | None, label: str, taken: set[str]) -> str:
    """The first of ``name1_name2_label``, ``..._label1``, ``..._label2``... not in ``taken``.

    PostgreSQL's ``ChooseRelationName``. Every candidate keeps its label whole and
    labels differ, so candidates differ, and at most ``len(taken) + 1`` are tried:
    the loop always ends.
    """
    for n in range(len(taken) + 1):
        name = make_object_name(name1, name2, f"{label}{n}" if n else label)
        if name not in taken:
            return name
    raise AssertionError("unreachable: more distinct candidates than taken names")


def index_name(table: str, columns: tuple[str, ...], taken: Iterable[str] = ()) -> str:
    """The name ``CREATE INDEX ON table (columns)`` would get: ``table_col1_col2_idx``.

    Within 63 bytes (the table and column parts are cut, never the ``idx`` suffix),
    with a number after ``idx`` when the name is in ``taken`` (the relation names of
    the table's schema), exactly as PostgreSQL's ``ChooseIndexName`` picks it.
    """
    return choose_name(table, _name_addition(columns), "idx", set(taken))


def relation_names(snapshot: Snapshot) -> dict[str, set[str]]:
    """The names taken in each schema's ``pg_class``, by schema: what a new index avoids.

    Index names share ``pg_class`` with tables, views and sequences. The snapshot
    lists no composite types or foreign tables, which share it too.
    """
    names: dict[str, set[str]] = {}
    for schema, name in (
        *((t.schema, t.name) for t in snapshot.tables),
        *((t.schema, ix.name) for t in snapshot.tables for ix in t.indexes),
        *((v.schema, v.name) for v in snapshot.views),
        *((v.schema, ix.name) for v in snapshot.views for ix in v.indexes),
        *((s.schema, s.name) for s in snapshot.sequences),
    ):
        names.setdefault(schema, set()).add(name)
    return names


def leads_index(table: Table, column: str) -> bool:
    """True when a valid, non-partial index of ``table`` leads with ``column``."""
    return any(ix.valid and ix.predicate is None and ix.columns[:1] == (column,)
               for ix in table.indexes)


def parent_of(snapshot: Snapshot, table: Table) -> Table | None:
    """The partitioned table ``table`` is a partition of, if it is in the snapshot."""
    return snapshot.table(table.partition_of) if table.partition_of else None


def partitions_of(snapshot: Snapshot, table: Table) -> tuple[Table, ...]:
    """The direct partitions of ``table`` (none unless it is partitioned)."""
    return tuple(t for t in snapshot.tables if t.partition_of == table.qualified)


# An identifier in pg_get_partkeydef() output: quoted (with "" inside) or plain.
_KEY_IDENT = re.compile(r'"((?:[^"]|"")*)"|([A-Za-z_][A-Za-z0-9_$]*)')
# A partition key of plain columns only: RANGE (a, "B c").
_PLAIN_KEY = re.compile(r'^\w+ \(((?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)'
                        r'(?:, (?:"(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*))*)\)$')


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


def partition_key_columns(table: Table) -> tuple[str, ...] | None:
    """The columns of ``table``'s partition key, or None when it has an expression.

    A primary key of a partitioned table must include them (docs, "Table
    Partitioning", Limitations).
    """
    match = _PLAIN_KEY.match(table.partition_key or "")
    if match is None:
        return None
    return tuple(quoted.replace('""', '"') if quoted else plain
                 for quoted, plain in _KEY_IDENT.findall(match.group(1)))


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


#: The trigger function the fixes create, in the table's schema. pgkeel owns this
#: name: ``CREATE OR REPLACE`` never touches a function of the user's.
SET_UPDATED_AT = "pgkeel_set_updated_at"


def drop_set_updated_at(snapshot: Snapshot, table: Table) -> str:
    """The undo of :func:`updated_at_trigger`'s function: its ``DROP FUNCTION``, or "".

    Only when the snapshot shows no such function yet (the fix creates it); one that
    existed before belongs to an earlier change and stays. Runs after the triggers'
    drops (the script writer keeps the last copy of a repeated undo statement).
    """
    if any(f.schema == table.schema and f.name == SET_UPDATED_AT and f.arguments == ""
           for f in snapshot.functions):
        return ""
    return f"\nDROP FUNCTION IF EXISTS {qualified_ident(table.schema, SET_UPDATED_AT)}();"


def updated_at_trigger(table: Table) -> str:
    """SQL that keeps ``table.updated_at`` current: a trigger function and its trigger.

    The function is pgkeel's own (:data:`SET_UPDATED_AT`) in the table's schema,
    ``CREATE OR REPLACE`` so the SQL can run once per table (PostgreSQL docs, PL/pgSQL
    "Trigger Functions"). The trigger takes the first free name of
    ``pgkeel_set_updated_at``, ``pgkeel_set_updated_at_1``... on the table.
    """
    function = qualified_ident(table.schema, SET_UPDATED_AT)
    used = {t.name for t in table.triggers}
    trigger = next(n for i in range(len(used) + 1)
                   if (n := SET_UPDATED_AT + (f"_{i}" if i else "")) not in used)
    # A pinned, empty search_path (pg_catalog is searched anyway): the function never
    # resolves a name through its caller's (function-search-path-mutable).
    return (f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path = '' AS "
            "$$ BEGIN NEW.updated_at := pg_catalog.now(); RETURN NEW; END $$;\n"
            f"CREATE TRIGGER {ident(trigger)} BEFORE UPDATE ON "
            f"{qualified_ident(table.schema, table.name)} FOR EACH ROW "
            f"EXECUTE FUNCTION {function}();")
