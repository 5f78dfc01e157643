"""What views read and what re-creating them needs: one query over pg_rewrite and pg_depend.

A view's query is stored as its ``_RETURN`` rule (``pg_rewrite``); PostgreSQL records
a ``pg_depend`` row from that rule to every column the query references, and one with
``refobjsubid = 0`` to a relation it references without naming a column (docs,
"pg_depend", "pg_rewrite", "The Rule System": Views and the Rule System). These rows
are what makes ``ALTER COLUMN ... TYPE`` fail with "cannot alter type of a column
used by a view or rule", so they, not the view's text, say which views a type change
touches. The same query reads what a re-created view must get back besides its
options and grants (which :mod:`pgkeel.catalog._access` reads): its owner and
whether a materialized view is populated.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgkeel.catalog._reader import RELATIONS, Reader
from pgkeel.catalog.model import ViewUse

__all__ = ["ViewFacts", "read_view_facts"]

_VIEWS = RELATIONS + """
SELECT c.oid, pg_catalog.pg_get_userbyid(c.relowner), c.relispopulated,
       (SELECT COALESCE(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(
                    dn.nspname, dc.relname, da.attname)
                ORDER BY dn.nspname, dc.relname, da.attname), '[]')
        FROM (SELECT DISTINCT d.refobjid, d.refobjsubid
              FROM pg_catalog.pg_rewrite r
              JOIN pg_catalog.pg_depend d
                ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass
               AND d.objid = r.oid
               AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
               AND d.refobjid <> r.ev_class
              WHERE r.ev_class = c.oid) AS u
        JOIN pg_catalog.pg_class dc ON dc.oid = u.refobjid
        JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace
        LEFT JOIN pg_catalog.pg_attribute da
               ON da.attrelid = u.refobjid AND da.attnum = u.refobjsubid
              AND u.refobjsubid > 0)
FROM rel
JOIN pg_catalog.pg_class c ON c.oid = rel.oid
WHERE c.relkind IN ('v', 'm')
"""


@dataclass(frozen=True, slots=True)
class ViewFacts:
    """One view's row: what it reads, its owner, its populated flag."""

    uses: tuple[ViewUse, ...]
    owner: str
    populated: bool


def read_view_facts(reader: Reader) -> dict[int, ViewFacts]:
    """Read every view's dependencies and re-creation facts, by the view's oid.

    ``ViewFacts.uses`` is sorted by schema, relation and column (None, a whole-relation
    reference, first).
    """
    facts: dict[int, ViewFacts] = {}
    for oid, owner, populated, uses in reader.rows(_VIEWS):
        facts[oid] = ViewFacts(
            uses=tuple(sorted((ViewUse(s, r, c) for s, r, c in uses),
                              key=lambda u: (u.schema, u.relation, u.column or ""))),
            owner=owner,
            populated=populated,
        )
    return facts
