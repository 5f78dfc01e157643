"""The checklist item "Backup strategy documented and tested", answered from the disk.

The skill's Validation Checklist asks for a backup strategy that is tested; pgkeel's
answer is evidence, not a document: ``pass`` when a backup of the database younger
than ``[backup] max_age_hours`` exists and its last verification restored it and
passed; ``warn`` when a recent one exists but was not verified by restore; ``fail``
when none is recent enough, or every recent one failed its verification.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pgkeel.backup.store import list_backups

if TYPE_CHECKING:
    from pgkeel.config import Settings

__all__ = ["checklist_status"]


def checklist_status(database: str, settings: Settings, *, now: datetime | None = None
                     ) -> tuple[Literal["pass", "warn", "fail"], str]:
    """Answer the backup item for ``database`` from the backups directory of ``settings``.

    Returns ``(status, detail)``; the detail names the backup judged (or the directory
    looked in) and the fix. Reads files only; raises nothing for a missing directory.
    """
    root = settings.resolve(settings.backup.directory)
    limit = timedelta(hours=settings.backup.max_age_hours)
    moment = now or datetime.now(UTC)
    recent = [e for e in list_backups(root, database)
              if e.manifest is not None and moment - e.created_at <= limit]
    if not recent:
        return "fail", (f"no backup of {database} younger than "
                        f"{settings.backup.max_age_hours:g} h in {root}; fix: "
                        "`pgkeel backup create` then `pgkeel backup verify latest`, and "
                        "`pgkeel backup schedule` to automate both")
    verified = [e for e in recent if e.verified_by_restore]
    if verified:
        best = verified[-1]
        ms = best.verification.get("restore_ms") if best.verification else None
        return "pass", (f"backup {best.id} is verified by restore"
                        + (f" (restored in {ms / 1000:.1f} s)" if ms is not None else ""))
    untested = [e for e in recent if not (e.verification and not e.verification.get("ok"))]
    if not untested:
        newest = recent[-1]
        problems = (newest.verification or {}).get("problems") or ["no detail"]
        return "fail", (f"backup {newest.id} failed verification ({problems[0]}); fix: "
                        "back up again, then `pgkeel backup verify latest`")
    newest = untested[-1]
    level = newest.verification.get("level") if newest.verification else None
    why = f"verified only at level {level}" if level else "never verified"
    return "warn", (f"backup {newest.id} exists but {why}; fix: "
                    f"`pgkeel backup verify {newest.id}` (restores it into a scratch "
                    "database)")
