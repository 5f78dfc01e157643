"""Pattern generators: each writes one reviewed, reversible migration.

``timestamps``, ``soft_delete``, ``audit`` and ``rls`` read the catalog
(:class:`~pgkeel.catalog.model.Snapshot`) and return a :class:`Generated`: the
:class:`~pgkeel.migrations._write.MigrationDraft` (up and down) and the notes a
reviewer must read (foreign keys, ``ON CONFLICT`` clauses, policy traps). Writing the
file is :func:`pgkeel.migrations._write.write_migrations`' job.
"""

from __future__ import annotations

from pgkeel.patterns._common import Generated

__all__ = ["Generated"]
