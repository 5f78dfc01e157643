"""Compare two catalog snapshots object by object: :func:`compare`.

``migrate verify`` compares the catalog before a migration's up with the catalog after
its down (and after a second up with after the first); ``migrate drift`` compares the
schema the migrations build with the live one. Both need the same answer: every object
that exists on one side only, or whose attributes differ, as a :class:`Difference` that
:meth:`Difference.describe` turns into a sentence a person acts on ("column
`orders.note` still exists after down").

Covered: schemas, tables, columns (type, default, nullability, identity, generated,
comment), the order of columns, primary keys, unique, check and foreign key
constraints, indexes, views and materialized views, functions and procedures,
triggers, sequences, enum types and their labels, domains, extensions, roles, row-level
security flags, policies, owners, grants and comments: every structural field of
:mod:`pgkeel.catalog.model`. Not structure, so never a difference: sizes, row
estimates, index usage, sequence positions, and column numbers (``attnum`` grows each
time a column is added, so a column dropped and added again compares equal in the same
place).

Names PostgreSQL generates (``orders_pkey``, ``orders_total_check``, ``orders_id_seq1``)
are compared by what they mean, not by their text (:mod:`pgkeel.catalog._generated`):
an unmatched constraint, index or sequence pairs with one of the same meaning on the
other side; when both names are generated that is no difference, otherwise it is a
rename (attribute ``name``).

Example::

    from pgkeel.catalog import read_snapshot
    from pgkeel.catalog.diff import Wording, compare

    for difference in compare(read_snapshot(a_url), read_snapshot(b_url)):
        print(difference.describe(Wording(added="exists only in b")))
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields, replace
from difflib import SequenceMatcher
from typing import Any, Literal, TypeVar

from pgkeel.catalog._generated import (
    looks_generated,
    meaning_of_check,
    meaning_of_foreign_key,
    meaning_of_index,
    meaning_of_unique,
)
from pgkeel.catalog.model import Column, Grant, Snapshot, Table, View

__all__ = ["NEUTRAL", "AttributeChange", "Change", "Difference", "Wording", "compare"]

Change = Literal["added", "removed", "changed"]
T = TypeVar("T")

_LONG = 120  # longer attribute values are shortened in sentences (never in to_dict)


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """One attribute of an object that differs: its value ``before`` and ``after``.

    ``attribute`` is the model field's name with spaces (``rls enabled``), or
    ``column order`` / ``privileges`` / ``name`` for the comparisons made here. Values
    are the model's (strings, bools, ints, tuples, None).
    """

    attribute: str
    before: Any
    after: Any


@dataclass(frozen=True, slots=True)
class Wording:
    """What :meth:`Difference.describe` says of an added, removed or changed object.

    ``added`` follows an object found only in the second snapshot, ``removed`` one
    found only in the first, ``changed`` one whose attributes differ (the attributes
    follow a colon, as ``before → after``).
    """

    added: str = "was added"
    removed: str = "was removed"
    changed: str = "changed"


#: The wording of a plain comparison.
NEUTRAL = Wording()


@dataclass(frozen=True, slots=True)
class Difference:
    """One object that differs between two snapshots.

    ``kind`` is what the object is (``table``, ``column``, ``primary key``, ``unique
    constraint``, ``check constraint``, ``foreign key``, ``index``, ``trigger``,
    ``policy``, ``view``, ``materialized view``, ``function``, ``procedure``,
    ``aggregate``, ``sequence``, ``enum``, ``domain``, ``extension``, ``schema``,
    ``role``, ``grant``); ``name`` its qualified name (``public.orders``,
    ``public.orders.note``, ``public.orders.orders_pkey``, for a grant the object's
    name and ``:grantee``), unique per kind; ``change`` ``added`` (only in the second
    snapshot), ``removed`` (only in the first) or ``changed``; ``attributes`` what
    changed (also the privileges of an added or removed grant); ``parent`` the
    qualified name of the table, view, schema or function it belongs to, and
    ``parent_kind`` what that is.
    """

    kind: str
    name: str
    change: Change
    attributes: tuple[AttributeChange, ...] = ()
    parent: str | None = None
    parent_kind: str | None = None

    @property
    def leaf(self) -> str:
        """The object's own name, without its parent's."""
        if self.kind == "grant":
            return self.name.rsplit(":", 1)[1]
        if self.parent and self.name.startswith(f"{self.parent}."):
            return self.name[len(self.parent) + 1:]
        return self.name

    def subject(self) -> str:
        """The object in words: ``column `orders.note```, ``policy `p` on `invoices```."""
        if self.kind == "column" and self.parent:
            return f"column `{_short(self.parent)}.{self.leaf}`"
        if self.kind == "grant" and self.parent:
            return f"grant to `{self.leaf}` on {self.parent_kind} `{_short(self.parent)}`"
        if self.parent:
            return f"{self.kind} `{self.leaf}` on `{_short(self.parent)}`"
        return f"{self.kind} `{_short(self.name)}`"

    def describe(self, wording: Wording = NEUTRAL) -> str:
        """One sentence: the object, what happened to it, and the attributes that differ.

        ``wording`` supplies the verbs (:class:`Wording`). Names in the ``public`` schema
        are shown without it; long values (view or function bodies) are shortened.
        """
        verb = {"added": wording.added, "removed": wording.removed,
                "changed": wording.changed}[self.change]
        text = f"{self.subject()} {verb}"
        if self.attributes:
            text += ": " + "; ".join(_attribute_words(a) for a in self.attributes)
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: every field, attribute values as the model holds them."""
        return {
            "kind": self.kind, "name": self.name, "change": self.change,
            "parent": self.parent, "parent_kind": self.parent_kind,
            "attributes": [{"attribute": a.attribute, "before": _plain(a.before),
                            "after": _plain(a.after)} for a in self.attributes],
        }


def compare(before: Snapshot, after: Snapshot) -> tuple[Difference, ...]:
    """Every object that differs between ``before`` and ``after``, as :class:`Difference`.

    An object present on one side only is one difference; the columns, constraints and
    the like of a table present on one side only are not listed again. Sorted by
    ``(name, kind)``, so a table's differences come together. Pure: reads no database.
    """
    out: list[Difference] = []
    _Comparer(out).snapshots(before, after)
    return tuple(sorted(out, key=lambda d: (d.parent or d.name, d.parent is not None,
                                            d.name, d.kind)))


def _short(qualified: str) -> str:
    return qualified.removeprefix("public.")


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, tuple):
        text = ", ".join(_shown(v) for v in value) or "(none)"
    elif isinstance(value, Grant):
        text = f"{value.grantee}: {', '.join(value.privileges)}"
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= _LONG else text[:_LONG - 1] + "…"


def _attribute_words(change: AttributeChange) -> str:
    """``type integer → bigint``; a new column order names the columns that moved."""
    if change.attribute == "column order":
        matcher = SequenceMatcher(a=change.before, b=change.after, autojunk=False)
        kept = {name for block in matcher.get_matching_blocks()
                for name in change.before[block.a:block.a + block.size]}
        moved = [name for name in change.after if name not in kept]
        return "column order: " + ", ".join(
            f"`{name}` moved from position {change.before.index(name) + 1} to "
            f"{change.after.index(name) + 1}" for name in moved)
    return f"{change.attribute} {_shown(change.before)} → {_shown(change.after)}"


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _attributes(before: Any, after: Any, skip: frozenset[str]) -> list[AttributeChange]:
    """The model fields of ``before`` and ``after`` that differ, ``skip`` left out."""
    return [AttributeChange(f.name.replace("_", " "), getattr(before, f.name),
                            getattr(after, f.name))
            for f in fields(before)
            if f.name not in skip and f.compare
            and getattr(before, f.name) != getattr(after, f.name)]


_TABLE_PARTS = frozenset({
    "schema", "name", "columns", "primary_key", "unique_constraints", "check_constraints",
    "foreign_keys", "indexes", "triggers", "policies", "grants", "row_estimate", "size_bytes",
})
_VIEW_PARTS = frozenset({"schema", "name", "columns", "indexes", "triggers", "grants", "uses"})
_FUNCTION_KINDS = {"function": "function", "procedure": "procedure",
                   "aggregate": "aggregate", "window": "function"}


class _Comparer:
    """Walks two snapshots side by side, appending to ``out``."""

    def __init__(self, out: list[Difference]) -> None:
        self.out = out

    def add(self, kind: str, name: str, change: Change,
            attributes: Iterable[AttributeChange] = (), parent: str | None = None,
            parent_kind: str | None = None) -> None:
        self.out.append(Difference(kind, name, change, tuple(attributes), parent,
                                   parent_kind))

    def snapshots(self, before: Snapshot, after: Snapshot) -> None:
        self.plain("schema", before.schemas, after.schemas, lambda s: s.name,
                   grants_kind="schema")
        self.plain("extension", before.extensions, after.extensions, lambda e: e.name)
        self.plain("role", before.roles, after.roles, lambda r: r.name)
        self.plain("enum", before.enums, after.enums, lambda e: e.qualified)
        self.plain("domain", before.domains, after.domains, lambda d: d.qualified)
        for kind in sorted(set(_FUNCTION_KINDS.values())):
            self.plain(kind,
                       [f for f in before.functions if _FUNCTION_KINDS[f.kind] == kind],
                       [f for f in after.functions if _FUNCTION_KINDS[f.kind] == kind],
                       lambda f: f.qualified, grants_kind=kind)
        self.matched(
            "sequence", before.sequences, after.sequences, lambda s: s.qualified,
            lambda s: replace(s, name=""),
            lambda s: looks_generated(s.name, (s.owned_by or "..").split(".")[1]),
            skip=frozenset({"name"}))
        self.matched("table", before.tables, after.tables, lambda t: t.qualified,
                     None, None, self.table_parts, skip=_TABLE_PARTS)
        for materialized, kind in ((False, "view"), (True, "materialized view")):
            self.matched(
                kind, [v for v in before.views if v.materialized is materialized],
                [v for v in after.views if v.materialized is materialized],
                lambda v: v.qualified, None, None, self.view_parts, skip=_VIEW_PARTS)

    def plain(self, kind: str, before: Sequence[Any], after: Sequence[Any],
              key: Callable[[Any], str], grants_kind: str | None = None) -> None:
        """Objects matched by name; their grants compared when ``grants_kind`` is set."""
        def parts(b: Any, a: Any) -> None:
            if grants_kind:
                self.grants(grants_kind, key(b), b.grants, a.grants,
                            (getattr(b, "owner", None), getattr(a, "owner", None)))
        skip = frozenset({"name", "grants"})
        self.matched(kind, before, after, key, None, None, parts, skip=skip)

    def matched(
        self, kind: str, before: Sequence[T], after: Sequence[T], key: Callable[[T], str],
        meaning: Callable[[T], Any] | None, generated: Callable[[T], bool] | None,
        parts: Callable[[T, T], None] | None = None, *, skip: frozenset[str],
        parent: str | None = None, parent_kind: str | None = None,
    ) -> None:
        """Pair ``before`` and ``after`` by name, then leftovers by meaning; report all.

        ``meaning`` (an object without its name) pairs the objects left unmatched by
        name; ``generated`` says whether an object's name is PostgreSQL's. A pair
        matched by meaning whose names are not both generated is a rename.
        """
        by_key = {key(a): a for a in after}
        pairs: list[tuple[T, T]] = []
        removed: list[T] = []
        for b in before:
            a = by_key.pop(key(b), None)
            if a is None:
                removed.append(b)
            else:
                pairs.append((b, a))
        added = list(by_key.values())
        if meaning is not None and removed and added:
            removed = self.pair_by_meaning(removed, added, pairs, meaning)
        for b in removed:
            self.add(kind, key(b), "removed", parent=parent, parent_kind=parent_kind)
        for a in added:
            self.add(kind, key(a), "added", parent=parent, parent_kind=parent_kind)
        for b, a in pairs:
            if b == a:  # equal objects (and all they hold): nothing to walk
                continue
            attrs = _attributes(meaning(b), meaning(a), skip) if meaning else _attributes(
                b, a, skip)
            renamed = key(b) != key(a) and not (generated and generated(b) and generated(a))
            if renamed:
                attrs.insert(0, AttributeChange("name", getattr(b, "name", key(b)),
                                                getattr(a, "name", key(a))))
            if attrs:
                self.add(kind, key(b), "changed", attrs, parent, parent_kind)
            if parts is not None:
                parts(b, a)

    @staticmethod
    def pair_by_meaning(removed: list[T], added: list[T], pairs: list[tuple[T, T]],
                        meaning: Callable[[T], Any]) -> list[T]:
        """Move same-meaning (removed, added) pairs into ``pairs``; return the rest."""
        unpaired: list[T] = []
        for b in removed:
            sense = meaning(b)
            match = next((a for a in added if meaning(a) == sense), None)
            if match is None:
                unpaired.append(b)
            else:
                added.remove(match)
                pairs.append((b, match))
        return unpaired

    def grants(self, kind: str, on: str, before: Sequence[Grant], after: Sequence[Grant],
               owners: tuple[str | None, str | None] = (None, None)) -> None:
        """Grants of one object, matched by grantee.

        ``owners`` are the object's owner before and after: a new owner takes over the
        old one's privileges (ALTER ... OWNER TO rewrites the ACL so), which the owner
        change itself already says.
        """
        old, new = owners
        if old != new and old is not None and new is not None:
            mine = {g.grantee: g for g in before}.get(old)
            theirs_now = {g.grantee: g for g in after}.get(new)
            if mine is not None and theirs_now is not None and \
                    (mine.privileges, mine.grantable) == (theirs_now.privileges,
                                                         theirs_now.grantable):
                before = [g for g in before if g.grantee != old]
                after = [g for g in after if g.grantee != new]
        theirs = {g.grantee: g for g in after}
        for b in before:
            a = theirs.pop(b.grantee, None)
            if a is None:
                self.add("grant", f"{on}:{b.grantee}", "removed",
                         [AttributeChange("privileges", b.privileges, None)], on, kind)
            elif a != b:
                self.add("grant", f"{on}:{b.grantee}", "changed",
                         _attributes(b, a, frozenset({"grantee"})), on, kind)
        for a in theirs.values():
            self.add("grant", f"{on}:{a.grantee}", "added",
                     [AttributeChange("privileges", None, a.privileges)], on, kind)

    def columns(self, parent: str, parent_kind: str, before: Sequence[Column],
                after: Sequence[Column]) -> list[AttributeChange]:
        """Compare columns; return the table's ``column order`` change, if any."""
        # type_name is the base type of type, which is compared itself.
        self.matched("column", before, after, lambda c: f"{parent}.{c.name}", None, None,
                     skip=frozenset({"name", "position", "type_name"}), parent=parent,
                     parent_kind=parent_kind)
        common = {c.name for c in before} & {c.name for c in after}
        order_b = tuple(c.name for c in before if c.name in common)
        order_a = tuple(c.name for c in after if c.name in common)
        return [AttributeChange("column order", order_b, order_a)] if order_b != order_a else []

    def table_parts(self, before: Table, after: Table) -> None:
        q = before.qualified
        order = self.columns(q, "table", before.columns, after.columns)
        if order:
            self.add("table", q, "changed", order)

        def sub(kind: str, b: Sequence[Any], a: Sequence[Any], meaning: Callable[[Any], Any],
                skip: frozenset[str] = frozenset({"name"})) -> None:
            self.matched(kind, b, a, lambda o: f"{q}.{o.name}", meaning,
                         lambda o: looks_generated(o.name, before.name), skip=skip,
                         parent=q, parent_kind="table")

        sub("primary key", [before.primary_key] if before.primary_key else [],
            [after.primary_key] if after.primary_key else [], meaning_of_unique)
        sub("unique constraint", before.unique_constraints, after.unique_constraints,
            meaning_of_unique)
        sub("check constraint", before.check_constraints, after.check_constraints,
            meaning_of_check)
        sub("foreign key", before.foreign_keys, after.foreign_keys, meaning_of_foreign_key)
        sub("index", _own_indexes(before), _own_indexes(after), meaning_of_index,
            frozenset({"name", "definition"}))
        self.relation_parts(q, "table", before, after)
        self.matched("policy", before.policies, after.policies, lambda p: f"{q}.{p.name}",
                     None, None, skip=frozenset({"name"}), parent=q, parent_kind="table")

    def view_parts(self, before: View, after: View) -> None:
        q = before.qualified
        kind = "materialized view" if before.materialized else "view"
        order = self.columns(q, kind, before.columns, after.columns)
        if order:
            self.add(kind, q, "changed", order)
        self.matched("index", before.indexes, after.indexes, lambda i: f"{q}.{i.name}",
                     meaning_of_index, lambda i: looks_generated(i.name, before.name),
                     skip=frozenset({"name", "definition"}), parent=q, parent_kind=kind)
        self.relation_parts(q, kind, before, after)

    def relation_parts(self, q: str, kind: str, before: Table | View,
                       after: Table | View) -> None:
        """Triggers and grants, which tables and views both have."""
        self.matched("trigger", before.triggers, after.triggers, lambda t: f"{q}.{t.name}",
                     None, None, skip=frozenset({"name"}), parent=q, parent_kind=kind)
        owner = after.owner
        self.grants(kind, q, *_explicit_acls(before.grants, after.grants, owner),
                    (before.owner, after.owner))


# What a table's owner holds when its ACL was never set (acldefault for 'r'; MAINTAIN
# joined them in PostgreSQL 17: docs, "Privileges", table 5.2).
_TABLE_DEFAULT = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES",
                            "TRIGGER"})


def _explicit_acls(before: tuple[Grant, ...], after: tuple[Grant, ...], owner: str | None
                   ) -> tuple[tuple[Grant, ...], tuple[Grant, ...]]:
    """Both ACLs, a never-set one (no grants) read as its default: the owner holds all.

    The snapshot lists no grants for a relation whose ACL was never set; the first
    GRANT writes the owner's default privileges into the ACL beside the new grantee.
    Both mean the owner holds everything, so that grant is no difference.
    """
    def without_owner(grants: tuple[Grant, ...]) -> tuple[Grant, ...]:
        return tuple(g for g in grants if not (
            g.grantee == owner and not g.grantable and set(g.privileges) >= _TABLE_DEFAULT))
    if owner is None or (before and after):
        return before, after
    return without_owner(before), without_owner(after)


def _own_indexes(table: Table) -> list[Any]:
    """Indexes other than those of PRIMARY KEY and UNIQUE constraints.

    Those constraints are compared themselves; their index would say the same twice.
    EXCLUDE constraints exist only as their index, so theirs stay.
    """
    keys = {c.name for c in table.unique_constraints}
    if table.primary_key:
        keys.add(table.primary_key.name)
    return [i for i in table.indexes if i.constraint not in keys]
