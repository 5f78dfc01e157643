"""Tenant isolation proved by impersonation: ``pgkeel rls test``.

:mod:`~pgkeel.rls.personas` loads or derives the personas; :mod:`~pgkeel.rls.tester`
acts as each one the way PostgREST does and reports every cross-tenant row a persona
can read or change.
"""

from __future__ import annotations

from pgkeel.rls.personas import Persona, Personas, derive_personas, load_personas
from pgkeel.rls.tester import Case, RlsReport, check_isolation

__all__ = ["Case", "Persona", "Personas", "RlsReport", "check_isolation", "derive_personas",
           "load_personas"]
