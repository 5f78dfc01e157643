"""Write the advice as a migration (``advise indexes --write-migration``).

Through :mod:`pgkeel.migrations._write`, the one writer of migration files (DESIGN.md
principle 6). ``CREATE INDEX CONCURRENTLY`` cannot run inside a transaction block
(docs, CREATE INDEX, "Building Indexes Concurrently"), so both sections are
``transaction:false``; the down section drops the indexes concurrently, newest first.
"""

from __future__ import annotations

from pathlib import Path

from pgkeel.advisor.indexes import IndexAdvice, Suggestion
from pgkeel.migrations._write import MigrationDraft, write_migrations

__all__ = ["DEFAULT_NAME", "index_draft", "write_index_migration"]

DEFAULT_NAME = "add advised indexes"


def _comment(s: Suggestion) -> str:
    served = ", ".join(q.label for q in s.queries)
    return f"-- {s.reduction:.1%} of the workload's estimated cost; serves {served}"


def index_draft(advice: IndexAdvice, name: str = DEFAULT_NAME) -> MigrationDraft | None:
    """The migration that builds the advice's indexes (None when there are none)."""
    if not advice.suggestions:
        return None
    up = "\n".join(f"{_comment(s)}\n{s.create};" for s in advice.suggestions)
    down = "\n".join(f"{s.drop};" for s in reversed(advice.suggestions))
    header = ("-- Written by `pgkeel advise indexes --write-migration`: "
              f"{len(advice.suggestions)} index(es), estimated workload cost "
              f"{advice.cost_before:,.0f} -> {advice.cost_after:,.0f}.")
    return MigrationDraft(name=name, up=up, down=down, header=header,
                          up_transaction=False, down_transaction=False)


def write_index_migration(advice: IndexAdvice, directory: Path,
                          name: str = DEFAULT_NAME) -> tuple[Path, ...]:
    """Write :func:`index_draft` into ``directory``; return the path (none when there
    is nothing to build). Raises as :func:`~pgkeel.migrations._write.write_migrations`."""
    draft = index_draft(advice, name)
    return write_migrations(directory, [draft]) if draft else ()
