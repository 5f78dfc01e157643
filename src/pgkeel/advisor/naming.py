"""Names for suggested indexes, in PostgreSQL's own style (``table_col1_col2_idx``,
as ``ChooseIndexName`` in src/backend/commands/indexcmds.c builds them), cut to
the 63-byte identifier limit (docs 4.1.1) and never one the schema uses."""

from __future__ import annotations

import re
from collections.abc import Set

from pgkeel.advisor.candidates import Candidate
from pgkeel.advisor.tableinfo import TableInfo

__all__ = ["index_name"]

_MAX = 63
_SKIP = {"desc", "asc", "nulls", "first", "last", "text_pattern_ops", "varchar_pattern_ops",
         "bpchar_pattern_ops", "jsonb_path_ops", "gin_trgm_ops", "and", "is", "not", "null"}


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9_]+", text.lower()) if w not in _SKIP]


def index_name(info: TableInfo, cand: Candidate, taken: Set[str]) -> str:
    """A free name for ``cand`` on ``info``: ``<table>_<element words>[_part]_idx``.

    Element words come from the columns and function names in the elements
    (``lower("email")`` gives ``lower_email``); a partial index adds ``part``; a
    name in ``taken`` gets a number, as PostgreSQL does (``..._idx1``).
    """
    words = [w for el in cand.elements for w in _words(el.split(" ")[0])][:4]
    parts = [info.name, *dict.fromkeys(words)]
    if cand.where:
        parts.append("part")
    stem = "_".join(parts)
    for n in range(1000):
        suffix = "_idx" + (str(n) if n else "")
        name = stem.encode()[: _MAX - len(suffix)].decode(errors="ignore") + suffix
        if name not in taken:
            return name
    raise ValueError("no free index name")  # a thousand names taken: not a real schema
