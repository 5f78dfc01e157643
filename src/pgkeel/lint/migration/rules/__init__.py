"""Migration rule families (catalogue sections A-G); importing this package registers
every rule they define.

- :mod:`.safety`, :mod:`.safety_constraints`, :mod:`.safety_scans`,
  :mod:`.safety_columns`, :mod:`.safety_types`, :mod:`.safety_tables`,
  :mod:`.safety_transactions`: locks, rewrites and scans (A);
- :mod:`.destructive`: data loss, data-dependent and backward-incompatible changes (B);
- :mod:`.hygiene`: transactions, timeouts, schemas, file names (C);
- :mod:`.syntax`: parsing, version gates, identifiers, suppression comments (C);
- :mod:`.design`: types and structure in DDL (D);
- :mod:`.security`: privileges and row-level security in DDL (E);
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
    safety,
    safety_columns,
    safety_constraints,
    safety_scans,
    safety_tables,
    safety_transactions,
    safety_types,
    security,
    syntax,
)

__all__ = ["correctness", "design", "destructive", "hygiene", "live", "naming", "safety",
           "safety_columns", "safety_constraints", "safety_scans", "safety_tables",
           "safety_transactions", "safety_types", "security", "syntax"]
