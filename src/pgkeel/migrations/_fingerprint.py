"""A catalog fingerprint: one query that says whether the catalog may have changed.

``migrate verify`` asks of every migration whether the catalog after its down equals
the catalog before its up. A full snapshot (:func:`pgkeel.catalog.snapshot`, about 20
queries and the model built in Python) answers with the differences; this one query
answers "certainly equal" far faster, so snapshots are taken only when the answer is
"maybe not".

It hashes, from the system catalogs that hold what :func:`pgkeel.catalog.diff.compare`
compares (PostgreSQL docs, "System Catalogs", chapter 53), the columns that hold
structure, for objects created after ``initdb`` (``oid >= 16384``,
``FirstNormalObjectId`` in ``src/include/access/transam.h``), plus every schema, role,
membership, default ACL and schema comment. Left out are the columns that change
without the schema changing: statistics (``relpages``, ``reltuples``...), the flags
PostgreSQL clears lazily (``relhasindex`` stays true after the last index is dropped,
until a VACUUM), ``relnatts`` and dropped columns (a column added and dropped again
leaves a dropped attribute behind, and may leave the TOAST table it needed:
``pg_toast``, namespace oid 99, is left out), and ``relfilenode`` (a rewrite).

The rows are hashed one by one (``hashtextextended``, 64 bits) and summed, with their
count: no sort, and two different sets of rows collide with a chance near 2^-64.
Equal fingerprints mean equal catalogs for everything ``compare`` reads. Different
fingerprints may still be equal catalogs, e.g. an object dropped and created again
gets a new oid: the caller then compares snapshots.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

__all__ = ["fingerprint"]

# catalog -> (the columns that hold schema, the rows that can belong to user objects).
# Columns: what pgkeel.catalog reads from each catalog, so a change of any of them
# changes the fingerprint; the oids an object points at are written as names (regclass,
# regtype..., or the relation's name joined in), and a column's place as its rank among
# the live columns, so an object dropped and created again the same way mostly hashes
# the same. Expressions stay node trees ({name}: without their text positions), which
# hold oids: deparsing them costs more than the snapshot it would save. Rows: objects
# made after initdb, and the ones every schema can touch (schemas, comments on schemas,
# roles, default ACLs); temporary objects are left out (the data generator uses some).
_PARTS = {
    "pg_namespace": ("nspname, nspowner::regrole, nspacl",
                     "nspname !~ '^pg_(toast_)?temp_'"),
    "pg_class": ("relname, relnamespace::regnamespace, relowner::regrole, relam, relkind, "
                 "relpersistence, relchecks, relrowsecurity, relforcerowsecurity, "
                 "relispopulated, relreplident, relispartition, relacl, reloptions, "
                 "{relpartbound}",
                 "oid >= 16384 AND relnamespace <> 99 AND relpersistence <> 't'"),
    "pg_attribute": ("r.relnamespace, r.relname, attname, atttypid, atttypmod, "
                     "row_number() OVER (PARTITION BY attrelid ORDER BY attnum), "
                     "attnotnull, atthasdef, attidentity, attgenerated, attcollation, attacl",
                     "attrelid >= 16384 AND attnum > 0 AND NOT attisdropped"
                     " AND r.relnamespace <> 99 AND r.relpersistence <> 't'"),
    "pg_attrdef": ("adrelid::regclass, adnum, {adbin}",
                   "oid >= 16384"),
    "pg_constraint": ("conname, connamespace::regnamespace, contype, condeferrable, "
                      "condeferred, convalidated, conrelid::regclass, contypid::regtype, "
                      "conindid::regclass, confrelid::regclass, confupdtype, confdeltype, "
                      "conkey, confkey, {conbin}",
                      "oid >= 16384"),
    "pg_index": ("r.relnamespace, r.relname, indrelid::regclass, indisunique, indisprimary, "
                 "indisexclusion, indimmediate, indisvalid, indisreplident, indnkeyatts, indkey, "
                 "indcollation, indclass, indoption, {indexprs}, {indpred}",
                 "indexrelid >= 16384 AND r.relnamespace <> 99"),
    "pg_trigger": ("tgrelid::regclass, tgname, tgfoid::regprocedure, tgtype, tgenabled, "
                   "tgargs, tgattr, tgdeferrable, tginitdeferred, {tgqual}",
                   "oid >= 16384 AND NOT tgisinternal"),
    "pg_policy": ("polname, polrelid::regclass, polcmd, polpermissive, polroles::regrole[], "
                  "{polqual}, {polwithcheck}", "TRUE"),
    "pg_proc": ("oid::regprocedure, proowner::regrole, prolang, prokind, prosecdef, "
                "provolatile, prorettype::regtype, proretset, proallargtypes::regtype[], "
                "proargmodes, proargnames, prosrc, probin, proconfig, proacl",
                "oid >= 16384"),
    "pg_type": ("oid::regtype, typowner::regrole, typtype, typbasetype::regtype, typtypmod, "
                "typnotnull, typdefault, typacl",
                "oid >= 16384 AND typrelid = 0 AND typnamespace NOT IN (SELECT oid FROM "
                "pg_catalog.pg_namespace WHERE nspname ~ '^pg_(toast_)?temp_')"),
    "pg_enum": ("enumtypid::regtype, enumsortorder, enumlabel", "TRUE"),
    "pg_extension": ("extname, extowner::regrole, extnamespace::regnamespace, extversion",
                     "TRUE"),
    "pg_sequence": ("seqrelid::regclass, seqtypid::regtype, seqstart, seqincrement, seqmax, "
                    "seqmin, seqcache, seqcycle", "TRUE"),
    "pg_rewrite": ("rulename, ev_class::regclass, ev_type, ev_enabled, "
                   "{ev_action}", "oid >= 16384"),
    # Only what sequence ownership (OWNED BY, identity) is read from.
    "pg_depend": ("objid::regclass, refobjid::regclass, refobjsubid, deptype",
                  "classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND objid >= 16384 "
                  "AND deptype IN ('a', 'i') AND objid IN "
                  "(SELECT oid FROM pg_catalog.pg_class WHERE relkind = 'S')"),
    "pg_description": ("classoid, objoid, objsubid, description",
                       "objoid >= 16384 OR classoid = "
                       "'pg_catalog.pg_namespace'::pg_catalog.regclass"),
    "pg_inherits": ("inhrelid::regclass, inhparent::regclass, inhseqno", "TRUE"),
    "pg_partitioned_table": ("partrelid::regclass, partstrat, partattrs, {partexprs}",
                             "TRUE"),
    "pg_default_acl": ("defaclrole::regrole, defaclnamespace, defaclobjtype, defaclacl",
                       "TRUE"),
    "pg_roles": ("rolname, rolsuper, rolbypassrls, rolinherit, rolcanlogin", "TRUE"),
    "pg_auth_members": ("roleid::regrole, member::regrole, admin_option", "TRUE"),
}


# The relation a row of these belongs to, joined for its name (cheaper than regclass).
_JOINED = {"pg_attribute": "attrelid", "pg_index": "indexrelid"}


def _tree(column: str) -> str:
    """A node tree column without its ``:location`` fields: where in the statement's text
    an expression stood is not structure."""
    return rf"pg_catalog.regexp_replace({column}::text, ' :location -?\d+', '', 'g')"


# Columns newer servers have, which compare reads (UNIQUE NULLS NOT DISTINCT, 15; NOT
# ENFORCED constraints, 18).
_SINCE = {"pg_index": ((150000, "indnullsnotdistinct"),),
          "pg_constraint": ((180000, "conenforced"),)}


def _query(server_version: int) -> str:
    parts = []
    for catalog, (template, where) in _PARTS.items():
        template += "".join(f", {column}" for since, column in _SINCE.get(catalog, ())
                            if server_version >= since)
        columns = re.sub(r"\{(\w+)\}", lambda m: _tree(m[1]), template)
        source = f"pg_catalog.{catalog}"
        if catalog in _JOINED:
            source += f" JOIN pg_catalog.pg_class r ON r.oid = {_JOINED[catalog]}"
        parts.append(f"SELECT '{catalog}' || ROW({columns})::text FROM {source} WHERE {where}")
    union = "\nUNION ALL ".join(parts)
    return ("SELECT pg_catalog.count(*)::text || ':' || pg_catalog.sum("
            "pg_catalog.hashtextextended(x, 0)::numeric)::text"
            f" FROM ({union}) t(x)")


_QUERIES: dict[int, bytes] = {}


def fingerprint(conn: psycopg.Connection[Any]) -> str:
    """``count:sum`` of the catalog rows' hashes as this session sees them (one query).

    Inside a transaction it sees that transaction's changes. Raises ``psycopg.Error``
    when the query fails (the role cannot read a catalog).
    """
    # Names are written as the session's search_path and role show them: the defaults.
    conn.execute(b"RESET ROLE; RESET SESSION AUTHORIZATION; RESET search_path")
    version = conn.info.server_version
    query = _QUERIES.get(version)
    if query is None:
        query = _QUERIES[version] = _query(version).encode()
    row = conn.execute(query).fetchone()
    assert row is not None
    return str(row[0])
