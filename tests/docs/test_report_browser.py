"""``pgkeel check --format html`` rendered by a real headless Chromium.

The report is one file: it must render with no console error, fetch nothing, show
the checklist, grouped findings with fixes, and its charts; the screenshot goes to
CI's artefacts folder. Names with ``<``, ``&`` and quotes must print as text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from docs_browser import artifacts_dir, browser_page
from typer.testing import CliRunner

from pgkeel.check import CHECKLIST
from pgkeel.cli import app
from pgkeel.errors import UsageError
from pgkeel.examples import example_sql
from pgkeel.testing import TestDatabase

runner = CliRunner()

HOSTILE = """
CREATE TABLE "<script>alert(1)</script>" (id int PRIMARY KEY, "a&b" text);
CREATE TABLE "O'Brien ""q"" x" (id int PRIMARY KEY,
    x int REFERENCES "<script>alert(1)</script>");
INSERT INTO "<script>alert(1)</script>" SELECT g, 'x' FROM generate_series(1, 50) g;
"""


@pytest.fixture
def shop(pg_database: TestDatabase) -> TestDatabase:
    with pg_database.connect() as conn:
        conn.execute(example_sql())
        conn.execute(HOSTILE)
        conn.execute("ANALYZE")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for _ in range(3):
            conn.execute("SELECT count(*) FROM \"<script>alert(1)</script>\" WHERE \"a&b\" = 'x'")
    return pg_database


def _report(db: TestDatabase, path: Path) -> str:
    result = runner.invoke(app, ["check", "-d", db.url, "--format", "html", "--out",
                                 str(path), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return path.read_text()


def test_report_is_self_contained_and_escaped(shop: TestDatabase, tmp_path: Path) -> None:
    text = _report(shop, tmp_path / "report.html")
    assert "<script" not in text  # the table name is text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    # Nothing to fetch: no script, style sheet, image, font or frame source (links to
    # rule docs are plain <a href>, followed only when clicked).
    for fetch in ("src=", "<link", "@import", "url(", "<iframe", "<img"):
        assert fetch not in text, fetch
    assert text.count('class="badge') == len(CHECKLIST)
    assert "unindexed-foreign-key" in text and "CREATE INDEX" in text


def test_report_renders_in_chromium(shop: TestDatabase, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    _report(shop, report)
    with browser_page() as (page, problems):
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        assert page.title().startswith("pgkeel check: ")
        assert page.locator("h2").all_inner_texts()[:2] == ["Validation Checklist", "Findings"]
        assert page.locator(".badge").count() == len(CHECKLIST)
        # Charts drew bars: table sizes, index usage, and the slowest statements
        # (pg_stat_statements is preloaded by the test clusters when it is installed).
        charts = page.locator("svg.chart")
        assert charts.count() >= 2
        assert page.locator("svg.chart rect").count() >= 3
        # A hostile table name is shown as text, not run.
        assert page.get_by_text("<script>alert(1)</script>", exact=False).count() >= 1
        shot = artifacts_dir() / "check-report.png"
        page.screenshot(path=str(shot), full_page=True)
    assert problems == []
    assert shot.stat().st_size > 10_000


def test_statements_unreadable_says_how(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    text = _report(pg_database, tmp_path / "r.html")
    assert "pg_stat_statements is not usable in this database" in text
    assert "CREATE EXTENSION pg_stat_statements" in text


def test_out_needs_a_file_format(pg_database: TestDatabase, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "-d", pg_database.url, "--out",
                                 str(tmp_path / "x.txt")])
    assert isinstance(result.exception, UsageError)  # exit 2 through pgkeel.cli.main
    assert "--out writes a file" in str(result.exception)
    result = runner.invoke(app, ["check", "-d", pg_database.url, "--format", "json",
                                 "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 0 and result.stdout == ""
    assert '"checklist"' in (tmp_path / "x.json").read_text()
