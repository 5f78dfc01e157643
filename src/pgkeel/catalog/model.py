"""Immutable snapshot of a database's structure, as read from ``pg_catalog``.

Every object carries its schema and name; ``qualified`` gives ``schema.name`` the way
findings name objects. Collections are tuples so snapshots are hashable, comparable
and safe to share. :meth:`Snapshot.to_dict` / :meth:`Snapshot.from_dict` round-trip
through JSON.

Sizes are in bytes, row counts are the planner's estimates (``pg_class.reltuples``,
-1 when the table was never analysed; PostgreSQL docs, "pg_class"). Sizes are
estimates too unless ``Snapshot.exact_sizes`` says otherwise: ``relpages`` times the
block size, as of the last VACUUM, ANALYZE or CREATE INDEX (0 before any); exact ones
are measured on disk (``pg_table_size`` per relation, summing to
``pg_total_relation_size`` per table).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

__all__ = [
    "CheckConstraint",
    "Column",
    "Domain",
    "Enum",
    "Extension",
    "ForeignKey",
    "Function",
    "Grant",
    "Index",
    "Policy",
    "Role",
    "Schema",
    "Sequence",
    "Snapshot",
    "Table",
    "Trigger",
    "UniqueConstraint",
    "View",
        "ViewUse",
]

FkAction = Literal["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]


def _q(schema: str, name: str) -> str:
    return f"{schema}.{name}"


@dataclass(frozen=True, slots=True)
class Grant:
    """Privileges an ACL gives one grantee (PostgreSQL docs, "Privileges", 5.8).

    ``grantee`` is a role name, or ``PUBLIC`` for every role; ``privileges`` are
    ``aclexplode`` privilege types (``SELECT``, ``INSERT``, ``EXECUTE``, ``USAGE``...),
    sorted; ``grantable`` those of them held ``WITH GRANT OPTION``. A schema or
    function whose ACL was never set lists its default ACL (``acldefault``: its
    owner's privileges, plus ``EXECUTE`` for PUBLIC on a function); a table or view
    whose ACL was never set lists no grants (only its owner holds privileges on it).
    """

    grantee: str
    privileges: tuple[str, ...]
    grantable: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Role:
    """A role of the cluster (``pg_roles``), other than the ``pg_`` predefined ones.

    ``member_of`` are the roles it is a direct member of, sorted; ``bypass_rls`` is
    ``rolbypassrls`` (superusers bypass row-level security too: ``superuser``).
    """

    name: str
    member_of: tuple[str, ...] = ()
    bypass_rls: bool = False
    superuser: bool = False


@dataclass(frozen=True, slots=True)
class Schema:
    """A namespace; ``owner`` is its owning role, ``grants`` its ACL (:class:`Grant`),
    ``comment`` its ``COMMENT ON SCHEMA``."""

    name: str
    owner: str
    grants: tuple[Grant, ...] = ()
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Column:
    """A table column.

    ``type`` is ``format_type()`` output (``timestamp without time zone``,
    ``numeric(10,2)``, a domain's or enum's name); ``type_name`` the base type's
    ``pg_type.typname`` (``timestamp``, ``numeric``, ``int4``, ``_text`` for ``text[]``),
    looking through a domain to the type it is defined over; ``identity`` is ``always``,
    ``by default`` or None; ``generated`` the expression of a generated column, else
    None, and ``generated_kind`` says whether it is ``stored`` or (PostgreSQL 18+)
    ``virtual``; ``position`` is 1-based.
    """

    name: str
    position: int
    type: str
    type_name: str
    nullable: bool
    default: str | None = None
    identity: Literal["always", "by default"] | None = None
    generated: str | None = None
    comment: str | None = None
    generated_kind: Literal["stored", "virtual"] | None = None


@dataclass(frozen=True, slots=True)
class UniqueConstraint:
    """A PRIMARY KEY or UNIQUE constraint on ``columns`` (in key order).

    ``nulls_not_distinct`` is True for ``UNIQUE NULLS NOT DISTINCT`` (PostgreSQL 15+);
    ``comment`` its ``COMMENT ON CONSTRAINT``.
    """

    name: str
    columns: tuple[str, ...]
    primary: bool
    deferrable: bool = False
    nulls_not_distinct: bool = False
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class CheckConstraint:
    """A CHECK constraint; ``validated`` is False for ``NOT VALID`` ones.

    ``enforced`` is False for ``NOT ENFORCED`` ones (PostgreSQL 18+; always True before);
    ``comment`` its ``COMMENT ON CONSTRAINT``.
    """

    name: str
    expression: str
    validated: bool = True
    enforced: bool = True
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A FOREIGN KEY from ``columns`` to ``ref_schema.ref_table(ref_columns)``.

    ``columns`` and ``ref_columns`` pair up in key order. ``validated`` is False for
    ``NOT VALID`` ones, ``enforced`` False for ``NOT ENFORCED`` ones (PostgreSQL 18+).
    ``ref_index`` names the unique index of the referenced table the key depends on
    (``pg_constraint.conindid``): it cannot be dropped while the key exists.
    ``comment`` is its ``COMMENT ON CONSTRAINT``.
    """

    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: FkAction = "NO ACTION"
    on_update: FkAction = "NO ACTION"
    validated: bool = True
    deferrable: bool = False
    enforced: bool = True
    ref_index: str | None = None
    comment: str | None = None

    @property
    def ref_qualified(self) -> str:
        """``schema.table`` of the referenced table."""
        return _q(self.ref_schema, self.ref_table)


@dataclass(frozen=True, slots=True)
class Index:
    """An index.

    ``columns`` holds one entry per key column: the column name, or None for an
    expression (then ``expressions`` holds its text). ``include`` lists INCLUDE columns.
    ``predicate`` is the WHERE of a partial index; ``method`` is btree, gin, gist...;
    ``valid`` is False for an index left invalid by a failed CREATE INDEX CONCURRENTLY;
    ``definition`` is ``pg_get_indexdef()``; ``size_bytes`` its size (module
    docstring), 0 for the index of a partitioned table; ``constraint`` names
    the PRIMARY KEY, UNIQUE or EXCLUDE constraint it backs; ``nulls_not_distinct`` is
    ``indnullsnotdistinct`` (PostgreSQL 15+).

    Per key column, in key order: ``opclasses`` the operator class (``name``, or
    ``schema.name`` outside ``pg_catalog``), ``collations`` the collation
    (``schema.name`` outside ``pg_catalog``; None for a type without one) and
    ``orderings`` ``""``, ``"DESC"``, ``"NULLS FIRST"`` or ``"DESC NULLS LAST"``
    (``pg_index.indclass``, ``indcollation``, ``indoption``). ``inherited`` is True
    for the index of a partition attached to its parent's index
    (``pg_class.relispartition``); ``replica_identity`` for the table's ``REPLICA
    IDENTITY USING INDEX``; ``building`` for an invalid index a ``CREATE INDEX`` or
    ``REINDEX`` is building right now (``pg_stat_progress_create_index``). ``scans``
    is ``pg_stat_user_indexes.idx_scan`` on this server since the statistics were
    reset (``Snapshot.stats_reset``), None for the index of a partitioned table; it
    is not structure, so equality ignores it. ``comment`` is its ``COMMENT ON INDEX``.
    """

    name: str
    columns: tuple[str | None, ...]
    unique: bool
    primary: bool
    method: str
    valid: bool
    definition: str
    size_bytes: int
    expressions: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    predicate: str | None = None
    constraint: str | None = None
    nulls_not_distinct: bool = False
    opclasses: tuple[str, ...] = ()
    collations: tuple[str | None, ...] = ()
    orderings: tuple[str, ...] = ()
    inherited: bool = False
    replica_identity: bool = False
    building: bool = False
    scans: int | None = field(default=None, compare=False)
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Trigger:
    """A user trigger; ``timing`` BEFORE/AFTER/INSTEAD OF, ``events`` INSERT/UPDATE/...;
    ``comment`` its ``COMMENT ON TRIGGER``."""

    name: str
    function: str
    timing: str
    events: tuple[str, ...]
    level: Literal["ROW", "STATEMENT"]
    enabled: bool
    definition: str
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """A row-level security policy (PostgreSQL docs, "CREATE POLICY"); ``comment`` its
    ``COMMENT ON POLICY``."""

    name: str
    command: Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]
    permissive: bool
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Table:
    """An ordinary or partitioned table.

    ``kind`` is ``table`` or ``partitioned``; ``partition_of`` is the qualified parent
    for a partition; ``rls_enabled``/``rls_forced`` mirror ``relrowsecurity`` and
    ``relforcerowsecurity``; ``row_estimate`` in rows (-1 never analysed);
    ``size_bytes`` the total size including indexes and TOAST (module docstring; 0 for
    a partitioned table, whose rows live in its partitions); ``partition_key`` is
    ``pg_get_partkeydef()`` of a
    partitioned table (``RANGE (payment_date)``) and ``partition_bound`` the ``FOR
    VALUES ...`` clause of a partition; ``owner`` its owning role (None in snapshots
    older than this field).
    """

    schema: str
    name: str
    kind: Literal["table", "partitioned"]
    columns: tuple[Column, ...]
    primary_key: UniqueConstraint | None
    unique_constraints: tuple[UniqueConstraint, ...]
    check_constraints: tuple[CheckConstraint, ...]
    foreign_keys: tuple[ForeignKey, ...]
    indexes: tuple[Index, ...]
    triggers: tuple[Trigger, ...]
    policies: tuple[Policy, ...]
    rls_enabled: bool
    rls_forced: bool
    row_estimate: int
    size_bytes: int
    partition_of: str | None = None
    comment: str | None = None
    partition_key: str | None = None
    partition_bound: str | None = None
    grants: tuple[Grant, ...] = ()
    owner: str | None = None

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return _q(self.schema, self.name)

    @property
    def is_partition(self) -> bool:
        """True when this table is a partition of another."""
        return self.partition_of is not None

    def column(self, name: str) -> Column | None:
        """Return the column ``name``, if the table has it."""
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class ViewUse:
    """A relation column a view's query reads (``column`` None: the relation as a whole).

    From ``pg_depend`` rows of the view's ``_RETURN`` rule (``pg_rewrite``): PostgreSQL
    records one per column the query references, and one with no column for a relation
    referenced without naming a column (docs, "pg_depend", "pg_rewrite").
    """

    schema: str
    relation: str
    column: str | None = None


@dataclass(frozen=True, slots=True)
class View:
    """A view or materialized view; ``definition`` is ``pg_get_viewdef()``.

    ``columns`` are its output columns; ``indexes`` exist only on materialized views;
    ``triggers`` are INSTEAD OF (or statement) triggers on a view. ``uses`` lists the
    columns (and relations) its query reads, from the dependency catalog; ``owner``,
    ``options`` (``reloptions``, e.g. ``security_invoker=true``), ``populated`` (a
    materialized view's ``relispopulated``) and ``grants`` (its ACL, :class:`Grant`)
    are what re-creating it needs besides its definition.
    """

    schema: str
    name: str
    materialized: bool
    definition: str
    columns: tuple[Column, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    comment: str | None = None
    uses: tuple[ViewUse, ...] = ()
    owner: str | None = None
    options: tuple[str, ...] = ()
    populated: bool = True
    grants: tuple[Grant, ...] = ()

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return _q(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Sequence:
    """A sequence; ``owned_by`` is ``schema.table.column`` for serial/identity ones.

    ``start``, ``increment``, ``min_value``, ``max_value``, ``cache`` and ``cycle``
    are its options (``pg_sequence``; None in snapshots older than these fields).
    ``last_value`` is the last value written to disk (``pg_sequences.last_value``;
    with CACHE above 1 it runs ahead of the last value handed out): None before the
    first ``nextval``, or without the privilege to read it; it is not structure, so
    equality ignores it. ``owner`` is its owning role and ``comment`` its comment (None
    in snapshots older than these fields).
    """

    schema: str
    name: str
    data_type: str
    owned_by: str | None = None
    start: int | None = None
    increment: int | None = None
    min_value: int | None = None
    max_value: int | None = None
    cache: int | None = None
    cycle: bool = False
    last_value: int | None = field(default=None, compare=False)
    owner: str | None = None
    comment: str | None = None

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return _q(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Function:
    """A function or procedure; ``arguments`` is ``pg_get_function_identity_arguments``.

    ``source`` is ``pg_proc.prosrc``: the body of a SQL or PL/pgSQL function (the
    link symbol of a C function), None for a SQL-standard body (``BEGIN ATOMIC``).
    ``config`` is ``proconfig``, the settings pinned by ``SET`` (``search_path=""``);
    ``grants`` its ACL (:class:`Grant`); ``owner`` its owning role and ``comment`` its
    comment (None in snapshots older than these fields).
    """

    schema: str
    name: str
    arguments: str
    returns: str
    language: str
    kind: Literal["function", "procedure", "aggregate", "window"]
    security_definer: bool
    volatility: Literal["immutable", "stable", "volatile"]
    source: str | None = None
    config: tuple[str, ...] = ()
    grants: tuple[Grant, ...] = ()
    owner: str | None = None
    comment: str | None = None

    @property
    def qualified(self) -> str:
        """``schema.name(arguments)``."""
        return f"{_q(self.schema, self.name)}({self.arguments})"


@dataclass(frozen=True, slots=True)
class Enum:
    """An enum type; ``labels`` in sort order (PostgreSQL docs, "Enumerated Types");
    ``owner`` its owning role and ``comment`` its comment."""

    schema: str
    name: str
    labels: tuple[str, ...]
    owner: str | None = None
    comment: str | None = None

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return _q(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain over ``base_type`` (``format_type()`` text, e.g. ``integer``).

    ``checks`` holds its CHECK constraints (PostgreSQL docs, "CREATE DOMAIN");
    ``owner`` its owning role and ``comment`` its comment.
    """

    schema: str
    name: str
    base_type: str
    nullable: bool
    default: str | None = None
    checks: tuple[CheckConstraint, ...] = ()
    owner: str | None = None
    comment: str | None = None

    @property
    def qualified(self) -> str:
        """``schema.name``."""
        return _q(self.schema, self.name)


@dataclass(frozen=True, slots=True)
class Extension:
    """An installed extension."""

    name: str
    version: str
    schema: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything pgkeel knows about one database's structure at one moment.

    ``server_version_num`` is e.g. 150018. ``queries`` is how many catalog queries
    produced it (a fixed number, whatever the table count); it is left out of
    equality, so two snapshots of an unchanged database compare equal.
    ``exact_sizes`` says whether sizes were measured on disk or estimated from
    ``relpages`` (module docstring). ``enums`` and ``domains`` are the user-defined
    enum types and domains; ``roles`` the cluster's roles (:class:`Role`).
    ``stats_reset`` is when this database's statistics
    (index scans) were last reset, ISO 8601 (``pg_stat_database.stats_reset``; None
    when never reset), and ``stats_age_seconds`` how long before the snapshot that
    was; neither is structure, so equality ignores them.
    """

    database: str
    server_version: str
    server_version_num: int
    schemas: tuple[Schema, ...]
    tables: tuple[Table, ...]
    views: tuple[View, ...]
    sequences: tuple[Sequence, ...]
    functions: tuple[Function, ...]
    extensions: tuple[Extension, ...]
    queries: int = field(default=0, compare=False)
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    exact_sizes: bool = False
    roles: tuple[Role, ...] = ()
    stats_reset: str | None = field(default=None, compare=False)
    stats_age_seconds: float | None = field(default=None, compare=False)

    def table(self, qualified: str) -> Table | None:
        """Return the table ``schema.name`` (``public.`` assumed when unqualified)."""
        if "." not in qualified:
            qualified = f"public.{qualified}"
        return next((t for t in self.tables if t.qualified == qualified), None)

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON-ready data (tuples become lists)."""
        return _to_plain(self)  # type: ignore[no-any-return]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Snapshot:
        """Rebuild a snapshot from :meth:`to_dict` output.

        Raises ``KeyError``/``TypeError`` when ``data`` is not a snapshot's shape.
        """
        return _from_plain(cls, data)


def _to_plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, tuple | list):
        return [_to_plain(v) for v in value]
    return value


T = TypeVar("T")


def _from_plain(cls: type[T], data: dict[str, Any]) -> T:
    hints = get_type_hints(cls)
    kwargs = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name])
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = get_origin(hint)
    if origin is tuple:
        (item, *_rest) = get_args(hint)
        return tuple(_convert(item, v) for v in value)
    if origin is not None and origin is not Literal:  # unions such as X | None
        for arg in get_args(hint):
            if arg is not type(None):
                return _convert(arg, value)
    if isinstance(hint, type) and is_dataclass(hint):
        return _from_plain(hint, value)
    return value
