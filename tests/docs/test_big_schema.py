"""A generated 150-table schema (6 schemas of 25) keeps a readable overview.

Each schema has a hub, a chain of tables that reference the previous one and the
hub, and two keys into the previous schema: the kind of graph that makes one
ER diagram unreadable. The overview draws names and keys only, one Mermaid diagram
per schema; Graphviz clusters the schemas.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from xml.etree import ElementTree

import pytest
from mermaid_grammar import parse

from pgkeel.catalog import snapshot
from pgkeel.docs.erd import build_erd
from pgkeel.docs.graphviz import render_dot, render_svg
from pgkeel.docs.write import write_docs
from pgkeel.testing import TestDatabase

SCHEMAS = 6
PER_SCHEMA = 25


def _ddl() -> str:
    out = []
    for s in range(SCHEMAS):
        out.append(f"CREATE SCHEMA s{s};")
        out.append(f"CREATE TABLE s{s}.hub (id int PRIMARY KEY, name text NOT NULL);")
        for t in range(1, PER_SCHEMA):
            prev = "hub" if t == 1 else f"t{t - 1}"
            cross = (f", ext_id int REFERENCES s{s - 1}.t{t}" if s and t in (5, 15) else "")
            out.append(f"CREATE TABLE s{s}.t{t} (id int PRIMARY KEY, "
                       f"hub_id int NOT NULL REFERENCES s{s}.hub, "
                       f"prev_id int REFERENCES s{s}.{prev}{cross}, note text);")
    return "\n".join(out)


@pytest.fixture
def big(pg_database: TestDatabase):  # type: ignore[no-untyped-def]
    with pg_database.connect() as conn:
        conn.execute(_ddl())
        return snapshot(conn)


def test_overview_stays_small(big, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    erd = build_erd(big)
    assert len(erd.entities) == SCHEMAS * PER_SCHEMA
    write_docs(big, (), tmp_path, svg=False)
    index = (tmp_path / "index.md").read_text()
    diagrams = re.findall(r"```mermaid\n(.*?)```", index, re.S)
    assert len(diagrams) == SCHEMAS
    assert [f"### Schema s{n}" for n in range(SCHEMAS)] == re.findall(r"### Schema s\d", index)
    seen: set[str] = set()
    edges = 0
    for text in diagrams:
        assert "{" not in text.replace("o{", "")  # names and keys only, no columns
        entities, relations = parse(text)
        # Its own 25 tables plus the 2 it references in the previous schema.
        assert len(entities) <= PER_SCHEMA + 2
        assert len(text.splitlines()) <= 1 + (PER_SCHEMA + 2) + 2 * PER_SCHEMA + 2
        seen |= entities
        edges += len(relations)
    assert len(seen) == SCHEMAS * PER_SCHEMA
    # Every key drawn once: hub and previous table per table, two into the schema before.
    assert edges == len(erd.edges) == SCHEMAS * 2 * (PER_SCHEMA - 1) + (SCHEMAS - 1) * 2
    # A table page draws only its neighbours.
    page = (tmp_path / "tables" / "s3.t10.md").read_text()
    entities, _ = parse(re.search(r"```mermaid\n(.*?)```", page, re.S).group(1))  # type: ignore[union-attr]
    assert len(entities) == 4  # t10, the hub, t9 and t11


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz dot is not installed (apt-get install graphviz)")
def test_overview_svg_is_bounded(big) -> None:  # type: ignore[no-untyped-def]
    svg = render_svg(render_dot(build_erd(big)))
    root = ElementTree.fromstring(svg)
    width = float(root.attrib["width"].removesuffix("pt"))
    height = float(root.attrib["height"].removesuffix("pt"))
    assert svg.count('class="node"') == SCHEMAS * PER_SCHEMA
    assert svg.count('class="cluster"') == SCHEMAS
    # Drawn at full scale, names at 10 pt, one cluster box per schema: readable at
    # 100 % zoom, and the page stays within about A0 (2384 x 3370 pt) per 150 tables
    # (measured: 2907 x 3826 pt with Graphviz 2.43).
    assert 'transform="scale(1 1)' in svg
    assert set(re.findall(r'font-size="([0-9.]+)"', svg)) == {"10.00", "14.00"}
    assert width * height <= 1.5 * 2384 * 3370
    assert max(width, height) / min(width, height) <= 3


@pytest.mark.skipif(shutil.which("dot") is None,
                    reason="Graphviz dot is not installed (apt-get install graphviz)")
def test_every_table_gets_its_svg(big, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = write_docs(big, (), tmp_path)
    assert result.svg_skipped is None
    svgs = sorted((tmp_path / "tables").glob("*.svg"))
    assert len(svgs) == SCHEMAS * PER_SCHEMA
    hub = (tmp_path / "tables" / "s2.hub.svg").read_text()
    ElementTree.fromstring(hub)
    # The hub and the 24 tables of its schema that reference it: a neighbourhood.
    assert hub.count('class="node"') == PER_SCHEMA
