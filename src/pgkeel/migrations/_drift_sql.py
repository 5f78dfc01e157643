"""SQL that turns one catalog snapshot into another, for the object kinds teams change
by hand: :func:`changes`.

``migrate drift --write-migration`` calls it twice: from the schema the migrations
build to the live one (the new migration's up), and back (its down). The statements
come in dependency order (policies and foreign keys are dropped before what they
depend on; tables exist before their columns, keys before the foreign keys that use
them), and lock-aware, after the practice pg-schema-diff and migra users ask for
(PostgreSQL docs, "ALTER TABLE" notes on lock levels, and "Building Indexes
Concurrently"):

- an index on a table both sides have is built or dropped ``CONCURRENTLY``, which
  cannot run in a transaction block: those statements go to their own
  ``transaction:false`` file (:attr:`Changes.concurrent`);
- with ``online``, a foreign key or CHECK on an existing table is added ``NOT VALID``
  in the transaction, and validated afterwards outside it (:attr:`Changes.follow`):
  ``VALIDATE CONSTRAINT`` takes only ``SHARE UPDATE EXCLUSIVE`` while it scans the
  rows, where a plain ``ADD`` would hold ``ACCESS EXCLUSIVE`` for the whole scan. A
  column made ``NOT NULL`` the same way: a ``CHECK (col IS NOT NULL) NOT VALID`` is
  added, validated, then ``SET NOT NULL`` skips its scan because that valid CHECK
  proves it (PostgreSQL 12+, docs "ALTER TABLE", ``SET NOT NULL``), and the CHECK is
  dropped.

Written: tables, columns (type, default, nullability, comment), primary keys, unique,
CHECK and foreign-key constraints, indexes, policies, row-level security flags, grants
on tables, comments on tables, and new or dropped sequences (those of serial columns
included). Everything else (views, functions, triggers, types, changed sequences,
extensions, schemas, roles, owners, identity and generated columns) is
named in :attr:`Changes.unwritable` instead, in the words of
:meth:`pgkeel.catalog.diff.Difference.describe`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pgkeel.catalog.diff import Difference, compare
from pgkeel.catalog.model import (
    CheckConstraint,
    Column,
    ForeignKey,
    Grant,
    Index,
    Policy,
    Sequence,
    Snapshot,
    Table,
    UniqueConstraint,
)
from pgkeel.lint.rules._catalog import literal, quote_ident

__all__ = ["Changes", "FollowUp", "changes"]

_CONSTRAINT_KINDS = ("primary key", "unique constraint", "check constraint", "foreign key")
_COLUMN_ATTRS = {"type", "default", "nullable", "comment"}
_TABLE_ATTRS = {"rls enabled", "rls forced", "comment"}


@dataclass(frozen=True)
class FollowUp:
    """Statements run after the transaction (``do``), and what undoes them (``undo``)."""

    do: tuple[str, ...]
    undo: tuple[str, ...]


@dataclass
class Changes:
    """Statements taking ``before`` to ``after``: ``main`` (one transaction), then
    ``concurrent`` and ``follow`` (each statement on its own, outside a transaction
    block); ``cleanup`` what the down of ``main`` must run first to remove what only
    ``main`` adds (the temporary NOT NULL checks); ``unwritable`` one sentence per
    difference left to a person."""

    main: list[str] = field(default_factory=list)
    concurrent: list[str] = field(default_factory=list)
    follow: list[FollowUp] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    unwritable: list[str] = field(default_factory=list)


def _q(qualified: str) -> str:
    schema, _, name = qualified.partition(".")
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def _cols(names: Iterable[str]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def changes(before: Snapshot, after: Snapshot, *, online: bool = False) -> Changes:
    """The statements that make a database shaped like ``before`` look like ``after``.

    ``online`` moves constraint validation and ``SET NOT NULL`` scans out of the
    transaction (module docstring). Pure: reads no database. Returns
    :class:`Changes`; never raises for a difference it cannot write (it is listed in
    ``unwritable``).
    """
    return _Writer(before, after, online).run(compare(before, after))


class _Writer:
    def __init__(self, before: Snapshot, after: Snapshot, online: bool) -> None:
        self.before, self.after, self.online = before, after, online
        self.out = Changes()
        # phases, run in this order (module docstring)
        self.drop_policies: list[str] = []
        self.drop_fks: list[str] = []
        self.drop_constraints: list[str] = []
        self.drop_indexes: list[str] = []
        self.drop_columns: list[str] = []
        self.drop_tables: list[str] = []
        self.create_sequences: list[str] = []
        self.create_tables: list[str] = []
        self.columns: list[str] = []
        self.keys: list[str] = []
        self.indexes: list[str] = []
        self.fks: list[str] = []
        self.security: list[str] = []
        self.grants: list[str] = []
        self.comments: list[str] = []

    def run(self, differences: Iterable[Difference]) -> Changes:
        for d in differences:
            self.one(d)
        self.out.main = (self.drop_policies + self.drop_fks + self.drop_constraints
                         + self.drop_indexes + self.drop_columns + self.drop_tables
                         + self.create_sequences + self.create_tables + self.columns
                         + self.keys + self.indexes + self.fks + self.security
                         + self.grants + self.comments)
        return self.out

    def one(self, d: Difference) -> None:
        handler = {
            "table": self.table, "column": self.column, "index": self.index,
            "policy": self.policy, "grant": self.grant, "sequence": self.sequence,
        }.get(d.kind)
        if d.kind in _CONSTRAINT_KINDS:
            handler = self.constraint
        if handler is None or (d.parent_kind not in (None, "table") and d.kind != "table"):
            self.out.unwritable.append(d.describe())
            return
        if not handler(d):
            self.out.unwritable.append(d.describe())

    # -- tables ---------------------------------------------------------------------
    def table(self, d: Difference) -> bool:
        if d.change == "removed":
            self.drop_tables.append(f"DROP TABLE {_q(d.name)};")
            return True
        new = self.after.table(d.name)
        assert new is not None
        if d.change == "added":
            if new.partition_of or new.kind != "table":
                return False
            self.create_table(new)
            return True
        attrs = {a.attribute: a for a in d.attributes}
        if not set(attrs) <= _TABLE_ATTRS:
            return False
        if "rls enabled" in attrs:
            verb = "ENABLE" if new.rls_enabled else "DISABLE"
            self.security.append(f"ALTER TABLE {_q(d.name)} {verb} ROW LEVEL SECURITY;")
        if "rls forced" in attrs:
            verb = "FORCE" if new.rls_forced else "NO FORCE"
            self.security.append(f"ALTER TABLE {_q(d.name)} {verb} ROW LEVEL SECURITY;")
        if "comment" in attrs:
            self.comments.append(f"COMMENT ON TABLE {_q(d.name)} IS {_text(new.comment)};")
        return True

    def create_table(self, table: Table) -> None:
        lines = ",\n    ".join(_column_sql(c) for c in table.columns)
        self.create_tables.append(f"CREATE TABLE {_q(table.qualified)} (\n    {lines}\n);")
        q = table.qualified
        for key in (table.primary_key, *table.unique_constraints):
            if key is not None:
                self.keys.append(_add_unique(q, key))
        for check in table.check_constraints:
            self.keys.append(f"ALTER TABLE {_q(q)} ADD {_check_sql(check)};")
        for index in table.indexes:
            if index.constraint is None:  # new and empty: no need to build it concurrently
                self.indexes.append(f"{index.definition};")
        for fk in table.foreign_keys:
            self.fks.append(f"ALTER TABLE {_q(q)} ADD {_fk_sql(fk)};")
        if table.rls_enabled:
            self.security.append(f"ALTER TABLE {_q(q)} ENABLE ROW LEVEL SECURITY;")
        if table.rls_forced:
            self.security.append(f"ALTER TABLE {_q(q)} FORCE ROW LEVEL SECURITY;")
        for policy in table.policies:
            self.security.append(_policy_sql(q, policy))
        for grant in table.grants:
            if grant.grantee != table.owner:
                self.grants.extend(_grant_sql(q, grant))
        if table.comment is not None:
            self.comments.append(f"COMMENT ON TABLE {_q(q)} IS {_text(table.comment)};")
        for column in table.columns:
            if column.comment is not None:
                self.comments.append(f"COMMENT ON COLUMN {_q(q)}.{quote_ident(column.name)} "
                                     f"IS {_text(column.comment)};")

    def sequence(self, d: Difference) -> bool:
        """A serial column's sequence comes and goes with it; an identity's is implicit."""
        if d.change == "changed":
            return False
        snap = self.before if d.change == "removed" else self.after
        seq = next(s for s in snap.sequences if s.qualified == d.name)
        if _identity_of(snap, seq):
            return True
        if d.change == "removed":  # after the tables: an owned one went with its table
            self.drop_tables.append(f"DROP SEQUENCE IF EXISTS {_q(d.name)};")
            return True
        self.create_sequences.append(_sequence_sql(seq))
        if seq.owned_by:
            schema, table, column = seq.owned_by.split(".", 2)
            self.grants.append(f"ALTER SEQUENCE {_q(d.name)} OWNED BY "
                               f"{_q(f'{schema}.{table}')}.{quote_ident(column)};")
        return True

    # -- columns --------------------------------------------------------------------
    def column(self, d: Difference) -> bool:
        table = _q(d.parent or "")
        name = quote_ident(d.leaf)
        if d.change == "removed":
            self.drop_columns.append(f"ALTER TABLE {table} DROP COLUMN {name};")
            return True
        new = self.after.table(d.parent or "")
        column = new.column(d.leaf) if new else None
        assert column is not None
        if d.change == "added":
            if column.identity or column.generated:
                return False
            self.columns.append(f"ALTER TABLE {table} ADD COLUMN {_column_sql(column)};")
            if column.comment is not None:
                self.comments.append(f"COMMENT ON COLUMN {table}.{name} IS "
                                     f"{_text(column.comment)};")
            return True
        attrs = {a.attribute for a in d.attributes}
        if not attrs <= _COLUMN_ATTRS:
            return False
        alter = f"ALTER TABLE {table} ALTER COLUMN {name}"
        if "type" in attrs:  # a rewrite unless binary-coercible (docs, "ALTER TABLE")
            self.columns.append(f"{alter} TYPE {column.type} USING {name}::{column.type};")
        if "default" in attrs:
            self.columns.append(f"{alter} SET DEFAULT {column.default};" if column.default
                                else f"{alter} DROP DEFAULT;")
        if "nullable" in attrs and (column.nullable or not self.online):
            self.columns.append(f"{alter} DROP NOT NULL;" if column.nullable
                                else f"{alter} SET NOT NULL;")
        elif "nullable" in attrs:
            self.not_null(d.parent or "", column.name)
        if "comment" in attrs:
            self.comments.append(f"COMMENT ON COLUMN {table}.{name} IS {_text(column.comment)};")
        return True

    def not_null(self, table: str, column: str) -> None:
        t, name = _q(table), quote_ident(f"pgkeel_{column}_not_null"[:63])
        check = f"ALTER TABLE {t} ADD CONSTRAINT {name} CHECK ({quote_ident(column)} IS NOT NULL)"
        alter = f"ALTER TABLE {t} ALTER COLUMN {quote_ident(column)}"
        self.keys.append(f"{check} NOT VALID;")
        self.out.follow.append(FollowUp(
            (f"ALTER TABLE {t} VALIDATE CONSTRAINT {name};", f"{alter} SET NOT NULL;",
             f"ALTER TABLE {t} DROP CONSTRAINT {name};"),
            (f"{alter} DROP NOT NULL;", f"{check} NOT VALID;")))
        self.out.cleanup.append(f"ALTER TABLE {t} DROP CONSTRAINT IF EXISTS {name};")

    # -- constraints and indexes ----------------------------------------------------
    def constraint(self, d: Difference) -> bool:
        table = d.parent or ""
        if d.change in ("removed", "changed"):
            old = _constraint(self.before.table(table), d.kind, d.leaf)
            if old is None:
                return False
            if d.change == "changed" and [a.attribute for a in d.attributes] == ["name"]:
                self.keys.append(f"ALTER TABLE {_q(table)} RENAME CONSTRAINT "
                                 f"{quote_ident(d.leaf)} TO {quote_ident(d.attributes[0].after)};")
                return True
            drops = self.drop_fks if d.kind == "foreign key" else self.drop_constraints
            drops.append(f"ALTER TABLE {_q(table)} DROP CONSTRAINT {quote_ident(old.name)};")
        if d.change in ("added", "changed"):
            name = d.leaf
            if d.change == "changed":
                renamed = next((a.after for a in d.attributes if a.attribute == "name"), None)
                name = renamed or name
            new = _constraint(self.after.table(table), d.kind, name)
            if new is None:
                return False
            if isinstance(new, ForeignKey | CheckConstraint):
                self.validated_later(table, new)
            else:
                self.keys.append(_add_unique(table, new))
        return True

    def validated_later(self, table: str, new: ForeignKey | CheckConstraint) -> None:
        """Add ``new`` NOT VALID; when online, validate it after the transaction."""
        phase = self.fks if isinstance(new, ForeignKey) else self.keys
        text = _fk_sql if isinstance(new, ForeignKey) else _check_sql
        add_late = f"ALTER TABLE {_q(table)} ADD {text(new, not_valid=True)};"  # type: ignore[arg-type]
        if not (self.online and new.validated):
            phase.append(f"ALTER TABLE {_q(table)} ADD {text(new)};")  # type: ignore[arg-type]
            return
        phase.append(add_late)
        self.out.follow.append(FollowUp(
            (f"ALTER TABLE {_q(table)} VALIDATE CONSTRAINT {quote_ident(new.name)};",),
            # no statement un-validates: the constraint is dropped and added NOT VALID
            (f"ALTER TABLE {_q(table)} DROP CONSTRAINT {quote_ident(new.name)};", add_late)))

    def index(self, d: Difference) -> bool:
        table = d.parent or ""
        both = self.before.table(table) is not None and self.after.table(table) is not None
        old_t, new_t = self.before.table(table), self.after.table(table)
        if d.change == "changed" and [a.attribute for a in d.attributes] == ["name"]:
            schema = table.partition(".")[0]
            self.keys.append(f"ALTER INDEX {_q(f'{schema}.{d.leaf}')} "
                             f"RENAME TO {quote_ident(d.attributes[0].after)};")
            return True
        if d.change in ("removed", "changed"):
            old = next((i for i in old_t.indexes if i.name == d.leaf), None) if old_t else None
            if old is None or old.constraint is not None:
                return False
            # Built concurrently only when its columns exist on both sides (else the file
            # that adds or drops the column owns it).
            if both and _columns_kept(old, new_t):
                self.out.concurrent.append(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {_q(f'{old_t.schema}.{old.name}')};")
            else:
                self.drop_indexes.append(f"DROP INDEX IF EXISTS "
                                         f"{_q(f'{old_t.schema}.{old.name}')};")
        if d.change in ("added", "changed"):
            name = next((a.after for a in d.attributes if a.attribute == "name"), d.leaf)
            new = next((i for i in new_t.indexes if i.name == name), None) if new_t else None
            if new is None or new.constraint is not None:
                return False
            if both and _columns_kept(new, old_t):
                self.out.concurrent.append(_concurrently(new.definition) + ";")
            else:
                self.indexes.append(f"{new.definition};")
        return True

    # -- policies and grants --------------------------------------------------------
    def policy(self, d: Difference) -> bool:
        table = d.parent or ""
        if d.change in ("removed", "changed"):
            self.drop_policies.append(f"DROP POLICY {quote_ident(d.leaf)} ON {_q(table)};")
        if d.change in ("added", "changed"):
            new_t = self.after.table(table)
            policy = next((p for p in new_t.policies if p.name == d.leaf), None) if new_t else None
            if policy is None:
                return False
            self.security.append(_policy_sql(table, policy))
        return True

    def grant(self, d: Difference) -> bool:
        table, grantee = d.name.rsplit(":", 1)
        who = _grantee(grantee)
        if d.change in ("removed", "changed"):
            self.grants.append(f"REVOKE ALL ON TABLE {_q(table)} FROM {who};")
        if d.change in ("added", "changed"):
            new_t = self.after.table(table)
            grant = next((g for g in new_t.grants if g.grantee == grantee), None) if new_t else None
            if grant is None:
                return False
            self.grants.extend(_grant_sql(table, grant))
        return True


def _identity_of(snap: Snapshot, seq: Sequence) -> bool:
    if not seq.owned_by:
        return False
    schema, table, column = seq.owned_by.split(".", 2)
    owner = snap.table(f"{schema}.{table}")
    col = owner.column(column) if owner else None
    return col is not None and col.identity is not None


def _sequence_sql(seq: Sequence) -> str:
    parts = [f"CREATE SEQUENCE {_q(seq.qualified)} AS {seq.data_type}"]
    for word, value in (("INCREMENT BY", seq.increment), ("MINVALUE", seq.min_value),
                        ("MAXVALUE", seq.max_value), ("START WITH", seq.start),
                        ("CACHE", seq.cache)):
        if value is not None:
            parts.append(f"{word} {value}")
    return " ".join(parts) + (" CYCLE;" if seq.cycle else ";")


def _columns_kept(index: Index, other: Table | None) -> bool:
    return other is not None and all(c is None or other.column(c) is not None
                                     for c in (*index.columns, *index.include))


def _concurrently(definition: str) -> str:
    """``CREATE [UNIQUE] INDEX name ...`` (``pg_get_indexdef``) built ``CONCURRENTLY``."""
    head = "CREATE UNIQUE INDEX " if definition.startswith("CREATE UNIQUE INDEX ") \
        else "CREATE INDEX "
    return head + "CONCURRENTLY " + definition[len(head):]


def _constraint(table: Table | None, kind: str, name: str
                ) -> UniqueConstraint | CheckConstraint | ForeignKey | None:
    if table is None:
        return None
    pool: tuple[object, ...] = {
        "primary key": (table.primary_key,) if table.primary_key else (),
        "unique constraint": table.unique_constraints,
        "check constraint": table.check_constraints,
        "foreign key": table.foreign_keys,
    }[kind]
    return next((c for c in pool if getattr(c, "name", None) == name), None)  # type: ignore[return-value]


def _text(value: str | None) -> str:
    return "NULL" if value is None else literal(value)


def _column_sql(column: Column) -> str:
    parts = [quote_ident(column.name), column.type]
    if column.identity:
        parts.append(f"GENERATED {column.identity.upper()} AS IDENTITY")
    elif column.generated:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) STORED")
    elif column.default is not None:
        parts.append(f"DEFAULT {column.default}")
    if not column.nullable:
        parts.append("NOT NULL")
    return " ".join(parts)


def _add_unique(table: str, key: UniqueConstraint) -> str:
    kind = "PRIMARY KEY" if key.primary else (
        "UNIQUE NULLS NOT DISTINCT" if key.nulls_not_distinct else "UNIQUE")
    deferrable = " DEFERRABLE" if key.deferrable else ""
    return (f"ALTER TABLE {_q(table)} ADD CONSTRAINT {quote_ident(key.name)} {kind} "
            f"({_cols(key.columns)}){deferrable};")


def _check_sql(check: CheckConstraint, *, not_valid: bool = False) -> str:
    tail = " NOT VALID" if not_valid or not check.validated else ""
    return f"CONSTRAINT {quote_ident(check.name)} CHECK ({check.expression}){tail}"


def _fk_sql(fk: ForeignKey, *, not_valid: bool = False) -> str:
    text = (f"CONSTRAINT {quote_ident(fk.name)} FOREIGN KEY ({_cols(fk.columns)}) "
            f"REFERENCES {_q(fk.ref_qualified)} ({_cols(fk.ref_columns)})")
    if fk.on_delete != "NO ACTION":
        text += f" ON DELETE {fk.on_delete}"
    if fk.on_update != "NO ACTION":
        text += f" ON UPDATE {fk.on_update}"
    if fk.deferrable:
        text += " DEFERRABLE"
    if not_valid or not fk.validated:
        text += " NOT VALID"
    return text


def _policy_sql(table: str, policy: Policy) -> str:
    text = (f"CREATE POLICY {quote_ident(policy.name)} ON {_q(table)} AS "
            f"{'PERMISSIVE' if policy.permissive else 'RESTRICTIVE'} FOR {policy.command} "
            f"TO {', '.join(_grantee(r) for r in policy.roles) or 'PUBLIC'}")
    if policy.using is not None:
        text += f" USING ({policy.using})"
    if policy.with_check is not None:
        text += f" WITH CHECK ({policy.with_check})"
    return text + ";"


def _grantee(name: str) -> str:
    return "PUBLIC" if name.lower() == "public" else quote_ident(name)


def _grant_sql(table: str, grant: Grant) -> list[str]:
    plain = [p for p in grant.privileges if p not in grant.grantable]
    out = []
    if plain:
        out.append(f"GRANT {', '.join(plain)} ON TABLE {_q(table)} TO {_grantee(grant.grantee)};")
    if grant.grantable:
        out.append(f"GRANT {', '.join(grant.grantable)} ON TABLE {_q(table)} TO "
                   f"{_grantee(grant.grantee)} WITH GRANT OPTION;")
    return out
