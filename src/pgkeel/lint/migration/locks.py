"""The table-level lock each statement takes, read from its parse tree.

Modes and their order are PostgreSQL's ("Explicit Locking", 13.3.1, Table 13.2): a
stronger mode conflicts with at least every mode a weaker one conflicts with. What each
statement takes follows the reference page of each command and was measured on
PostgreSQL 15 from ``pg_locks`` inside the transaction (``CREATE INDEX``: SHARE;
``CONCURRENTLY``: SHARE UPDATE EXCLUSIVE; most ``ALTER TABLE`` forms: ACCESS EXCLUSIVE;
``ADD FOREIGN KEY``: SHARE ROW EXCLUSIVE on both tables; ``VALIDATE CONSTRAINT``, ``SET
(storage parameter)``, ``COMMENT``: SHARE UPDATE EXCLUSIVE; triggers: SHARE ROW
EXCLUSIVE; ``ATTACH PARTITION``: SHARE UPDATE EXCLUSIVE on the parent, ACCESS EXCLUSIVE
on the partition; ``REFRESH ... CONCURRENTLY``: EXCLUSIVE).

Relations are named as written, qualified by the caller's ``qualify`` (search_path).
Locks on objects this module cannot name offline (the table of a ``DROP INDEX``) are
keyed by the object named in the statement.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from pglast import ast, enums

__all__ = ["LockMode", "conflicts", "locks_taken", "mode_named"]

AT = enums.AlterTableType


class LockMode(IntEnum):
    """PostgreSQL's table lock modes, weakest first (``int`` order = strength)."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        """The mode as PostgreSQL writes it: ``ACCESS EXCLUSIVE``."""
        return self.name.replace("_", " ")


#: ALTER TABLE subcommands lighter than ACCESS EXCLUSIVE (ALTER TABLE reference page,
#: "the lock level acquired will be the strictest one required by any subcommand").
_LIGHT_ALTER = {
    AT.AT_SetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetRelOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ValidateConstraint: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetStatistics: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ClusterOn: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_DropCluster: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_SetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_ResetOptions: LockMode.SHARE_UPDATE_EXCLUSIVE,
    AT.AT_EnableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableAlwaysTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableReplicaTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_EnableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrig: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigAll: LockMode.SHARE_ROW_EXCLUSIVE,
    AT.AT_DisableTrigUser: LockMode.SHARE_ROW_EXCLUSIVE,
}

Qualify = Callable[[ast.RangeVar], str]


def locks_taken(node: ast.Node, qualify: Qualify) -> dict[str, LockMode]:
    """Return ``{qualified relation: strongest mode}`` that ``node`` takes.

    ``qualify`` turns a ``RangeVar`` into ``schema.name``. Statements that lock no
    table (SET, GRANT, CREATE TABLE of a new name) give ``{}``.
    """
    taken: dict[str, LockMode] = {}

    def take(relation: ast.RangeVar | None, mode: LockMode) -> None:
        if relation is not None:
            name = qualify(relation)
            taken[name] = max(mode, taken.get(name, mode))

    if isinstance(node, ast.IndexStmt):
        take(node.relation, LockMode.SHARE_UPDATE_EXCLUSIVE if node.concurrent
             else LockMode.SHARE)
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            _alter(cmd, node.relation, take)
    elif isinstance(node, ast.RenameStmt) and node.relation is not None:
        take(node.relation, LockMode.ACCESS_EXCLUSIVE)
    elif isinstance(node, ast.CreateTrigStmt):
        take(node.relation, LockMode.SHARE_ROW_EXCLUSIVE)
    elif isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt):
        take(node.table, LockMode.ACCESS_EXCLUSIVE)
    elif isinstance(node, ast.TruncateStmt):
        for relation in node.relations or ():
            take(relation, LockMode.ACCESS_EXCLUSIVE)
    elif isinstance(node, ast.RefreshMatViewStmt):
        take(node.relation, LockMode.EXCLUSIVE if node.concurrent
             else LockMode.ACCESS_EXCLUSIVE)
    elif isinstance(node, ast.ClusterStmt):
        take(node.relation, LockMode.ACCESS_EXCLUSIVE)
    elif isinstance(node, ast.VacuumStmt):
        full = any(o.defname == "full" for o in node.options or ())
        for relation in node.rels or ():
            take(relation.relation, LockMode.ACCESS_EXCLUSIVE if full
                 else LockMode.SHARE_UPDATE_EXCLUSIVE)
    elif isinstance(node, ast.LockStmt):
        for relation in node.relations or ():
            take(relation, LockMode(node.mode))
    elif isinstance(node, ast.InsertStmt | ast.UpdateStmt | ast.DeleteStmt):
        take(node.relation, LockMode.ROW_EXCLUSIVE)
    elif isinstance(node, ast.DropStmt) and node.removeType in _DROPS_LOCKING:
        for names in node.objects or ():
            parts = [p.sval for p in names] if isinstance(names, tuple) else []
            if parts:
                take(ast.RangeVar(schemaname=parts[-2] if len(parts) > 1 else None,
                                  relname=parts[-1], inh=True),
                     LockMode.SHARE_UPDATE_EXCLUSIVE
                     if node.concurrent else LockMode.ACCESS_EXCLUSIVE)
    return taken


_DROPS_LOCKING = {enums.ObjectType.OBJECT_TABLE, enums.ObjectType.OBJECT_INDEX,
                  enums.ObjectType.OBJECT_VIEW, enums.ObjectType.OBJECT_MATVIEW,
                  enums.ObjectType.OBJECT_SEQUENCE, enums.ObjectType.OBJECT_FOREIGN_TABLE}


def _alter(cmd: ast.Node, relation: ast.RangeVar,
           take: Callable[[ast.RangeVar | None, LockMode], None]) -> None:
    if not isinstance(cmd, ast.AlterTableCmd):
        return
    subtype = cmd.subtype
    if subtype == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint) \
            and cmd.def_.contype == enums.ConstrType.CONSTR_FOREIGN:
        take(relation, LockMode.SHARE_ROW_EXCLUSIVE)
        take(cmd.def_.pktable, LockMode.SHARE_ROW_EXCLUSIVE)
        return
    if subtype == AT.AT_AttachPartition and isinstance(cmd.def_, ast.PartitionCmd):
        take(relation, LockMode.SHARE_UPDATE_EXCLUSIVE)
        take(cmd.def_.name, LockMode.ACCESS_EXCLUSIVE)
        return
    if subtype == AT.AT_DetachPartition and isinstance(cmd.def_, ast.PartitionCmd):
        mode = (LockMode.SHARE_UPDATE_EXCLUSIVE if cmd.def_.concurrent
                else LockMode.ACCESS_EXCLUSIVE)
        take(relation, mode)
        take(cmd.def_.name, mode)
        return
    take(relation, _LIGHT_ALTER.get(subtype, LockMode.ACCESS_EXCLUSIVE))


# Table 13.2, "Conflicting Lock Modes": each mode with the modes it conflicts with.
_CONFLICTS: dict[LockMode, frozenset[LockMode]] = {
    LockMode.ACCESS_SHARE: frozenset({LockMode.ACCESS_EXCLUSIVE}),
    LockMode.ROW_SHARE: frozenset({LockMode.EXCLUSIVE, LockMode.ACCESS_EXCLUSIVE}),
    LockMode.ROW_EXCLUSIVE: frozenset({LockMode.SHARE, LockMode.SHARE_ROW_EXCLUSIVE,
                                       LockMode.EXCLUSIVE, LockMode.ACCESS_EXCLUSIVE}),
    LockMode.SHARE_UPDATE_EXCLUSIVE: frozenset({
        LockMode.SHARE_UPDATE_EXCLUSIVE, LockMode.SHARE, LockMode.SHARE_ROW_EXCLUSIVE,
        LockMode.EXCLUSIVE, LockMode.ACCESS_EXCLUSIVE}),
    LockMode.SHARE: frozenset({LockMode.ROW_EXCLUSIVE, LockMode.SHARE_UPDATE_EXCLUSIVE,
                               LockMode.SHARE_ROW_EXCLUSIVE, LockMode.EXCLUSIVE,
                               LockMode.ACCESS_EXCLUSIVE}),
    LockMode.SHARE_ROW_EXCLUSIVE: frozenset({
        LockMode.ROW_EXCLUSIVE, LockMode.SHARE_UPDATE_EXCLUSIVE, LockMode.SHARE,
        LockMode.SHARE_ROW_EXCLUSIVE, LockMode.EXCLUSIVE, LockMode.ACCESS_EXCLUSIVE}),
    LockMode.EXCLUSIVE: frozenset(set(LockMode) - {LockMode.ACCESS_SHARE}),
    LockMode.ACCESS_EXCLUSIVE: frozenset(LockMode),
}


def conflicts(a: LockMode, b: LockMode) -> bool:
    """True when locks ``a`` and ``b`` on one table cannot be held by two sessions at
    once (PostgreSQL docs, 13.3.1, Table 13.2; the relation is symmetric)."""
    return b in _CONFLICTS[a]


def mode_named(name: str) -> LockMode:
    """The mode of a ``pg_locks.mode`` value (``AccessExclusiveLock``).

    Raises ``KeyError`` for a name that is not a table lock mode.
    """
    words = name.removesuffix("Lock")
    snake = "".join(f"_{c}" if c.isupper() else c for c in words).strip("_").upper()
    return LockMode[snake]
