"""``pgkeel docs`` on Pagila, Chinook and Northwind: every table once, every key one edge.

Pagila's ``payment`` is partitioned by month: its partitions fold into it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree

import pytest
from docs_real_schemas import copy_of, docs_chinook_template, docs_northwind_template
from mermaid_grammar import parse
from typer.testing import CliRunner

from pgkeel.catalog import snapshot
from pgkeel.cli import app
from pgkeel.docs.mermaid import entity_id
from pgkeel.docs.pages import slug
from pgkeel.testing import TestCluster, TestDatabase

__all__ = ["docs_chinook_template", "docs_northwind_template"]  # fixtures, used by name

runner = CliRunner()


@pytest.fixture
def northwind(pg_cluster: TestCluster, docs_northwind_template: str) -> Iterator[TestDatabase]:
    yield from copy_of(pg_cluster, docs_northwind_template)


@pytest.fixture
def chinook(pg_cluster: TestCluster, docs_chinook_template: str) -> Iterator[TestDatabase]:
    yield from copy_of(pg_cluster, docs_chinook_template)


def _foreign_keys(db: TestDatabase) -> set[tuple[str, str, str]]:
    """(child, parent, columns) of every key, partitions replaced by their root.

    A key declared on each partition (Pagila's payment_p2022_01 ...) is one edge of
    the parent, as is the clone PostgreSQL makes of a parent's key on each partition.
    """
    with db.connect() as conn:
        rows = conn.execute("""
            WITH RECURSIVE up(rel, root) AS (
                SELECT c.oid, c.oid FROM pg_class c WHERE NOT c.relispartition
                UNION ALL
                SELECT i.inhrelid, up.root FROM pg_inherits i JOIN up ON i.inhparent = up.rel)
            SELECT DISTINCT format('%s.%s', cn.nspname, cc.relname),
                   format('%s.%s', pn.nspname, pc.relname),
                   (SELECT string_agg(a.attname, ',' ORDER BY n.i) FROM
                    unnest(k.conkey) WITH ORDINALITY AS n(num, i)
                    JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = n.num)
            FROM pg_constraint k
            JOIN up cu ON cu.rel = k.conrelid JOIN pg_class cc ON cc.oid = cu.root
            JOIN pg_namespace cn ON cn.oid = cc.relnamespace
            JOIN up pu ON pu.rel = k.confrelid JOIN pg_class pc ON pc.oid = pu.root
            JOIN pg_namespace pn ON pn.oid = pc.relnamespace
            WHERE k.contype = 'f'""").fetchall()
    return {(a, b, c) for a, b, c in rows}


def _docs(db: TestDatabase, out: Path, *args: str) -> str:
    result = runner.invoke(app, ["docs", "-d", db.url, "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return result.stderr


def _check_tree(db: TestDatabase, out: Path) -> None:
    with db.connect() as conn:
        snap = snapshot(conn)
    roots = sorted(t.qualified for t in snap.tables if not t.is_partition)
    index = (out / "index.md").read_text()
    # Every table once in the overview (one Mermaid diagram here: one schema).
    overview = re.search(r"```mermaid\n(.*?)```", index, re.S)
    assert overview
    entities, relations = parse(overview.group(1))
    assert entities == {entity_id(q) for q in roots}
    # Every foreign key one edge (a key's partition clones included only once).
    fks = _foreign_keys(db)
    assert len(relations) == len(fks)
    assert {(c, p) for p, _, _, c in relations} == \
        {(entity_id(c), entity_id(p)) for c, p, _ in fks}
    pages = sorted(p.stem for p in (out / "tables").glob("*.md"))
    assert pages == sorted(slug(q) for q in roots)
    for q in roots:
        page = (out / "tables" / f"{slug(q)}.md").read_text()
        parse(re.search(r"```mermaid\n(.*?)```", page, re.S).group(1))  # type: ignore[union-attr]
        for heading in ("## Columns", "## Constraints", "## Indexes", "## Triggers",
                        "## Row-level security", "## Grants", "## Findings of pgkeel check"):
            assert heading in page, (q, heading)
    if shutil.which("dot"):
        overview_svg = (out / "overview.svg").read_text()
        ElementTree.fromstring(overview_svg)
        assert overview_svg.count('class="node"') == len(roots)
        for q in roots:
            ElementTree.fromstring((out / "tables" / f"{slug(q)}.svg").read_text())


def test_pagila(pagila: TestDatabase, tmp_path: Path) -> None:
    _docs(pagila, tmp_path / "a")
    _check_tree(pagila, tmp_path / "a")
    payment = (tmp_path / "a" / "tables" / "public.payment.md").read_text()
    assert "Partitioned by RANGE (payment_date) into 7 partition(s)" in payment
    assert not (tmp_path / "a" / "tables" / "public.payment_p2022_01.md").exists()
    # Findings of check are on the page of the table they name.
    assert "| warning | " in payment or "| error | " in payment or "| info | " in payment
    # Deterministic: a second run writes the same bytes.
    _docs(pagila, tmp_path / "b")
    first = {p.relative_to(tmp_path / "a"): p.read_bytes()
             for p in (tmp_path / "a").rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path / "b"): p.read_bytes()
              for p in (tmp_path / "b").rglob("*") if p.is_file()}
    assert first == second


def test_chinook(chinook: TestDatabase, tmp_path: Path) -> None:
    _docs(chinook, tmp_path)
    _check_tree(chinook, tmp_path)


def test_northwind(northwind: TestDatabase, tmp_path: Path) -> None:
    _docs(northwind, tmp_path)
    _check_tree(northwind, tmp_path)


def test_pagila_html_in_chromium(pagila: TestDatabase, tmp_path: Path) -> None:
    """The HTML docs of Pagila open in Chromium; the overview is saved as a PNG to look at."""
    from docs_browser import artifacts_dir, browser_page

    _docs(pagila, tmp_path, "--format", "html")
    with browser_page() as (page, problems):
        page.goto((tmp_path / "index.html").as_uri())
        links = page.locator("table a")
        assert links.count() == 15  # every table, partitions folded into payment
        if shutil.which("dot"):
            overview = page.locator(".diagram svg").first
            assert overview.locator("g.node").count() == 15
            overview.screenshot(path=str(artifacts_dir() / "docs-pagila-overview.png"))
        page.goto((tmp_path / "tables" / "public.payment.html").as_uri())
        assert page.locator("h1").inner_text() == "public.payment"
        page.screenshot(path=str(artifacts_dir() / "docs-pagila-payment.png"), full_page=True)
    assert problems == []
