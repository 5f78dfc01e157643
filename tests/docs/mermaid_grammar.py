"""A structural check of the Mermaid ``erDiagram`` subset pgkeel emits.

Not Mermaid's parser: the line forms :mod:`pgkeel.docs.mermaid` writes, with the
token rules of Mermaid's ``erDiagram`` grammar (mermaid-js/mermaid,
``packages/mermaid/src/diagrams/er/parser/erDiagram.jison``): entity ids and
attribute words from ``[A-Za-z_][A-Za-z0-9_]*``, quoted strings without ``"``,
relationship ends ``||``, ``|o``, ``o|``, ``o{``.
"""

from __future__ import annotations

import re

_LABEL = r'"[^"<>\n]*"'
ENTITY = re.compile(rf"    (t_[A-Za-z0-9_]+)\[{_LABEL}\]( \{{)?")
ATTRIBUTE = re.compile(rf"    [A-Za-z_][A-Za-z0-9_]* [A-Za-z_][A-Za-z0-9_]*"
                       rf"( (PK|FK|UK)(,(PK|FK|UK))*)?( {_LABEL})?")
RELATION = re.compile(rf"    (t_[A-Za-z0-9_]+) (\|\||\|o)--(o\||o\{{) (t_[A-Za-z0-9_]+) : {_LABEL}")


def parse(text: str) -> tuple[set[str], list[tuple[str, str, str, str]]]:
    """Return (entity ids, relationships) of ``text``; AssertionError on a bad line."""
    lines = text.splitlines()
    assert lines[0] == "erDiagram", lines[0]
    entities: set[str] = set()
    relations = []
    in_block = False
    for line in lines[1:]:
        if in_block:
            if line == "    }":
                in_block = False
                continue
            assert ATTRIBUTE.fullmatch(line), f"bad attribute line: {line!r}"
            continue
        if m := ENTITY.fullmatch(line):
            assert m.group(1) not in entities, f"entity twice: {line!r}"
            entities.add(m.group(1))
            in_block = bool(m.group(2))
            continue
        m = RELATION.fullmatch(line)
        assert m, f"bad line: {line!r}"
        relations.append((m.group(1), m.group(2), m.group(3), m.group(4)))
    assert not in_block, "unclosed attribute block"
    for parent, _, _, child in relations:
        assert parent in entities and child in entities, (parent, child)
    return entities, relations
