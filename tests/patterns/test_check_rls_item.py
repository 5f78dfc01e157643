"""``pgkeel check``: "Row Level Security is strict" adds rls test's result when the
project has rls-personas.yaml, keeping the rules' part."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from rls_setup import protected

from pgkeel.connect import connect
from pgkeel.testing import TestDatabase

ITEM = "Row Level Security is strict"


def rls_item(url: str, project: Path) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    done = subprocess.run([sys.executable, "-m", "pgkeel", "check", "-d", url, "--project",
                           str(project), "--format", "json"], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    (item,) = [i for i in json.loads(done.stdout)["checklist"] if i["item"] == ITEM]
    return item


def test_check_uses_the_personas(pg_database: TestDatabase, tmp_path: Path) -> None:
    personas = protected(pg_database.url, tmp_path)
    without = rls_item(pg_database.url, tmp_path)
    assert "rls test" not in str(without["detail"])
    personas.rename(tmp_path / "rls-personas.yaml")
    item = rls_item(pg_database.url, tmp_path)
    assert item["rules"] == without["rules"]  # the rules' part stays
    assert str(item["detail"]).startswith(str(without["detail"]))
    assert "rls test (rls-personas.yaml): rows leaked: 0 in 20 case(s) over 1 table(s)" \
        in str(item["detail"])
    assert item["status"] == without["status"]
    with connect(pg_database.url) as conn:
        conn.execute("DROP POLICY projects_tenant_select ON projects")
        conn.execute("CREATE POLICY projects_tenant_select ON projects FOR SELECT "
                     "TO authenticated USING (true)")
    leaked = rls_item(pg_database.url, tmp_path)
    assert leaked["status"] == "fail"
    assert "public.projects SELECT by alice through projects_tenant_select" in \
        str(leaked["detail"])
