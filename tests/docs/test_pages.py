"""Table pages: security (RLS policy matrix, grants), comments, triggers, findings;
``--format html``, ``--schema``, and the Graphviz install hint, through the CLI."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from docs_browser import artifacts_dir, browser_page
from typer.testing import CliRunner

from pgkeel.cli import app
from pgkeel.testing import TestDatabase

runner = CliRunner()

SCHEMA = """
CREATE ROLE docs_app_user NOLOGIN;
CREATE ROLE docs_auditor NOLOGIN;
CREATE TABLE public.tenant (id int PRIMARY KEY, name text NOT NULL);
COMMENT ON TABLE public.tenant IS 'Customers of the SaaS: one row per company.';
CREATE TABLE public.doc (
    id int PRIMARY KEY,
    tenant_id int NOT NULL REFERENCES public.tenant,
    body text,
    updated_at timestamptz NOT NULL DEFAULT now());
COMMENT ON COLUMN public.doc.body IS 'Markdown | with *stars* and <tags>';
ALTER TABLE public.doc ENABLE ROW LEVEL SECURITY;
CREATE POLICY doc_read ON public.doc FOR SELECT TO docs_app_user, docs_auditor
    USING (tenant_id = current_setting('app.tenant')::int);
CREATE POLICY doc_write ON public.doc AS RESTRICTIVE FOR INSERT TO docs_app_user
    WITH CHECK (tenant_id = current_setting('app.tenant')::int);
GRANT SELECT, INSERT ON public.doc TO docs_app_user;
GRANT SELECT ON public.doc TO docs_auditor WITH GRANT OPTION;
CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN NEW.updated_at := now(); RETURN NEW; END$$;
CREATE TRIGGER doc_touch BEFORE UPDATE ON public.doc FOR EACH ROW
    EXECUTE FUNCTION public.touch();
CREATE SCHEMA other;
CREATE TABLE other.lonely (id int PRIMARY KEY);
INSERT INTO public.tenant SELECT g, 't' || g FROM generate_series(1, 20) g;
INSERT INTO public.doc SELECT g, 1 + g % 20, 'b', now() FROM generate_series(1, 200) g;
ANALYZE;
"""


@pytest.fixture
def secured(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        conn.execute(SCHEMA)
    yield pg_database
    with pg_database.connect() as conn:  # roles are cluster-wide: leave none behind
        conn.execute("DROP OWNED BY docs_app_user, docs_auditor")
        conn.execute("DROP ROLE docs_app_user")
        conn.execute("DROP ROLE docs_auditor")


def _docs(db: TestDatabase, out: Path, *args: str, env: dict[str, str] | None = None
          ) -> str:
    result = runner.invoke(app, ["docs", "-d", db.url, "--out", str(out), *args], env=env)
    assert result.exit_code == 0, result.output
    return result.stderr


def test_security_and_findings_on_the_page(secured: TestDatabase, tmp_path: Path) -> None:
    _docs(secured, tmp_path)
    page = (tmp_path / "tables" / "public.doc.md").read_text()
    assert "RLS enabled; 2 policies." in page
    # command x role matrix
    assert "| role | SELECT | INSERT | UPDATE | DELETE |" in page
    assert "| <code>docs_app_user</code> | doc_read | doc_write |  |  |" in page
    assert "| <code>docs_auditor</code> | doc_read |  |  |  |" in page
    assert ("| <code>doc_write</code> | INSERT | docs_app_user | restrictive |  | "
            "<code>(tenant_id = (current_setting('app.tenant'::text))::integer)</code> |"
            ) in page
    # role x privilege
    assert "| role | SELECT | INSERT | UPDATE | DELETE | TRUNCATE | REFERENCES | TRIGGER |" \
        in page
    assert "| <code>docs_auditor</code> | with grant option |  |" in page
    assert "| <code>docs_app_user</code> | yes | yes |  |" in page
    # comment with Markdown and HTML specials, escaped
    assert "Markdown \\| with \\*stars\\* and \\<tags\\>" in page
    assert "| <code>doc_touch</code> | BEFORE UPDATE | ROW | <code>public.touch</code> | yes |" \
        in page
    assert "rows (estimate): 200" in page
    assert "[public.tenant](public.tenant.md)" in page
    # check's finding for this table: the foreign key has no index
    assert "unindexed-foreign-key" in page and "CREATE INDEX CONCURRENTLY" in page
    tenant = (tmp_path / "tables" / "public.tenant.md").read_text()
    assert "Customers of the SaaS: one row per company." in tenant
    assert "No grants: only the owner" in tenant and "RLS disabled; 0 policies." in tenant


def test_schema_filter(secured: TestDatabase, tmp_path: Path) -> None:
    _docs(secured, tmp_path, "--schema", "other", "--no-svg")
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["other.lonely.md"]
    # Rerun on the whole database into the same folder, then narrow again: stale
    # pages of tables no longer documented are removed.
    _docs(secured, tmp_path, "--no-svg")
    assert len(list((tmp_path / "tables").iterdir())) == 3
    _docs(secured, tmp_path, "--schema", "other", "--no-svg")
    assert sorted(p.name for p in (tmp_path / "tables").iterdir()) == ["other.lonely.md"]


def test_without_graphviz_mermaid_is_still_written(secured: TestDatabase, tmp_path: Path,
                                                   ) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    stderr = _docs(secured, tmp_path / "out", env={"PATH": str(empty)})
    assert "Graphviz `dot` is not installed" in stderr and "apt-get install graphviz" in stderr
    assert "```mermaid" in (tmp_path / "out" / "index.md").read_text()
    assert not list((tmp_path / "out").rglob("*.svg"))


def test_html_docs_render_in_chromium(secured: TestDatabase, tmp_path: Path) -> None:
    _docs(secured, tmp_path, "--format", "html")
    index = tmp_path / "index.html"
    page_file = tmp_path / "tables" / "public.doc.html"
    assert "<tags>" not in page_file.read_text()
    if shutil.which("dot"):
        assert "<svg" in page_file.read_text()  # the diagram is inlined
    with browser_page() as (page, problems):
        page.goto(index.as_uri())
        page.get_by_role("link", name="public.doc").click()
        page.wait_for_load_state("load")
        assert page.url.endswith("/tables/public.doc.html")
        assert page.get_by_text("Markdown | with *stars* and <tags>").count() == 1
        page.screenshot(path=str(artifacts_dir() / "docs-table-page.png"), full_page=True)
    assert problems == []
