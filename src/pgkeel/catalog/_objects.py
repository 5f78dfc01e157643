"""Objects that stand beside tables: schemas, sequences, functions, types, extensions.

One set-based query per kind (PostgreSQL docs, "pg_namespace", "pg_sequence",
"pg_proc", "pg_type", "pg_enum", "pg_extension"), each returning model objects sorted
by schema and name.
"""

from __future__ import annotations

from typing import Literal

from pgkeel.catalog._reader import Reader, not_extension_member, user_namespace
from pgkeel.catalog.model import (
    CheckConstraint,
    Domain,
    Enum,
    Extension,
    Function,
    Schema,
    Sequence,
)

__all__ = [
    "read_domains",
    "read_enums",
    "read_extensions",
    "read_functions",
    "read_schemas",
    "read_sequences",
]

_SCHEMAS = f"""
SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), d.description
FROM pg_catalog.pg_namespace n
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = n.oid AND d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
WHERE {user_namespace("n")} AND {not_extension_member("pg_namespace", "n.oid")}
"""

# A serial column's sequence depends on it with deptype 'a' (OWNED BY), an identity
# column's with deptype 'i' (PostgreSQL docs, "pg_depend"). The last value is read as
# the pg_sequences view does: NULL without the privilege, or before the first nextval.
_SEQUENCES = f"""
SELECT n.nspname, c.relname, pg_catalog.format_type(s.seqtypid, NULL),
       tn.nspname, tc.relname, a.attname,
       s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle,
       CASE WHEN pg_catalog.has_sequence_privilege(c.oid, 'SELECT,USAGE')
            THEN pg_catalog.pg_sequence_last_value(c.oid) END,
       pg_catalog.pg_get_userbyid(c.relowner), sd.description
FROM pg_catalog.pg_sequence s
JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.seqrelid
      AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i')
LEFT JOIN pg_catalog.pg_class tc ON tc.oid = d.refobjid
LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
LEFT JOIN pg_catalog.pg_description sd
       ON sd.objoid = c.oid AND sd.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
      AND sd.objsubid = 0
WHERE {user_namespace("n")} AND {not_extension_member("pg_class", "c.oid")}
"""

_FUNCTIONS = f"""
SELECT n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid),
       COALESCE(pg_catalog.pg_get_function_result(p.oid), ''), l.lanname, p.prokind,
       p.prosecdef, p.provolatile, NULLIF(p.prosrc, ''),
       pg_catalog.pg_get_userbyid(p.proowner), d.description
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_language l ON l.oid = p.prolang
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = p.oid AND d.classoid = 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND d.objsubid = 0
WHERE {user_namespace("n")} AND {not_extension_member("pg_proc", "p.oid")}
"""

_ENUMS = f"""
SELECT n.nspname, t.typname,
       ARRAY(SELECT e.enumlabel FROM pg_catalog.pg_enum e
             WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
       pg_catalog.pg_get_userbyid(t.typowner), d.description
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass
      AND d.objsubid = 0
WHERE t.typtype = 'e' AND {user_namespace("n")}
  AND {not_extension_member("pg_type", "t.oid")}
"""

# Domain CHECK constraints come back as three arrays in the same (name) order.
_DOMAINS = f"""
SELECT n.nspname, t.typname, pg_catalog.format_type(t.typbasetype, t.typtypmod),
       NOT t.typnotnull, t.typdefault,
       ARRAY(SELECT co.conname FROM pg_catalog.pg_constraint co
             WHERE co.contypid = t.oid AND co.contype = 'c' ORDER BY co.conname),
       ARRAY(SELECT pg_catalog.pg_get_expr(co.conbin, 0) FROM pg_catalog.pg_constraint co
             WHERE co.contypid = t.oid AND co.contype = 'c' ORDER BY co.conname),
       ARRAY(SELECT co.convalidated FROM pg_catalog.pg_constraint co
             WHERE co.contypid = t.oid AND co.contype = 'c' ORDER BY co.conname),
       pg_catalog.pg_get_userbyid(t.typowner), d.description
FROM pg_catalog.pg_type t
JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_catalog.pg_description d
       ON d.objoid = t.oid AND d.classoid = 'pg_catalog.pg_type'::pg_catalog.regclass
      AND d.objsubid = 0
WHERE t.typtype = 'd' AND {user_namespace("n")}
  AND {not_extension_member("pg_type", "t.oid")}
"""

_EXTENSIONS = """
SELECT e.extname, e.extversion, n.nspname
FROM pg_catalog.pg_extension e
JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
"""

_KINDS: dict[str, Literal["function", "procedure", "aggregate", "window"]] = {
    "f": "function", "p": "procedure", "a": "aggregate", "w": "window",
}
_VOLATILITY: dict[str, Literal["immutable", "stable", "volatile"]] = {
    "i": "immutable", "s": "stable", "v": "volatile",
}


def read_schemas(reader: Reader) -> list[Schema]:
    """Return the user schemas, sorted by name."""
    return sorted((Schema(name, owner, comment=comment)
                   for name, owner, comment in reader.rows(_SCHEMAS)),
                  key=lambda s: s.name)


def read_sequences(reader: Reader) -> list[Sequence]:
    """Return the sequences; ``owned_by`` is ``schema.table.column`` when one owns it."""
    return sorted(
        (Sequence(schema, name, data_type,
                  f"{tschema}.{table}.{column}" if column is not None else None,
                  *options, owner=owner, comment=comment)
         for schema, name, data_type, tschema, table, column, *options, owner, comment
         in reader.rows(_SEQUENCES)),
        key=lambda s: (s.schema, s.name),
    )


def read_functions(reader: Reader) -> list[Function]:
    """Return functions, procedures, aggregates and window functions.

    ``returns`` is ``pg_get_function_result()``, and ``''`` for a procedure (which has
    no result type). Sorted by schema, name and identity arguments.
    """
    return sorted(
        (Function(schema, name, args, returns, language, _KINDS[kind], secdef,
                  _VOLATILITY[volatility], source, owner=owner, comment=comment)
         for schema, name, args, returns, language, kind, secdef, volatility, source, owner,
         comment in reader.rows(_FUNCTIONS)),
        key=lambda f: (f.schema, f.name, f.arguments),
    )


def read_enums(reader: Reader) -> list[Enum]:
    """Return the enum types, each with its labels in sort order."""
    return sorted((Enum(schema, name, tuple(labels), owner=owner, comment=comment)
                   for schema, name, labels, owner, comment in reader.rows(_ENUMS)),
                  key=lambda e: (e.schema, e.name))


def read_domains(reader: Reader) -> list[Domain]:
    """Return the domains with their CHECK constraints (sorted by constraint name)."""
    return sorted(
        (Domain(schema, name, base, nullable, default,
                tuple(CheckConstraint(*check) for check in zip(names, exprs, valid,
                                                              strict=True)),
                owner=owner, comment=comment)
         for schema, name, base, nullable, default, names, exprs, valid, owner, comment
         in reader.rows(_DOMAINS)),
        key=lambda d: (d.schema, d.name),
    )


def read_extensions(reader: Reader) -> list[Extension]:
    """Return the installed extensions (``plpgsql`` included), sorted by name."""
    return sorted((Extension(name, version, schema)
                   for name, version, schema in reader.rows(_EXTENSIONS)),
                  key=lambda e: e.name)
