"""Indexes: one set-based query over ``pg_index``, plus two small ones for definitions.

Key and INCLUDE columns come back as attnum arrays (``indkey``: 0-based, entries past
``indnkeyatts`` are INCLUDE columns, 0 marks an expression) and are named through the
columns already read (PostgreSQL docs, "pg_index").

``Index.definition`` is what ``pg_get_indexdef()`` returns. Deparsing every index on
the server is the costliest part of a snapshot (a catalog scan of ``pg_opclass`` per
key column, to decide whether to print the operator class), so the definition of a
*plain* index is written here, and the server deparses the rest in one more query.
Plain means: an ordinary index (not on a partitioned table), no expression, no
predicate, no storage or operator-class options, not NULLS NOT DISTINCT, and for every
key column ascending order with default null ordering, the column's own collation and
the default operator class of exactly the column's type. For those,
``pg_get_indexdef`` prints nothing but the names, the access method and the column
list (src/backend/utils/adt/ruleutils.c, ``pg_get_indexdef_worker``); names are quoted
by the server's own rule and keyword list (:class:`_Quoter`). Tests compare both on
every index of Pagila and of a schema built to hold the unusual cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from pgkeel.catalog._reader import RELATIONS, Reader
from pgkeel.catalog._relations import Attribute, Relation
from pgkeel.catalog.model import Index

__all__ = ["Indexes", "read_indexes"]

# What writing definitions needs: the keywords quote_ident quotes (all but unreserved
# ones), whether every identifier is to be quoted, and each default operator class
# with its input type. Then what naming each key column's operator class and
# collation needs (every operator class, the collations indexes use), and when this
# database's statistics were reset, with their age in seconds (PostgreSQL docs,
# "pg_stat_database").
_CONTEXT = """
SELECT ARRAY(SELECT k.word FROM pg_catalog.pg_get_keywords() AS k WHERE k.catcode <> 'U'),
       pg_catalog.current_setting('quote_all_identifiers')::bool,
       ARRAY(SELECT opc.oid FROM pg_catalog.pg_opclass opc
             WHERE opc.opcdefault ORDER BY opc.oid),
       ARRAY(SELECT opc.opcintype FROM pg_catalog.pg_opclass opc
             WHERE opc.opcdefault ORDER BY opc.oid),
       ARRAY(SELECT opc.oid FROM pg_catalog.pg_opclass opc ORDER BY opc.oid),
       ARRAY(SELECT CASE WHEN n.nspname = 'pg_catalog' THEN opc.opcname
                         ELSE n.nspname || '.' || opc.opcname END
             FROM pg_catalog.pg_opclass opc
             JOIN pg_catalog.pg_namespace n ON n.oid = opc.opcnamespace ORDER BY opc.oid),
       ARRAY(SELECT co.oid FROM pg_catalog.pg_collation co
             WHERE co.oid IN (SELECT pg_catalog.unnest(i.indcollation::pg_catalog.oid[])
                              FROM pg_catalog.pg_index i) ORDER BY co.oid),
       ARRAY(SELECT CASE WHEN n.nspname = 'pg_catalog' THEN co.collname
                         ELSE n.nspname || '.' || co.collname END
             FROM pg_catalog.pg_collation co
             JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace
             WHERE co.oid IN (SELECT pg_catalog.unnest(i.indcollation::pg_catalog.oid[])
                              FROM pg_catalog.pg_index i) ORDER BY co.oid),
       (SELECT d.stats_reset::text FROM pg_catalog.pg_stat_database d
        WHERE d.datname = pg_catalog.current_database()),
       (SELECT pg_catalog.date_part('epoch', pg_catalog.now() - d.stats_reset)::float8
        FROM pg_catalog.pg_stat_database d WHERE d.datname = pg_catalog.current_database())
"""

# pg_index.indoption bits per key column: 1 DESC, 2 NULLS FIRST (PostgreSQL docs,
# "pg_index"; src/include/catalog/pg_index.h). ASC implies NULLS LAST, DESC NULLS FIRST.
_ORDERINGS = {0: "", 1: "DESC NULLS LAST", 2: "NULLS FIRST", 3: "DESC"}

# Exact: every fork of the index (pg_table_size, as psql's \\di+ shows); estimated:
# relpages, as of the last VACUUM, ANALYZE or CREATE INDEX, touching no file.
_EXACT_SIZE = "pg_catalog.pg_table_size(i.indexrelid)"
_ESTIMATED_SIZE = "ic.relpages::int8 * pg_catalog.current_setting('block_size')::int8"

_INDEXES = RELATIONS + """
SELECT i.indrelid, i.indexrelid, ic.relname, i.indkey::pg_catalog.int2[], i.indnkeyatts,
       i.indisunique, i.indisprimary, am.amname, i.indisvalid, {size},
       CASE WHEN i.indexprs IS NOT NULL THEN ARRAY(
           SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k + 1, true)
           FROM pg_catalog.generate_series(0, i.indnkeyatts - 1) AS k
           WHERE i.indkey[k] = 0 ORDER BY k) END,
       pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), co.conname,
       {nulls_not_distinct}, ic.relkind, i.indclass::pg_catalog.oid[],
       i.indoption::pg_catalog.int2[], i.indcollation::pg_catalog.oid[],
       ic.reloptions IS NOT NULL OR opt.attrelid IS NOT NULL,
       ic.relispartition, i.indisreplident,
       NOT i.indisvalid AND EXISTS (
           SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p
           WHERE p.index_relid = i.indexrelid),
       CASE WHEN ic.relkind = 'i' THEN pg_catalog.pg_stat_get_numscans(i.indexrelid) END,
       d.description
FROM rel
JOIN pg_catalog.pg_index i ON i.indrelid = rel.oid
JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = ic.relam
LEFT JOIN pg_catalog.pg_constraint co
       ON co.conindid = i.indexrelid AND co.conrelid = i.indrelid
      AND co.contype IN ('p', 'u', 'x')
LEFT JOIN (SELECT DISTINCT a.attrelid FROM pg_catalog.pg_attribute a
           WHERE a.attoptions IS NOT NULL) AS opt ON opt.attrelid = i.indexrelid
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = i.indexrelid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.objsubid = 0
"""

_DEFINITIONS = """
SELECT i.indexrelid, pg_catalog.pg_get_indexdef(i.indexrelid)
FROM pg_catalog.pg_index i
WHERE i.indexrelid = ANY(%s::pg_catalog.oid[])
"""


class _Quoter(dict[str, str]):
    """``quoter[name]`` is ``quote_ident(name)`` as the server does it.

    The rule is ruleutils.c's ``quote_identifier``: an identifier stays bare when it is
    lower-case ASCII letters, digits and underscores, starts with a letter or an
    underscore, and is not a keyword other than an unreserved one; otherwise it is
    double-quoted, inner quotes doubled. A dict, so that the names that recur across
    tables are quoted once and then found at the cost of a lookup.
    """

    _SAFE = re.compile(r"[a-z_][a-z0-9_]*")

    def __init__(self, keywords: list[str], quote_all: bool) -> None:
        super().__init__()
        self._keywords = frozenset(keywords)
        self._quote_all = quote_all

    def __missing__(self, ident: str) -> str:
        bare = (not self._quote_all and self._SAFE.fullmatch(ident) is not None
                and ident not in self._keywords)
        quoted = self[ident] = ident if bare else '"' + ident.replace('"', '""') + '"'
        return quoted


@dataclass(slots=True)
class Indexes:
    """Every index in scope, by relation oid and sorted by name.

    ``nulls_not_distinct`` holds the oids of the indexes built NULLS NOT DISTINCT;
    ``stats_reset`` (ISO 8601) and ``stats_age_seconds`` say when this database's
    statistics were last reset (None when never).
    """

    by_relation: dict[int, list[Index]]
    nulls_not_distinct: set[int]
    stats_reset: str | None = None
    stats_age_seconds: float | None = None


def read_indexes(
    reader: Reader,
    attributes: dict[int, dict[int, Attribute]],
    relations: dict[int, Relation],
    *,
    exact_sizes: bool,
) -> Indexes:
    """Read every index of every relation in user schemas.

    ``attributes`` maps relation oid -> attnum -> column (from the columns query),
    ``relations`` relation oid -> relation (from the relations query). Sizes are in
    bytes, exact (``pg_table_size``) or estimated from ``relpages``.
    """
    ((keywords, quote_all, opclasses, input_types, all_opclasses, opclass_names,
      collation_oids, collation_names, stats_reset, stats_age),) = reader.rows(_CONTEXT)
    opclass_name = dict(zip(all_opclasses, opclass_names, strict=True))
    collation_name = dict(zip(collation_oids, collation_names, strict=True))
    quote = _Quoter(keywords, quote_all)
    defaults = dict(zip(opclasses, input_types, strict=True))
    query = sql.SQL(_INDEXES).format(
        size=sql.SQL(_EXACT_SIZE if exact_sizes else _ESTIMATED_SIZE),
        nulls_not_distinct=reader.since(150000, "i.indnullsnotdistinct", "false"),
    )
    rows = reader.rows(query)
    definitions: dict[int, str] = {}
    for row in rows:
        relid = row[0]
        text = _plain_definition(row, attributes.get(relid, {}), relations.get(relid),
                                 defaults, quote)
        if text is not None:
            definitions[row[1]] = text
    deparse = [row[1] for row in rows if row[1] not in definitions]
    definitions.update(reader.rows(_DEFINITIONS, [deparse]))

    indexes: dict[int, list[Index]] = {}
    for (relid, oid, name, indkey, nkey, unique, primary, method, valid, size, expressions,
         predicate, constraint, nulls_nd, _relkind, classes, options, collations, _opts,
         inherited, replica_identity, building, scans, comment) in rows:
        cols = attributes.get(relid, {})
        keys = tuple([cols[n][0] if n else None for n in indkey[:nkey]])
        include = tuple([cols[n][0] for n in indkey[nkey:]]) if len(indkey) > nkey else ()
        indexes.setdefault(relid, []).append(Index(
            name, keys, unique, primary, method, valid, definitions[oid], size or 0,
            tuple(expressions) if expressions else (), include, predicate, constraint,
            nulls_nd,
            tuple([opclass_name.get(c, str(c)) for c in classes[:nkey]]),
            tuple([collation_name.get(c, str(c)) if c else None for c in collations[:nkey]]),
            tuple([_ORDERINGS.get(o & 3, "") for o in options[:nkey]]),
            inherited, replica_identity, building, scans, comment,
        ))
    for items in indexes.values():
        items.sort(key=_name)
    return Indexes(indexes, {row[1] for row in rows if row[13]}, stats_reset, stats_age)


def _name(index: Index) -> str:
    return index.name


def _plain_definition(
    row: tuple[Any, ...],
    cols: dict[int, Attribute],
    relation: Relation | None,
    defaults: dict[int, int],
    quote: _Quoter,
) -> str | None:
    """The ``pg_get_indexdef`` text of a plain index (module docstring), else None."""
    (_relid, _oid, name, indkey, nkey, unique, _primary, method, _valid, _size,
     expressions, predicate, _constraint, nulls_nd, relkind, opclasses, options,
     collations, has_options, *_usage) = row
    if (relation is None or relkind != "i" or expressions is not None or predicate is not None
            or nulls_nd or has_options):
        return None
    keys = []
    for attnum, opclass, option, collation in zip(
            indkey[:nkey], opclasses, options, collations, strict=True):
        col = cols.get(attnum)
        if (col is None or option or defaults.get(opclass) != col[1]
                or (collation and collation != col[2])):
            return None
        keys.append(quote[col[0]])
    text = (f"CREATE {'UNIQUE ' if unique else ''}INDEX {quote[name]} ON "
            f"{quote[relation.schema]}.{quote[relation.name]} USING {quote[method]}"
            f" ({', '.join(keys)})")
    if len(indkey) > nkey:
        text += f" INCLUDE ({', '.join([quote[cols[n][0]] for n in indkey[nkey:]])})"
    return text
