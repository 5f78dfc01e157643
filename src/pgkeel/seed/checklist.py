"""The checklist item "Seed data available for development", answered by ``seed``.

``pgkeel check`` asks :func:`checklist_status` when the project has a migrations
folder: a scratch database is built from the migrations
(:func:`pgkeel.migrations.scratch.migrated`); then the project's seed files run there
(:func:`pgkeel.seed.runner.run_seeds`), or, without a seeds folder, generated rows are
loaded (:func:`pgkeel.seed.fill`, 3 per table). The item passes when that works and
says which of the two it was. The scratch database is dropped afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pgkeel.errors import PgkeelError

__all__ = ["ITEM", "checklist_status"]

#: The checklist item this answers (the skill's words, "Validation Checklist").
ITEM = "Seed data available for development"

Status = Literal["pass", "warn", "fail", "not checked"]


def checklist_status(server_url: str | None, migrations: Path,
                     seeds: Path) -> tuple[Status, str]:
    """Seed a scratch database of ``server_url`` built from ``migrations``.

    ``seeds`` is the seeds folder (the ``[seed] directory`` setting). Returns
    ``("pass", detail)`` when the seed files ran cleanly (or, without a seeds folder,
    when generated rows loaded with every constraint kept), ``("fail", detail)`` naming
    the failing file and line, or what generation could not satisfy, and
    ``("not checked", reason)`` without a server or when the scratch database could not
    be built. Raises nothing pgkeel or psycopg raises: the checklist says it instead.
    """
    if server_url is None:
        return "not checked", ("the local cluster is not running, so there is no scratch "
                               "database to seed: `pgkeel db start`")
    import psycopg

    from pgkeel.connect import connect
    from pgkeel.migrations.scratch import migrated
    from pgkeel.seed import fill
    from pgkeel.seed.runner import run_seeds

    try:
        with migrated(server_url, migrations) as db, connect(db.url) as conn:
            if seeds.is_dir():
                try:
                    report = run_seeds(conn, seeds)
                except PgkeelError as exc:
                    return "fail", (f"the seed files fail on a scratch database built "
                                    f"from the migrations: {exc}; `pgkeel seed run` "
                                    "shows it")
                return "pass", (f"checked: the {len(report.ran)} seed file(s) of "
                                f"{seeds.name}/ ran cleanly on a scratch database "
                                "built from the migrations")
            generated = fill(conn, rows=3)
    except (PgkeelError, psycopg.Error) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return "not checked", f"no scratch database could be seeded: {first}"
    if generated.problems:
        return "fail", (f"no {seeds.name}/ folder, and generated rows cannot keep every "
                        f"constraint: {'; '.join(generated.problems[:3])}")
    return "pass", (f"checked: no {seeds.name}/ folder, but `pgkeel seed generate` filled "
                    f"{len(generated.tables)} table(s) with rows keeping every constraint "
                    "on a scratch database built from the migrations")
