"""What the normalisation rules read from the rows: column profiles, dependencies, totals.

Every function here runs a bounded number of queries per table through a
:class:`~pgkeel.lint.context.DataProbe` over the table's sample
(:meth:`~pgkeel.lint.context.DataProbe.sample_from`), and raises
:class:`~pgkeel.lint.context.ProbeFailed` when PostgreSQL refuses. Each query reads its
own sample; a result that compares two aggregates computes both in the same query, so
both see the same rows.

The functional-dependency test is the classic one of dependency discovery (TANE,
Huhtala et al., "TANE: An Efficient Algorithm for Discovering Functional and
Approximate Dependencies", The Computer Journal 42(2), 1999): ``A -> B`` holds on a
set of rows exactly when ``A`` and ``(A, B)`` have the same number of distinct values
there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from pgkeel.catalog.model import Column, Snapshot, Table
from pgkeel.lint.context import DataProbe
from pgkeel.lint.rules._catalog import quote_ident

__all__ = [
    "Determinant",
    "Profile",
    "Total",
    "comparable",
    "dependencies",
    "determinants",
    "key_columns",
    "numeric",
    "profile",
    "totals",
]

# Types whose values compare with a B-tree equality, so count(DISTINCT ...) reads
# them (typname, looking through domains). json, xml, geometric types, bytea and
# arrays are left out: no equality, or values too wide to be a determinant.
_SCALAR = frozenset({
    "int2", "int4", "int8", "numeric", "float4", "float8", "money", "bool",
    "text", "varchar", "bpchar", "citext", "name", "uuid",
    "date", "time", "timestamp", "timestamptz", "interval", "inet", "cidr", "macaddr",
})
_NUMERIC = frozenset({"int2", "int4", "int8", "numeric", "float4", "float8"})
_FLOAT = frozenset({"float4", "float8"})


def comparable(snapshot: Snapshot, column: Column) -> bool:
    """True when ``column`` holds scalar values with an equality (or an enum's labels).

    Generated columns are left out: what they depend on is declared.
    """
    if column.generated is not None:
        return False
    return column.type_name in _SCALAR or any(
        e.name == column.type_name for e in snapshot.enums)


def numeric(column: Column) -> bool:
    """True for integer, numeric and floating-point columns (not generated)."""
    return column.generated is None and column.type_name in _NUMERIC


def key_columns(table: Table) -> frozenset[str]:
    """Columns of ``table``'s primary key, unique constraints and unique indexes.

    Partial and expression indexes count too: their columns are keys somewhere.
    """
    names: set[str] = set()
    if table.primary_key is not None:
        names.update(table.primary_key.columns)
    for uc in table.unique_constraints:
        names.update(uc.columns)
    for ix in table.indexes:
        if ix.unique:
            names.update(c for c in ix.columns if c is not None)
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class Profile:
    """One column over a sample: ``filled`` non-null values, ``distinct`` of them,
    ``width`` their average size in bytes (``pg_column_size``)."""

    filled: int
    distinct: int
    width: float


def profile(probe: DataProbe, table: Table, columns: Sequence[str]
            ) -> tuple[int, dict[str, Profile]]:
    """Count ``table``'s sampled rows and profile ``columns`` over them: one query.

    Returns ``(rows, {column: Profile})``.
    """
    parts: list[sql.Composable] = [sql.SQL("count(*)")]
    for name in columns:
        col = sql.Identifier(name)
        parts.append(sql.SQL("count({c}), count(DISTINCT {c}), "
                             "coalesce(avg(pg_column_size({c})), 0)::float8").format(c=col))
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(parts), probe.sample_from(table.schema, table.name))
    row = probe.rows(query)[0]
    found = {name: Profile(int(row[1 + 3 * i]), int(row[2 + 3 * i]), float(row[3 + 3 * i]))
             for i, name in enumerate(columns)}
    return int(row[0]), found


def dependencies(probe: DataProbe, table: Table, pairs: Sequence[tuple[str, str]]
                 ) -> list[tuple[str, str, int]]:
    """The pairs ``(a, b)`` for which ``a -> b`` holds on every sampled row: one query.

    Rows where ``a`` is NULL are ignored; a NULL ``b`` counts as a value (``ROW``
    comparison sorts NULLs together). Returns ``(a, b, distinct values of a)`` for
    each pair that holds.
    """
    if not pairs:
        return []
    determinants = sorted({a for a, _ in pairs})
    parts = [sql.SQL("count(DISTINCT {})").format(sql.Identifier(a)) for a in determinants]
    parts += [sql.SQL("count(DISTINCT ROW({a}, {b})) FILTER (WHERE {a} IS NOT NULL)").format(
        a=sql.Identifier(a), b=sql.Identifier(b)) for a, b in pairs]
    query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(parts), probe.sample_from(table.schema, table.name))
    row = probe.rows(query)[0]
    distinct = dict(zip(determinants, (int(v) for v in row), strict=False))
    held = []
    for i, (a, b) in enumerate(pairs):
        if int(row[len(determinants) + i]) == distinct[a]:
            held.append((a, b, distinct[a]))
    return held


@dataclass(frozen=True, slots=True)
class Total:
    """A parent column equal to an aggregate of its child rows on every sampled row.

    ``column`` is the parent's column, ``expression`` the aggregate as SQL text over
    the child's columns (``sum(unit_price * quantity)``), ``rows`` the sampled parent
    rows and ``distinct`` the distinct values of ``column`` among them.
    """

    column: str
    expression: str
    rows: int
    distinct: int


def _aggregates(columns: Sequence[Column]) -> list[tuple[str, sql.Composable, bool]]:
    """Candidate totals over child rows: products of two columns, sums, the row count.

    Each is ``(SQL text for messages, SQL, whether it reads a floating-point column)``.
    """
    found: list[tuple[str, sql.Composable, bool]] = []
    for i, x in enumerate(columns):
        for y in columns[i + 1:]:
            found.append((f"sum({quote_ident(x.name)} * {quote_ident(y.name)})",
                          sql.SQL("sum({} * {})").format(sql.Identifier(x.name),
                                                         sql.Identifier(y.name)),
                          x.type_name in _FLOAT or y.type_name in _FLOAT))
    for x in columns:
        found.append((f"sum({quote_ident(x.name)})",
                      sql.SQL("sum({})").format(sql.Identifier(x.name)), x.type_name in _FLOAT))
    found.append(("count(*)", sql.SQL("count(*)"), False))
    return found


def totals(probe: DataProbe, parent: Table, parent_key: Sequence[str],
           candidates: Sequence[Column], child: Table, child_key: Sequence[str],
           child_columns: Sequence[Column]) -> list[Total]:
    """Parent columns equal to a sum over their child rows on every sampled parent: one query.

    ``parent_key``/``child_key`` are the foreign key's referenced and referencing
    columns. The parent's sample (``sample_rows`` rows) is joined to the aggregates of
    the child rows that reference it; a parent without children compares with 0.
    Candidate aggregates are, in this order of preference, ``sum(x * y)`` for two
    child columns, ``sum(x)`` and ``count(*)`` (integer columns only). Floating-point
    sides compare within a relative 1e-6 (their sums round). Returns the first
    aggregate that matches on every row, per candidate column.
    """
    aggs = _aggregates(child_columns)
    pk = [sql.Identifier(c) for c in parent_key]
    ck = [sql.Identifier(c) for c in child_key]
    fields = sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, sql.Identifier(f"a{i}"))
                                for i, (_, e, _f) in enumerate(aggs))
    child_ref = sql.SQL(", ").join(ck)
    p_cols = sql.SQL(", ").join(
        [sql.Identifier(c) for c in parent_key]
        + [sql.Identifier(c.name) for c in candidates if c.name not in parent_key])
    checks: list[sql.Composable] = [sql.SQL("count(*)")]
    for col in candidates:
        pc = sql.SQL("p.{}").format(sql.Identifier(col.name))
        checks.append(sql.SQL("count(DISTINCT {})").format(pc))
        for i, (text, _, floats) in enumerate(aggs):
            value = sql.SQL("coalesce(c.{}, 0)").format(sql.Identifier(f"a{i}"))
            if text == "count(*)" and col.type_name not in ("int2", "int4", "int8"):
                checks.append(sql.SQL("NULL::bigint"))
            elif floats or col.type_name in _FLOAT:
                checks.append(sql.SQL(
                    "count(*) FILTER (WHERE abs({p}::float8 - {v}::float8)"
                    " <= 1e-6 * greatest(1, abs({p}::float8)))").format(p=pc, v=value))
            else:
                checks.append(sql.SQL("count(*) FILTER (WHERE {p} = {v})").format(
                    p=pc, v=value))
    join = sql.SQL(" AND ").join(sql.SQL("c.{} = p.{}").format(c, p) for c, p in zip(
        ck, pk, strict=True))
    query = sql.SQL(
        "WITH p AS (SELECT {p_cols} FROM {sample}), "
        "c AS (SELECT {child_ref}, {fields} FROM {child} "
        "WHERE ({child_ref}) IN (SELECT {p_key} FROM p) GROUP BY {child_ref}) "
        "SELECT {checks} FROM p LEFT JOIN c ON {join}").format(
        p_cols=p_cols, sample=probe.sample_from(parent.schema, parent.name),
        child_ref=child_ref, fields=fields,
        child=sql.Identifier(child.schema, child.name),
        p_key=sql.SQL(", ").join(pk), checks=sql.SQL(", ").join(checks), join=join)
    row = probe.rows(query)[0]
    rows = int(row[0])
    found: list[Total] = []
    width = 1 + len(aggs)
    for n, col in enumerate(candidates):
        base = 1 + n * width
        distinct = int(row[base])
        for i, (text, _, _f) in enumerate(aggs):
            if row[base + 1 + i] == rows:
                found.append(Total(col.name, text, rows, distinct))
                break
    return found



@dataclass(frozen=True, slots=True)
class Determinant:
    """A column and what it determines, for one finding.

    ``column`` determines each of ``same`` and is determined by it (one to one, in
    the sample); together they determine ``determines``; ``nested`` lists the
    dependencies among those (``(column, columns it determines)``), which move with
    them; ``distinct`` is the number of values of ``column`` in the sample.
    """

    column: str
    same: tuple[str, ...]
    determines: tuple[str, ...]
    nested: tuple[tuple[str, tuple[str, ...]], ...]
    distinct: int


def determinants(held: Sequence[tuple[str, str, int]], order: Sequence[str],
                 filled: frozenset[str] = frozenset()) -> list[Determinant]:
    """Group the dependencies ``held`` (``(a, b, distinct a)``) into findings.

    Columns that determine each other are one determinant (the first in ``order``
    speaks for them). Only determinants no other determinant determines are
    returned; the dependencies inside what they determine are their ``nested``
    ones (``zip -> city, country`` carries ``city -> country``), so one chain
    gives one finding. ``filled`` names the columns without NULLs in the sample:
    only through those does a dependency imply another (rows where a determinant is
    NULL test nothing).
    """
    det: dict[str, set[str]] = {}
    distinct: dict[str, int] = {}
    for a, b, n in held:
        det.setdefault(a, set()).add(b)
        distinct[a] = n
    rank = {c: i for i, c in enumerate(order)}
    found: list[Determinant] = []
    for a in sorted(det, key=rank.__getitem__):
        same = {b for b in det[a] if a in det.get(b, ())}
        if any(rank[b] < rank[a] for b in same):
            continue  # an earlier column of the same class speaks for it
        group = {a, *same}
        if any(x not in group and group & det[x] for x in det):
            continue  # determined by another determinant: nested in its finding
        inner = sorted(det[a] - group, key=rank.__getitem__)
        found.append(Determinant(a, tuple(sorted(same, key=rank.__getitem__)), tuple(inner),
                                 _nested(det, group, inner, rank, filled), distinct[a]))
    return found


def _nested(det: dict[str, set[str]], group: set[str], inner: list[str],
            rank: dict[str, int], filled: frozenset[str]
            ) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The direct dependencies among ``inner``, the columns ``group`` determines.

    Implied ones are left out (with ``zip -> city -> country``, ``zip -> country``
    goes without saying, when ``city`` is never NULL), and of columns that determine
    each other the first in ``rank`` speaks.
    """
    found = []
    for d in inner:
        if d not in det or any(rank[e] < rank[d] and e in det[d] and d in det.get(e, ())
                               for e in inner):
            continue
        targets = det[d] - group - {d}
        direct = [z for z in sorted(targets, key=rank.__getitem__)
                  if not any(y != z and y in filled and z in det.get(y, ())
                             and y not in det.get(z, ()) for y in targets)]
        if direct:
            found.append((d, tuple(direct)))
    return tuple(found)
