"""The Mermaid pgkeel writes, parsed and rendered by mermaid.js itself in Chromium.

Hostile names (quotes, ``<``, ``|``, spaces), Pagila's overview and a full
per-table diagram: ``mermaid.parse`` must accept each, and ``mermaid.render`` must
draw every entity.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from docs_browser import artifacts_dir, browser_page
from mermaid_js import mermaid_js

from pgkeel.catalog import snapshot
from pgkeel.docs.erd import build_erd
from pgkeel.docs.mermaid import render_mermaid
from pgkeel.testing import TestDatabase

HOSTILE = """
CREATE SCHEMA "Sales <EU>";
CREATE TABLE "Sales <EU>"."Parent""Table" (id int PRIMARY KEY, "a|b" text,
    "Größe (cm)" numeric(10,2), "#1;" int);
CREATE TABLE "Sales <EU>".profile (id int PRIMARY KEY,
    parent_id int NOT NULL UNIQUE REFERENCES "Sales <EU>"."Parent""Table");
CREATE TABLE "x%%{init}%%" (id int PRIMARY KEY, p int REFERENCES "Sales <EU>".profile);
"""

PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<script src="{script}"></script><div id="out"></div></body></html>"""


def _render_all(diagrams: list[str], script: Path, tmp_path: Path, shot: str) -> None:
    page_file = tmp_path / "mermaid.html"
    page_file.write_text(PAGE.format(script=script.as_uri()))
    with browser_page() as (page, problems):
        page.goto(page_file.as_uri())
        page.wait_for_function("typeof window.mermaid !== 'undefined'")
        results = page.evaluate("""async (texts) => {
            mermaid.initialize({startOnLoad: false, securityLevel: 'strict'});
            const out = [];
            for (const [n, text] of texts.entries()) {
                try {
                    await mermaid.parse(text);
                    const {svg} = await mermaid.render('d' + n, text);
                    document.getElementById('out').insertAdjacentHTML('beforeend', svg);
                    out.push({ok: true, entities: (svg.match(/class="entityBox"|entityBox/g)
                                                    || []).length, svg: svg.length});
                } catch (e) { out.push({ok: false, error: String(e && e.message || e)}); }
            }
            return out;
        }""", diagrams)
        page.screenshot(path=str(artifacts_dir() / shot), full_page=True)
    bad = [(d.splitlines()[:3], r) for d, r in zip(diagrams, results, strict=True)
           if not r["ok"]]
    assert not bad, json.dumps(bad, indent=1)[:2000]
    assert all(r["svg"] > 500 for r in results)
    assert problems == []


def test_hostile_names_render(pg_database: TestDatabase, tmp_path: Path,
                              request: pytest.FixtureRequest) -> None:
    script = mermaid_js(request.config.cache)
    with pg_database.connect() as conn:
        conn.execute(HOSTILE)
        erd = build_erd(snapshot(conn))
    diagrams = [render_mermaid(erd), render_mermaid(erd, columns="all"),
                render_mermaid(erd.neighbourhood("Sales <EU>.profile"),
                               focus="Sales <EU>.profile")]
    _render_all(diagrams, script, tmp_path, "mermaid-hostile.png")


def test_pagila_renders(pagila: TestDatabase, tmp_path: Path,
                        request: pytest.FixtureRequest) -> None:
    script = mermaid_js(request.config.cache)
    with pagila.connect() as conn:
        erd = build_erd(snapshot(conn))
    diagrams = [render_mermaid(erd)] + [
        render_mermaid(erd.neighbourhood(e.qualified), focus=e.qualified)
        for e in erd.entities]
    _render_all(diagrams, script, tmp_path, "mermaid-pagila.png")
