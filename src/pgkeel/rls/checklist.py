"""The persona part of ``check``'s item "Row Level Security is strict".

The schema rules answer the item from the catalog (RLS on, policies present); when the
project holds a personas file (:data:`PERSONAS_FILE`), :func:`checklist_status` adds
the proof by impersonation (:func:`~pgkeel.rls.tester.check_isolation`), and
:func:`merge` combines both answers: the worse status, both details.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from pgkeel.check import ChecklistStatus
    from pgkeel.config import Settings

__all__ = ["PERSONAS_FILE", "checklist_status", "merge"]

#: The personas file ``check`` looks for in the project root.
PERSONAS_FILE = Path("rls-personas.yaml")

_RANK = {"not checked": 0, "pass": 1, "warn": 2, "fail": 3}


def checklist_status(conn: psycopg.Connection[Any], settings: Settings
                     ) -> tuple[ChecklistStatus, str] | None:
    """``(status, detail)`` of ``pgkeel rls test`` with the project's personas file, or
    None when the project has none. ``fail`` on a leak or when ``auth.uid()`` did not
    return a persona's id, ``pass`` otherwise, ``not checked`` (with pgkeel's reason)
    when the file is broken or a persona's role cannot be taken."""
    from pgkeel.catalog.introspect import snapshot
    from pgkeel.errors import PgkeelError
    from pgkeel.rls.personas import load_personas
    from pgkeel.rls.tester import check_isolation

    path = settings.resolve(PERSONAS_FILE)
    if not path.is_file():
        return None
    try:
        report = check_isolation(conn, snapshot(conn), load_personas(path))
    except PgkeelError as exc:
        return "not checked", f"rls test ({PERSONAS_FILE}) could not run: {exc}"
    summary = (f"rls test ({PERSONAS_FILE}): rows leaked: {report.rows_leaked} in "
               f"{len(report.cases)} case(s) over {len(report.tables)} table(s)")
    if report.uid_problems:
        return "fail", f"{summary}; {report.uid_problems[0]}"
    if report.leaks:
        first = report.leaks[0]
        return "fail", (f"{summary}; {first.table} {first.command} by {first.persona} "
                        f"through {', '.join(first.policies) or 'no policy'} "
                        "(pgkeel rls test shows all)")
    return "pass", summary


def merge(rules: tuple[ChecklistStatus, str], personas: tuple[ChecklistStatus, str]
          ) -> tuple[ChecklistStatus, str]:
    """The item's answer from the rules' ``(status, detail)`` and the personas': the
    worse status ("not checked" counts as nothing), both details."""
    status = max(rules[0], personas[0], key=_RANK.__getitem__)
    return status, f"{rules[1]}; {personas[1]}"
