"""Identifiers and literals written as SQL text, for the fixes and messages pgkeel prints.

Kept apart from the catalog and the rules so that code with no database at hand
(``pgkeel lint FILE``, plan rules) can quote names without loading either.
"""

from __future__ import annotations

import re

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

__all__ = ["ident", "literal", "qualified_ident", "quote_ident"]

# quote_ident quotes every keyword but the unreserved ones (ruleutils.c,
# quote_identifier; the same rule as the catalog's index definitions). pglast's list
# is PostgreSQL 18's, so a name reads the same whatever server it came from.
_KEYWORDS = COL_NAME_KEYWORDS | RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS
_BARE = re.compile(r"[a-z_][a-z0-9_]*")


def ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (``"a""b"`` for ``a"b``)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a SQL string literal (``standard_conforming_strings`` on, the default)."""
    return "'" + text.replace("'", "''") + "'"


def qualified_ident(schema: str, name: str) -> str:
    """``"schema"."name"``."""
    return f"{ident(schema)}.{ident(name)}"


def quote_ident(name: str) -> str:
    """``name`` as PostgreSQL's ``quote_ident`` writes it: bare only when it must be.

    Lower-case ASCII letters, digits and underscores, not starting with a digit, and
    not a keyword other than an unreserved one, stay bare; anything else is
    double-quoted with inner quotes doubled. ``rental`` -> ``rental``,
    ``Bestellung ü`` -> ``"Bestellung ü"``, ``user`` -> ``"user"``.
    """
    if _BARE.fullmatch(name) and name not in _KEYWORDS:
        return name
    return ident(name)
