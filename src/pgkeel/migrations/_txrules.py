"""Which statements cannot run inside a transaction block, read from the parse tree.

PostgreSQL refuses these with SQLSTATE 25001 (``active_sql_transaction``) and the
message "<command> cannot run inside a transaction block" (``PreventInTransactionBlock``
in the server). Each rule below names the reference page that says so; the test suite
runs every one inside ``BEGIN`` on real servers to prove the list.

Not flagged, on purpose:

- ``ALTER TYPE ... ADD VALUE`` runs in a transaction block since PostgreSQL 12, but the
  new value cannot be *used* until that transaction commits ("ALTER TYPE", Notes), so a
  migration that adds a value and uses it in the same section fails at run time; split it
  into two migrations.
- ``REINDEX`` and ``CLUSTER`` of a partitioned table, and ``CALL``/``DO`` whose body
  commits, are refused too, but only the catalog or the body's execution knows that.
- ``ANALYZE`` (a ``VacuumStmt`` without ``is_vacuumcmd``) is fine in a transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pglast import ast, enums

__all__ = ["INSPECTED_KINDS", "is_transaction_control", "needs_tree",
           "non_transactional_reason"]

_TAIL = " cannot run inside a transaction block"
_TRUE = {"true", "on", "1", "yes"}
_FALSE = {"false", "off", "0", "no"}


def is_transaction_control(node: ast.Node | None) -> bool:
    """Return True for BEGIN, START TRANSACTION, COMMIT/END, ROLLBACK/ABORT, SAVEPOINT,
    RELEASE, ROLLBACK TO, PREPARE TRANSACTION and COMMIT/ROLLBACK PREPARED.

    The runner owns the transaction of each migration, so a migration that opens or ends
    one itself would commit half of it behind the runner's back (``supabase/cli#5047``).
    None (a statement whose node type is not in :data:`INSPECTED_KINDS`, for which
    ``_split`` builds no tree) is not transaction control.
    """
    return isinstance(node, ast.TransactionStmt)


def non_transactional_reason(node: ast.Node | None) -> str | None:
    """Return why ``node`` cannot run inside a transaction block, or None when it can.

    The reason reads like PostgreSQL's own error, e.g. "CREATE INDEX CONCURRENTLY cannot
    run inside a transaction block", so users recognise it. None (no tree: a node type
    no rule inspects) can.
    """
    if node is None:
        return None
    rule = _RULES.get(type(node))
    command = rule(node) if rule is not None else None
    return command + _TAIL if command else None


def _option(options: tuple[ast.DefElem, ...] | None, name: str, default: bool) -> bool:
    """Read a boolean ``WITH (name = ...)`` option the way ``defGetBoolean`` does."""
    for option in options or ():
        if option.defname != name:
            continue
        arg = option.arg
        if arg is None:  # a bare option name means true
            return True
        if isinstance(arg, ast.Integer):
            return arg.ival != 0
        if isinstance(arg, ast.Boolean):
            return bool(arg.boolval)
        if isinstance(arg, ast.String):
            text = arg.sval or ""
        elif isinstance(arg, ast.TypeName) and arg.names:  # on/off parse as a type name
            text = arg.names[-1].sval or ""
        else:
            return default
        text = text.lower()
        return True if text in _TRUE else False if text in _FALSE else default
    return default


def _create_index(node: ast.IndexStmt) -> str | None:
    # "Building Indexes Concurrently", CREATE INDEX reference page.
    return "CREATE INDEX CONCURRENTLY" if node.concurrent else None


def _drop(node: ast.DropStmt) -> str | None:
    # DROP INDEX reference page, CONCURRENTLY parameter.
    if node.removeType == enums.ObjectType.OBJECT_INDEX and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    return None


def _reindex(node: ast.ReindexStmt) -> str | None:
    # REINDEX reference page: CONCURRENTLY, and the SCHEMA / SYSTEM / DATABASE forms.
    kind = node.kind
    if kind == enums.ReindexObjectType.REINDEX_OBJECT_SCHEMA:
        return "REINDEX SCHEMA"
    if kind == enums.ReindexObjectType.REINDEX_OBJECT_SYSTEM:
        return "REINDEX SYSTEM"
    if kind == enums.ReindexObjectType.REINDEX_OBJECT_DATABASE:
        return "REINDEX DATABASE"
    if _option(node.params, "concurrently", False):
        return "REINDEX CONCURRENTLY"
    return None


def _vacuum(node: ast.VacuumStmt) -> str | None:
    # VACUUM reference page, Notes; plain ANALYZE is allowed.
    return "VACUUM" if node.is_vacuumcmd else None


def _cluster(node: ast.ClusterStmt) -> str | None:
    # CLUSTER reference page: the form without a table name.
    return "CLUSTER without a table name" if node.relation is None else None


def _alter_database(node: ast.AlterDatabaseStmt) -> str | None:
    # ALTER DATABASE reference page, SET TABLESPACE.
    if any(option.defname == "tablespace" for option in node.options or ()):
        return "ALTER DATABASE ... SET TABLESPACE"
    return None


def _create_subscription(node: ast.CreateSubscriptionStmt) -> str | None:
    # CREATE SUBSCRIPTION reference page: refused when create_slot is true, its
    # default unless connect = false.
    connect = _option(node.options, "connect", True)
    if _option(node.options, "create_slot", connect):
        return "CREATE SUBSCRIPTION ... WITH (create_slot = true)"
    return None


def _alter_subscription(node: ast.AlterSubscriptionStmt) -> str | None:
    # ALTER SUBSCRIPTION reference page: REFRESH PUBLICATION, and SET / ADD / DROP
    # PUBLICATION with refresh = true (the default).
    kinds = enums.AlterSubscriptionType
    if node.kind == kinds.ALTER_SUBSCRIPTION_REFRESH:
        return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION"
    publication_kinds = (kinds.ALTER_SUBSCRIPTION_SET_PUBLICATION,
                         kinds.ALTER_SUBSCRIPTION_ADD_PUBLICATION,
                         kinds.ALTER_SUBSCRIPTION_DROP_PUBLICATION)
    if node.kind in publication_kinds and _option(node.options, "refresh", True):
        return "ALTER SUBSCRIPTION ... PUBLICATION with refresh = true"
    return None


def _alter_table(node: ast.AlterTableStmt) -> str | None:
    # ALTER TABLE reference page, DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+).
    for cmd in node.cmds or ():
        if (cmd.subtype == enums.AlterTableType.AT_DetachPartition
                and isinstance(cmd.def_, ast.PartitionCmd) and cmd.def_.concurrent):
            return "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"
    return None


def _discard(node: ast.DiscardStmt) -> str | None:
    # DISCARD reference page: DISCARD ALL.
    return "DISCARD ALL" if node.target == enums.DiscardMode.DISCARD_ALL else None


def _commit_prepared(node: ast.TransactionStmt) -> str | None:
    # COMMIT PREPARED / ROLLBACK PREPARED reference pages (also transaction control).
    kinds = enums.TransactionStmtKind
    if node.kind == kinds.TRANS_STMT_COMMIT_PREPARED:
        return "COMMIT PREPARED"
    if node.kind == kinds.TRANS_STMT_ROLLBACK_PREPARED:
        return "ROLLBACK PREPARED"
    return None


def _always(command: str) -> Callable[[ast.Node], str]:
    return lambda _node: command


# One entry per parse-tree node type that can be refused; the reference page named in
# each comment says "cannot be executed inside a transaction block".
# Values take the node type named by their key, hence Any.
_RULES: dict[type[ast.Node], Callable[[Any], str | None]] = {
    ast.IndexStmt: _create_index,
    ast.DropStmt: _drop,
    ast.ReindexStmt: _reindex,
    ast.VacuumStmt: _vacuum,
    ast.ClusterStmt: _cluster,
    ast.AlterDatabaseStmt: _alter_database,
    ast.CreateSubscriptionStmt: _create_subscription,
    ast.AlterSubscriptionStmt: _alter_subscription,
    ast.AlterTableStmt: _alter_table,
    ast.DiscardStmt: _discard,
    ast.TransactionStmt: _commit_prepared,
    # DROP SUBSCRIPTION is refused only when the subscription has a replication slot,
    # which is the usual case; transaction:false is harmless when it has none.
    ast.DropSubscriptionStmt: _always("DROP SUBSCRIPTION of a subscription with a slot"),
    ast.AlterSystemStmt: _always("ALTER SYSTEM"),  # ALTER SYSTEM reference page, Notes
    ast.CreatedbStmt: _always("CREATE DATABASE"),  # CREATE DATABASE, Notes
    ast.DropdbStmt: _always("DROP DATABASE"),  # DROP DATABASE, Notes
    ast.CreateTableSpaceStmt: _always("CREATE TABLESPACE"),  # CREATE TABLESPACE, Notes
    ast.DropTableSpaceStmt: _always("DROP TABLESPACE"),  # DROP TABLESPACE, Notes
}

#: The parse node types the two functions above look into: every other statement is
#: neither transaction control nor refused in a transaction block.
INSPECTED_KINDS = frozenset(
    {ast.TransactionStmt.__name__, *(kind.__name__ for kind in _RULES)})


def needs_tree(kind: str, fields: Mapping[str, Any]) -> bool:
    """Return whether the functions above need the ``pglast.ast`` tree of a statement.

    ``kind`` is its parse node type and ``fields`` that node's fields in libpg_query's
    JSON parse tree (``{"concurrent": true, ...}``), which ``_split`` has for free while
    the Python tree costs six times as much. False means both functions would say no:
    the type is not in :data:`INSPECTED_KINDS`, or it is one of the three types most
    migrations are made of and lacks the one field its rule needs (:data:`_SCREENS`).
    """
    if kind not in INSPECTED_KINDS:
        return False
    screen = _SCREENS.get(kind)
    return screen is None or screen(fields)


def _detaches(fields: Mapping[str, Any]) -> bool:
    return any(cmd.get("AlterTableCmd", {}).get("subtype") == "AT_DetachPartition"
               for cmd in fields.get("cmds", ()))


# Necessary conditions of _create_index, _drop and _alter_table, read from the JSON
# (where a false boolean is left out): without them the rule returns None.
_SCREENS: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    ast.IndexStmt.__name__: lambda fields: bool(fields.get("concurrent")),
    ast.DropStmt.__name__: lambda fields: bool(fields.get("concurrent")),
    ast.AlterTableStmt.__name__: _detaches,
}
