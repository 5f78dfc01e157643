"""Mermaid ``erDiagram`` text of an :class:`~pgkeel.docs.erd.Erd` (renders on GitHub).

Only a small part of the grammar is emitted (Mermaid docs, "Entity Relationship
Diagrams"), each token made safe for it, since identifiers are arbitrary text
(unescaped quotes from quoted identifiers broke tbls' Mermaid, k1LoW/tbls#790):

- an entity is ``ID["label"]``: ``ID`` matches ``t_[A-Za-z0-9_]*`` (:func:`entity_id`);
  the label is the ``schema.name`` with every character outside letters, digits,
  space and ``_ . , : ( ) / -`` written as a Mermaid entity code ``#NNN;``;
- an attribute is ``type name [PK|FK|UK ...] ["comment"]``, type and name made of
  ``[A-Za-z0-9_]`` (the true text, when it differs, goes in the comment);
- a relationship is ``PARENT ||--o{ CHILD : "label"``: crow's-foot ends from
  :class:`~pgkeel.docs.erd.Edge` (``||`` one, ``|o`` zero or one, ``o{`` zero or
  more, ``o|`` zero or one on the child's side).
"""

from __future__ import annotations

import hashlib
import re

from pgkeel.docs.erd import Edge, Entity, Erd

__all__ = ["entity_id", "label", "render_mermaid"]

_WORD = re.compile(r"[^A-Za-z0-9_]")
_SAFE_LABEL = re.compile(r"[\w.,:()/\- ]")


def entity_id(qualified: str) -> str:
    """A Mermaid-safe, unique and stable id for the table ``schema.name``.

    The name with other characters replaced, plus 6 hex digits of its SHA-1: two
    names that read alike once replaced (``a.b__c``, ``a__b.c``) still differ, and
    adding a table never renames another (diffs stay small).
    """
    digest = hashlib.sha1(qualified.encode()).hexdigest()[:6]
    return f"t_{_WORD.sub('_', qualified)}_{digest}"


def label(text: str) -> str:
    """``text`` with every character Mermaid could misread written as ``#NNN;``."""
    return "".join(ch if _SAFE_LABEL.fullmatch(ch) else f"#{ord(ch)};" for ch in text)


def _token(text: str) -> str:
    word = _WORD.sub("_", text.replace(" ", "_"))
    # A leading letter: Mermaid reads "_1" as Markdown emphasis and draws an italic "1".
    return word if word[:1].isalpha() else "n" + word


def _attributes(entity: Entity, edges: tuple[Edge, ...], full: bool) -> list[str]:
    table = entity.table
    pk = set(table.primary_key.columns) if table.primary_key else set()
    fk = {c for e in edges if e.child == entity.qualified for c in e.columns}
    fk |= {c for k in table.foreign_keys for c in k.columns}
    uk = {c for u in table.unique_constraints for c in u.columns}
    keyed = pk | {c for e in edges for c in
                  (e.columns if e.child == entity.qualified else
                   e.ref_columns if e.parent == entity.qualified else ())}
    lines = []
    for col in table.columns:
        if not full and col.name not in keyed:
            continue
        keys = [k for k, s in (("PK", pk), ("FK", fk), ("UK", uk)) if col.name in s]
        notes = []
        # The true text only when more than its spaces changed.
        if _token(col.name) != col.name.replace(" ", "_"):
            notes.append(col.name)
        if _token(col.type) != col.type.replace(" ", "_"):
            notes.append(col.type)
        if col.nullable:
            notes.append("nullable")
        comment = f' "{label(", ".join(notes))}"' if notes else ""
        lines.append(f"    {_token(col.type)} {_token(col.name)}"
                     f"{' ' + ','.join(keys) if keys else ''}{comment}")
    return lines


def _relationship(edge: Edge) -> str:
    parent_end = "|o" if edge.optional else "||"
    child_end = "o|" if edge.unique else "o{"
    text = f"{edge.name} ({', '.join(edge.columns)})"
    return (f"    {entity_id(edge.parent)} {parent_end}--{child_end} "
            f'{entity_id(edge.child)} : "{label(text)}"')


def render_mermaid(erd: Erd, *, columns: str = "none", focus: str | None = None) -> str:
    """Return the ``erDiagram`` text of ``erd``, ending with a newline.

    ``columns``: ``none`` draws table names and edges only (the overview), ``keys``
    the key columns of every entity, ``all`` every column; with ``focus``
    (``schema.name``) that entity shows every column and the others their keys.
    A partitioned table's label says how many partitions it folds.
    """
    out = ["erDiagram"]
    for entity in erd.entities:
        name = entity.qualified
        if entity.partitions:
            name += f" ({entity.partitions} partitions)"
        full = columns == "all" or entity.qualified == focus
        attrs = [] if columns == "none" and focus is None else \
            _attributes(entity, erd.edges, full)
        head = f'    {entity_id(entity.qualified)}["{label(name)}"]'
        out.append(head + (" {" if attrs else ""))
        if attrs:
            out += attrs
            out.append("    }")
    out += [_relationship(e) for e in erd.edges]
    return "\n".join(out) + "\n"
