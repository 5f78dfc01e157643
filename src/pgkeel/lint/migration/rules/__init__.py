"""Migration rule families (catalogue sections A-G); importing this package registers
every rule they define.

- :mod:`.safety`, :mod:`.safety_constraints`, :mod:`.safety_columns`,
  :mod:`.safety_transactions`: locks, rewrites and scans (A);
- :mod:`.destructive`: data loss, data-dependent and backward-incompatible changes (B);
- :mod:`.hygiene`: transactions, timeouts, parsing, file names (C);
- :mod:`.design`: column types in DDL (D);
- :mod:`.structure`: keys, inheritance, indexes and table shapes in DDL (D);
- :mod:`.security`: functions, search_path and extensions in DDL (E);
- :mod:`.rls`: row-level security, policies and API exposure in DDL (E);
- :mod:`.correctness`: SQL correctness and data changes (F);
- :mod:`.naming`: identifiers (G);
- :mod:`.live`: what only the live database knows (its history, its sessions).
"""

from __future__ import annotations

from pgkeel.lint.migration.rules import (
    correctness,
    design,
    destructive,
    hygiene,
    live,
    naming,
    rls,
    safety,
    safety_columns,
    safety_constraints,
    safety_transactions,
    security,
    structure,
)

__all__ = ["correctness", "design", "destructive", "hygiene", "live", "naming", "rls",
           "safety", "safety_columns", "safety_constraints", "safety_transactions", "security",
           "structure"]
