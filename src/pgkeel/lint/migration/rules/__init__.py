"""Migration rule families (catalogue sections A-G); importing this package registers
every rule they define.

- :mod:`.safety`, :mod:`.safety_constraints`, :mod:`.safety_scans`,
  :mod:`.safety_columns`, :mod:`.safety_types`, :mod:`.safety_tables`,
  :mod:`.safety_transactions`: locks, rewrites and scans (A);
- :mod:`.destructive`: drops and truncates that lose data (B);
- :mod:`.compatibility`: renames, enum labels, dropped guarantees, unique keys over
  existing rows (B);
- :mod:`.hygiene`: transactions, timeouts, schemas, file names (C);
- :mod:`.syntax`: parsing, version gates, identifiers, suppression comments (C);
- :mod:`.design`, :mod:`.key_types`: column types in DDL (D);
- :mod:`.structure`, :mod:`.shapes`: tables, keys, indexes and column shapes in DDL (D);
- :mod:`.security`: functions, search_path and extensions in DDL (E);
- :mod:`.rls`, :mod:`.policies`: row-level security, policies and API exposure in DDL (E);
- :mod:`.correctness`, :mod:`.queries`: data changes and SQL correctness (F);
- :mod:`.naming`: identifiers (G);
- :mod:`.live`: what only the live database knows (its history, its sessions).
"""

from __future__ import annotations

from pgkeel.lint.migration.rules import (
    compatibility,
    correctness,
    design,
    destructive,
    hygiene,
    key_types,
    live,
    naming,
    policies,
    queries,
    rls,
    safety,
    safety_columns,
    safety_constraints,
    safety_scans,
    safety_tables,
    safety_transactions,
    safety_types,
    security,
    shapes,
    structure,
    syntax,
)

__all__ = ["compatibility", "correctness", "design", "destructive", "hygiene", "key_types",
           "live", "naming", "policies", "queries", "rls", "safety", "safety_columns",
           "safety_constraints", "safety_scans", "safety_tables", "safety_transactions",
           "safety_types", "security", "shapes", "structure", "syntax"]
