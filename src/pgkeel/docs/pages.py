"""Build the documentation pages: an index, and one page per table.

A table page holds what tbls and SchemaSpy show (columns, constraints, indexes,
triggers, comments, a neighbourhood ER diagram), plus what neither documents
(the "RLS policies in schema docs" requests, dbml#824, ariga/atlas#1071): row-level
security with its policies as a command x role matrix and a list with USING and
WITH CHECK text and permissive/restrictive, grants as a role x privilege matrix,
and the findings ``pgkeel check`` reports for the table.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from pgkeel.catalog.model import Snapshot, Table
from pgkeel.docs.erd import Entity, Erd, root_of
from pgkeel.docs.mermaid import render_mermaid
from pgkeel.docs.model import Block, Cell, Code, Diagram, Grid, Heading, Link, Page, Para
from pgkeel.lint.rules._catalog import object_name
from pgkeel.report.findings import Finding, sort_findings

__all__ = ["index_page", "slug", "table_findings", "table_page"]

_PLAIN = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
_COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")
_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES",
                     "TRIGGER")


def slug(qualified: str) -> str:
    """The file name (no extension) of a table's page: ``public.film``.

    A name outside lower-case ASCII letters, digits and ``_`` is replaced
    character by character and gets 6 hex digits of its SHA-1, so ``Film`` and
    ``film`` never share a file on a case-insensitive disk.
    """
    if _PLAIN.fullmatch(qualified):
        return qualified
    digest = hashlib.sha1(qualified.encode()).hexdigest()[:6]
    return re.sub(r"[^A-Za-z0-9_.]", "_", qualified).lower() + "_" + digest


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _rows(n: int) -> str:
    return "never analysed" if n < 0 else f"{n:,}"


def table_findings(findings: Sequence[Finding], snap: Snapshot) -> dict[str, list[Finding]]:
    """``check``'s findings per drawn table (``schema.name``), worst first.

    A finding belongs to the table its ``object`` names (the table, or a column,
    constraint, index or policy of it); a partition's findings go to its parent.
    """
    prefixes: dict[str, str] = {}
    by_name = {t.qualified: t for t in snap.tables}
    for t in snap.tables:
        prefixes[object_name(t.schema, t.name)] = root_of(t, by_name).qualified
    out: dict[str, list[Finding]] = {}
    for f in sort_findings(findings):
        name = f.object or ""
        for prefix, owner in prefixes.items():
            if name == prefix or name.startswith(prefix + "."):
                out.setdefault(owner, []).append(f)
                break
    return out


def _columns(table: Table) -> Grid:
    rows = tuple((Code(c.name), Code(c.type), "yes" if c.nullable else "NOT NULL",
                  Code(c.generated or c.default or (f"identity {c.identity}" if c.identity
                                                   else "")),
                  c.comment or "") for c in table.columns)
    return Grid(("column", "type", "nullable", "default / generated", "comment"), rows)


def _constraints(table: Table, erd: Erd) -> Grid:
    rows: list[tuple[Cell, ...]] = []
    if table.primary_key:
        rows.append((Code(table.primary_key.name), "PRIMARY KEY",
                     Code(", ".join(table.primary_key.columns)), ""))
    for u in table.unique_constraints:
        rows.append((Code(u.name), "UNIQUE" + (" NULLS NOT DISTINCT" * u.nulls_not_distinct),
                     Code(", ".join(u.columns)), ""))
    for c in table.check_constraints:
        rows.append((Code(c.name), "CHECK" + (" NOT VALID" * (not c.validated)),
                     Code(c.expression), ""))
    for fk in table.foreign_keys:
        target: Cell = Link(fk.ref_qualified, slug(fk.ref_qualified)) \
            if erd.entity(fk.ref_qualified) else fk.ref_qualified
        edge = next((e for e in erd.edges if e.name == fk.name
                     and e.child == table.qualified), None)
        card = f" ({edge.cardinality})" if edge else ""
        rows.append((Code(fk.name), f"FOREIGN KEY{card}", Code(
            f"({', '.join(fk.columns)}) REFERENCES ({', '.join(fk.ref_columns)}) "
            f"ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}"), target))
    return Grid(("name", "kind", "definition", "references"), tuple(rows))


def _indexes(table: Table) -> Grid:
    # No scan counts: they change with every query, and docs must only change with the
    # schema (index usage is in `pgkeel check --format html`).
    return Grid(("index", "definition", "size"), tuple(
        (Code(i.name), Code(i.definition + ("" if i.valid else "  -- INVALID")),
         _size(i.size_bytes)) for i in table.indexes))


def _security(table: Table) -> list[Block]:
    state = ("enabled" if table.rls_enabled else "disabled") + \
        (", forced for the owner" if table.rls_forced else "")
    count = len(table.policies)
    blocks: list[Block] = [Heading(2, "Row-level security"), Para((
        f"RLS {state}; {count} polic{'y' if count == 1 else 'ies'}.",))]
    if table.policies:
        roles = sorted({r for p in table.policies for r in p.roles})
        matrix = []
        for role in roles:
            cells: list[Cell] = [Code(role)]
            for cmd in _COMMANDS:
                names = [p.name for p in table.policies if role in p.roles
                         and p.command in (cmd, "ALL")]
                cells.append(", ".join(names))
            matrix.append(tuple(cells))
        blocks.append(Grid(("role", *_COMMANDS), tuple(matrix)))
        blocks.append(Grid(("policy", "command", "roles", "kind", "USING", "WITH CHECK"), tuple(
            (Code(p.name), p.command, ", ".join(p.roles),
             "permissive" if p.permissive else "restrictive",
             Code(p.using or ""), Code(p.with_check or "")) for p in table.policies)))
    blocks.append(Heading(2, "Grants"))
    if table.grants:
        blocks.append(Grid(("role", *_TABLE_PRIVILEGES), tuple(
            (Code(g.grantee), *("with grant option" if p in g.grantable else
                                "yes" if p in g.privileges else "" for p in _TABLE_PRIVILEGES))
            for g in sorted(table.grants, key=lambda g: g.grantee))))
    else:
        blocks.append(Para(("No grants: only the owner (and superusers) can use the table.",)))
    return blocks


def table_page(entity: Entity, erd: Erd, findings: Sequence[Finding],
               svg: str | None) -> Page:
    """The page of ``entity``: everything above, ``svg`` the diagram file if drawn."""
    t = entity.table
    blocks: list[Block] = [Heading(1, t.qualified)]
    if t.comment:
        blocks.append(Para((t.comment,)))
    facts = [f"{'Partitioned table' if t.kind == 'partitioned' else 'Table'}; "
             f"rows (estimate): {_rows(entity.rows)}; size: {_size(entity.size_bytes)}."]
    if t.partition_key:
        facts.append(f" Partitioned by {t.partition_key} into {entity.partitions} "
                     f"partition(s), shown as this one table (rows and size add them up).")
    blocks += [Para((*facts, " ", Link("Index", "../index"))),
               Diagram(render_mermaid(erd.neighbourhood(t.qualified), focus=t.qualified), svg),
               Heading(2, "Columns"), _columns(t), Heading(2, "Constraints"),
               _constraints(t, erd), Heading(2, "Indexes"), _indexes(t),
               Heading(2, "Triggers"),
               Grid(("trigger", "when", "level", "function", "enabled"), tuple(
                   (Code(g.name), f"{g.timing} {' OR '.join(g.events)}", g.level,
                    Code(g.function), "yes" if g.enabled else "no") for g in t.triggers)),
               *_security(t), Heading(2, "Findings of pgkeel check")]
    if findings:
        blocks.append(Grid(("severity", "rule", "object", "message", "fix"), tuple(
            (f.severity.value, f.rule, Code(f.object or ""), f.message, Code(f.fix or ""))
            for f in findings)))
    else:
        blocks.append(Para(("None.",)))
    return Page(f"tables/{slug(t.qualified)}", t.qualified, tuple(blocks))


def index_page(snap: Snapshot, erd: Erd, findings: dict[str, list[Finding]],
               overviews: Sequence[tuple[str, str, str | None]]) -> Page:
    """The index: overview diagrams, then every table.

    ``overviews`` holds ``(schema, mermaid, svg)`` per diagram: ``schema`` "" for a
    single overview of everything, ``svg`` the Graphviz file it links to, if any.
    """
    blocks: list[Block] = [Heading(1, f"Database {snap.database}"), Para((
        # The major version only: a minor upgrade changes no structure, so no diff.
        f"PostgreSQL {snap.server_version_num // 10000}; {len(erd.entities)} tables, "
        f"{len(erd.edges)} foreign keys. Partitions are folded into their parent.",))]
    blocks.append(Heading(2, "Overview"))
    for schema, mermaid, svg in overviews:
        if schema:
            blocks.append(Heading(3, f"Schema {schema}"))
        blocks.append(Diagram(mermaid, svg))
    blocks.append(Heading(2, "Tables"))
    blocks.append(Grid(("table", "rows (estimate)", "size", "RLS", "policies", "findings",
                        "comment"), tuple(
        (Link(e.qualified, f"tables/{slug(e.qualified)}"), _rows(e.rows),
         _size(e.size_bytes), "on" if e.table.rls_enabled else "off",
         str(len(e.table.policies)), str(len(findings.get(e.qualified, []))),
         (e.table.comment or "").split("\n")[0]) for e in erd.entities)))
    return Page("index", f"Database {snap.database}", tuple(blocks))
