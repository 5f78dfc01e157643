"""What a migration rule knows when it looks at one statement.

A rule is called once per statement with a :class:`MigrationContext` describing the
state *before* that statement runs; the engine then calls :meth:`MigrationContext.after`
so the next statement sees its effects. The state is what decides whether a statement
is dangerous (squawk's false positives come from missing it; catalogue §0.2):

- whether the statement runs inside a transaction block (the runner wraps the section,
  or an explicit ``BEGIN`` is open), and the explicit ``BEGIN``s seen;
- objects created earlier in the same file (tables, columns, indexes, constraints,
  schemas, types, views, functions), by schema-qualified name resolved with the file's
  ``SET search_path``: they are new and empty, so lock, rewrite and destructive rules
  exempt them;
- constraints added ``NOT VALID`` and not yet validated, and validated
  ``CHECK (col IS NOT NULL)`` constraints (same file, or the live catalog);
- enum labels added in the current transaction;
- the strongest lock held on each relation in the current transaction
  (:mod:`.locks`);
- ``lock_timeout`` / ``statement_timeout`` in force (``SET LOCAL`` ends with the
  transaction; ``0`` means none);
- the target server version (``server_version_num``) and, when linting against a
  database, its catalog (:class:`CatalogFacts`).

Rules that need a fact not tracked here read ``ctx.earlier`` (every statement before
this one in the section) rather than keeping state of their own: rules are stateless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pglast import ast, enums

from pgkeel.lint.migration.locks import LockMode, locks_taken
from pgkeel.lint.migration.source import LintSection, LintSource, Statement
from pgkeel.report.findings import Severity

if TYPE_CHECKING:
    from pgkeel.catalog.model import Snapshot, Table

__all__ = ["Blocker", "CatalogFacts", "LintSettings", "MigrationContext", "qualified"]

AT = enums.AlterTableType
_DEFAULT_SCHEMA = "public"


def qualified(schema: str | None, name: str, search_path: tuple[str, ...] = ()) -> str:
    """``schema.name`` with the first schema of ``search_path`` (else ``public``) for
    an unqualified name. Names are PostgreSQL's folded identifiers, unquoted."""
    return f"{schema or (search_path[0] if search_path else _DEFAULT_SCHEMA)}.{name}"


@dataclass(frozen=True, slots=True)
class LintSettings:
    """How the files are linted: from ``[lint]`` in pgkeel.toml and the command line.

    ``target_version`` is the server's ``server_version_num`` (150004) or None when
    unknown (version-gated rules then assume the oldest supported release and say so);
    ``assume_in_transaction`` makes plain ``.sql`` files count as wrapped in one
    transaction; ``runner_lock_timeout_ms`` / ``runner_statement_timeout_ms`` are the
    timeouts the runner sets before each migration (None: none);
    ``options`` holds ``{rule id: {option: value}}`` from ``[lint.options.<id>]``;
    ``large_table_bytes`` (1 GiB) and ``small_table_rows`` (1,000) are where
    :meth:`MigrationContext.scaled` raises a lock or rewrite finding to an error or
    lowers it to info.
    """

    target_version: int | None = None
    assume_in_transaction: bool = False
    large_table_bytes: int = 1 << 30
    small_table_rows: int = 1000
    runner_lock_timeout_ms: int | None = None
    runner_statement_timeout_ms: int | None = None
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Blocker:
    """Another session holding (``granted``) or awaiting a lock on a table right now.

    ``mode`` is the lock's mode; ``description`` says who and since when, in words
    (``pid 123 (app@10.0.0.5, idle in transaction for 4 min): SELECT ...``).
    ``str()`` gives the description.
    """

    pid: int
    mode: LockMode
    granted: bool
    description: str

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True, slots=True)
class CatalogFacts:
    """The live database a migration will run against, when one is at hand.

    ``snapshot`` is its catalog (:func:`pgkeel.catalog.introspect.snapshot`);
    ``blocking`` maps ``schema.table`` to the other sessions holding or waiting for
    locks on it now (:class:`Blocker`, for ``lock-queue-preflight``); ``applied``
    maps each migration version pgkeel's history records as applied to the file's
    checksum then (None when the history was not read, {} when there is none).
    """

    snapshot: Snapshot
    blocking: Mapping[str, tuple[Blocker, ...]] = field(default_factory=dict)
    applied: Mapping[str, str] | None = None
    # schema.name -> table, filled on first use (rules ask once per statement).
    _tables: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def table(self, name: str) -> Table | None:
        """The table ``schema.name`` (qualified), or None when the database has none."""
        if not self._tables and self.snapshot.tables:
            self._tables.update((f"{t.schema}.{t.name}", t) for t in self.snapshot.tables)
        return self._tables.get(name)


class MigrationContext:
    """The state before one statement of one section (see the module docstring).

    Read-only for rules: every attribute below is maintained by :meth:`after`.
    ``source``/``section``/``path`` say where the statement is; ``earlier`` holds the
    section's statements before it; ``settings`` and ``catalog`` (None offline) what is
    known of the target.
    """

    def __init__(self, source: LintSource, section: LintSection, settings: LintSettings,
                 catalog: CatalogFacts | None = None) -> None:
        self.source = source
        self.section = section
        self.path: Path = source.path
        self.settings = settings
        self.catalog = catalog
        self._seen = 0
        self.search_path: tuple[str, ...] = ()
        self.explicit_transaction = False
        self.begins = 0
        self.created: set[tuple[str, str]] = set()
        self.not_valid: set[tuple[str, str]] = set()
        self.not_null_checks: set[tuple[str, str]] = set()
        self.enum_labels_added: set[tuple[str, str]] = set()
        self.locks: dict[str, LockMode] = {}
        # NOT VALID ``CHECK (col IS NOT NULL)`` constraints, by name, until validated.
        self._pending: dict[tuple[str, str], str] = {}
        # The runner's timeouts hold for the sections it runs, not for a plain .sql file
        # (psql, or another tool, runs that).
        self._runner_lock_timeout = None if section.plain else settings.runner_lock_timeout_ms
        self._runner_statement_timeout = (None if section.plain
                                          else settings.runner_statement_timeout_ms)
        self._lock_timeout: tuple[int | None, bool] = (self._runner_lock_timeout, False)
        self._statement_timeout: tuple[int | None, bool] = (
            self._runner_statement_timeout, False)

    # -- what rules ask -------------------------------------------------------------

    @property
    def earlier(self) -> tuple[Statement, ...]:
        """The section's statements before this one, in order (sliced on demand)."""
        return self.section.statements[:self._seen]

    @property
    def in_transaction(self) -> bool:
        """True when the statement runs inside a transaction block."""
        return self.section.wrapped or self.explicit_transaction

    @property
    def target_version(self) -> int | None:
        """``server_version_num`` of the target: the database's, else the setting's."""
        if self.catalog is not None:
            return self.catalog.snapshot.server_version_num
        return self.settings.target_version

    @property
    def lock_timeout_ms(self) -> int | None:
        """The ``lock_timeout`` in force in ms, None when none (unset or 0)."""
        return self._lock_timeout[0] or None

    @property
    def statement_timeout_ms(self) -> int | None:
        """The ``statement_timeout`` in force in ms, None when none (unset or 0)."""
        return self._statement_timeout[0] or None

    def qualify(self, relation: ast.RangeVar) -> str:
        """``schema.name`` of a relation as written, resolved with the file's search_path."""
        return qualified(relation.schemaname, relation.relname, self.search_path)

    def created_here(self, kind: str, name: str) -> bool:
        """True when the file created ``name`` (qualified; a column is
        ``schema.table.column``) earlier; ``kind`` is one of ``table``, ``column``,
        ``index``, ``constraint``, ``schema``, ``type``, ``view``, ``function``,
        ``sequence``. A column of a table created here counts as created here."""
        if (kind, name) in self.created:
            return True
        if kind in ("column", "constraint"):
            return ("table", name.rsplit(".", 1)[0]) in self.created
        return False

    def is_new(self, relation: ast.RangeVar) -> bool:
        """True when ``relation`` was created earlier in this file (so it is empty and
        no other session can be using it)."""
        name = self.qualify(relation)
        return self.created_here("table", name) or self.created_here("view", name)

    def is_new_name(self, name: str) -> bool:
        """True when the relation ``schema.name`` (a table, view, index or sequence)
        was created earlier in this file."""
        return any((kind, name) in self.created
                   for kind in ("table", "view", "index", "sequence"))

    def has_not_null_check(self, table: str, column: str) -> bool:
        """True when a validated ``CHECK (column IS NOT NULL)`` on ``table`` exists:
        added and validated earlier in this file, or in the live catalog."""
        if (table, column) in self.not_null_checks:
            return True
        found = self.catalog.table(table) if self.catalog else None
        return found is not None and any(
            c.validated and _is_not_null_check(c.expression, column)
            for c in found.check_constraints)

    def scaled(self, severity: Severity, table: str) -> tuple[Severity, str]:
        """A lock/rewrite rule's ``severity`` for ``table`` (qualified) as the live
        catalog sizes it, and words for the message ("" offline or when unknown).

        An empty or small table (row estimate at most ``small_table_rows``) makes the
        finding info, a table of ``large_table_bytes`` or more an error; sizes are
        ``pg_total_relation_size`` and the row estimate ``pg_class.reltuples`` (-1,
        never analyzed, is unknown and changes nothing).
        """
        found = self.catalog.table(table) if self.catalog else None
        if found is None:
            return severity, ""
        rows = f"about {found.row_estimate:,} rows" if found.row_estimate >= 0 \
            else "an unknown number of rows (never analyzed)"
        words = f"{table} holds {rows}, {_size(found.size_bytes)}"
        if found.size_bytes >= self.settings.large_table_bytes:
            return Severity.ERROR, words
        if 0 <= found.row_estimate <= self.settings.small_table_rows:
            return Severity.INFO, words
        return severity, words

    def option(self, rule_id: str, name: str, default: Any = None) -> Any:
        """The ``[lint.options.<rule_id>]`` value ``name``, else ``default``."""
        return self.settings.options.get(rule_id, {}).get(name, default)

    # -- what the engine calls ------------------------------------------------------

    def after(self, statement: Statement) -> None:
        """Record the effects of ``statement`` (called by the engine after the rules)."""
        node = statement.node
        self._seen = statement.index + 1
        if isinstance(node, ast.TransactionStmt):
            self._transaction(node)
            return
        if isinstance(node, ast.VariableSetStmt):
            self._set(node)
            return
        for relation, mode in locks_taken(node, self.qualify).items():
            if self.in_transaction:
                self.locks[relation] = max(mode, self.locks.get(relation, mode))
        self._created(node)
        if isinstance(node, ast.AlterTableStmt):
            self._constraints(node)
        if isinstance(node, ast.AlterEnumStmt) and node.newVal and self.in_transaction:
            self.enum_labels_added.add((_dotted(node.typeName), node.newVal))

    def _transaction(self, node: ast.TransactionStmt) -> None:
        kind = enums.TransactionStmtKind
        if node.kind in (kind.TRANS_STMT_BEGIN, kind.TRANS_STMT_START):
            self.begins += 1
            self.explicit_transaction = True
        elif node.kind in (kind.TRANS_STMT_COMMIT, kind.TRANS_STMT_ROLLBACK,
                           kind.TRANS_STMT_PREPARE):
            self.explicit_transaction = False
            self._end_transaction()

    def _end_transaction(self) -> None:
        """A transaction ended: its locks are released and SET LOCAL values expire."""
        self.locks.clear()
        self.enum_labels_added.clear()
        if self._lock_timeout[1]:
            self._lock_timeout = (self._runner_lock_timeout, False)
        if self._statement_timeout[1]:
            self._statement_timeout = (self._runner_statement_timeout, False)

    def _set(self, node: ast.VariableSetStmt) -> None:
        name = (node.name or "").lower()
        if node.is_local and not self.in_transaction:
            return  # SET LOCAL outside a transaction block has no effect (SET, Notes)
        kind = enums.VariableSetKind
        value: int | None = None
        if node.kind == kind.VAR_SET_VALUE and node.args:
            value = _milliseconds(node.args[0])
        if name == "search_path":
            self.search_path = tuple(_text(a) for a in node.args or ()) \
                if node.kind == kind.VAR_SET_VALUE else ()
        elif name == "lock_timeout":
            self._lock_timeout = (value, bool(node.is_local))
        elif name == "statement_timeout":
            self._statement_timeout = (value, bool(node.is_local))

    def _created(self, node: ast.Node) -> None:
        add = self.created.add
        if isinstance(node, ast.CreateStmt | ast.CreateTableAsStmt):
            relation = node.relation if isinstance(node, ast.CreateStmt) else node.into.rel
            table = self.qualify(relation)
            add(("table", table))
            for element in getattr(node, "tableElts", None) or ():
                if isinstance(element, ast.ColumnDef):
                    add(("column", f"{table}.{element.colname}"))
        elif isinstance(node, ast.IndexStmt) and node.idxname:
            add(("index", qualified(node.relation.schemaname, node.idxname, self.search_path)))
        elif isinstance(node, ast.ViewStmt):
            add(("view", self.qualify(node.view)))
        elif isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
            add(("schema", node.schemaname))
        elif isinstance(node, ast.CreateEnumStmt | ast.CompositeTypeStmt | ast.CreateDomainStmt):
            names = node.typeName if not isinstance(node, ast.CompositeTypeStmt) else None
            name = _dotted(names) if names else self.qualify(node.typevar)
            add(("type", name if "." in name else qualified(None, name, self.search_path)))
        elif isinstance(node, ast.CreateFunctionStmt):
            add(("function", _dotted(node.funcname)))
        elif isinstance(node, ast.CreateSeqStmt):
            add(("sequence", self.qualify(node.sequence)))
        elif isinstance(node, ast.AlterTableStmt):
            table = self.qualify(node.relation)
            for cmd in node.cmds or ():
                if cmd.subtype == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                    add(("column", f"{table}.{cmd.def_.colname}"))
                if cmd.subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint) \
                        and cmd.def_.conname:
                    add(("constraint", f"{table}.{cmd.def_.conname}"))

    def _constraints(self, node: ast.AlterTableStmt) -> None:
        table = self.qualify(node.relation)
        for cmd in node.cmds or ():
            constraint = cmd.def_ if isinstance(cmd.def_, ast.Constraint) else None
            if cmd.subtype == AT.AT_AddConstraint and constraint is not None:
                column = _not_null_column(constraint)
                if constraint.skip_validation and constraint.conname:
                    self.not_valid.add((table, constraint.conname))
                elif column:
                    self.not_null_checks.add((table, column))
                if column and constraint.conname and constraint.skip_validation:
                    self._pending[(table, constraint.conname)] = column
            elif cmd.subtype == AT.AT_ValidateConstraint and cmd.name:
                self.not_valid.discard((table, cmd.name))
                column = self._pending.pop((table, cmd.name), None)
                if column:
                    self.not_null_checks.add((table, column))


def _size(size: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return f"{size:,.1f} TB"


def _dotted(names: tuple[ast.Node, ...] | None) -> str:
    return ".".join(n.sval for n in names or () if isinstance(n, ast.String))


def _text(node: ast.Node) -> str:
    if isinstance(node, ast.A_Const) and node.val is not None:
        value = node.val
        return str(getattr(value, "sval", None) or getattr(value, "ival", ""))
    return ""


def _milliseconds(node: ast.Node) -> int | None:
    """A timeout setting's value in ms: ints are ms, strings take PostgreSQL's units
    ("Parameter Names and Values", 20.1.1: ms, s, min, h, d; no unit means ms)."""
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.Integer):
        return node.val.ival
    text = _text(node).strip().lower().replace(" ", "")
    units = (("ms", 1), ("min", 60_000), ("s", 1000), ("h", 3_600_000), ("d", 86_400_000))
    for unit, factor in units:
        if text.endswith(unit) and text[: -len(unit)].replace(".", "", 1).isdigit():
            return int(float(text[: -len(unit)]) * factor)
    return int(text) if text.isdigit() else None


def _not_null_column(constraint: ast.Constraint) -> str | None:
    """The column of a ``CHECK (col IS NOT NULL)`` constraint, else None."""
    if constraint.contype != enums.ConstrType.CONSTR_CHECK:
        return None
    expr = constraint.raw_expr
    if isinstance(expr, ast.NullTest) and expr.nulltesttype == enums.NullTestType.IS_NOT_NULL \
            and isinstance(expr.arg, ast.ColumnRef):
        fields = expr.arg.fields or ()
        last = fields[-1] if fields else None
        return last.sval if isinstance(last, ast.String) else None
    return None


def _is_not_null_check(expression: str, column: str) -> bool:
    """True for a catalog CHECK expression ``(col IS NOT NULL)`` on ``column``."""
    text = expression.strip()
    if text.upper().startswith("CHECK"):
        text = text[5:].strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text in (f"{column} IS NOT NULL", f'"{column}" IS NOT NULL')
