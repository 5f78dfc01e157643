"""The undo (``Finding.fix_down``) of fixes that only build indexes, read from their SQL.

A fix made of ``CREATE INDEX`` statements (and ``ALTER INDEX ... ATTACH PARTITION``
joining a partition's index to its parent's) is undone by dropping the indexes it
created, newest first. Dropping a partitioned table's index drops the partition
indexes attached to it (PostgreSQL docs, "DROP INDEX" and "Partition Maintenance"), so
only indexes that were not attached are dropped. The SQL is read with pglast, never
split on ``;``.
"""

from __future__ import annotations

from pglast import ast, enums, parse_sql

from pgkeel.lint.rules._catalog import qualified_ident

__all__ = ["drop_created_indexes"]


def drop_created_indexes(fix: str) -> str | None:
    """``DROP INDEX`` statements undoing ``fix``, or None when it is more than index builds.

    A ``CREATE INDEX CONCURRENTLY`` is undone by ``DROP INDEX CONCURRENTLY IF EXISTS``
    (no write lock either way), a plain one by ``DROP INDEX IF EXISTS``.
    """
    created: list[tuple[str, str, bool]] = []
    attached: set[tuple[str, str]] = set()
    for raw in parse_sql(fix):
        node = raw.stmt
        if isinstance(node, ast.IndexStmt) and node.idxname and node.relation is not None:
            schema = node.relation.schemaname or "public"
            created.append((schema, node.idxname, bool(node.concurrent)))
        elif isinstance(node, ast.AlterTableStmt) and \
                node.objtype == enums.ObjectType.OBJECT_INDEX and \
                all(isinstance(c.def_, ast.PartitionCmd) for c in node.cmds or ()):
            for cmd in node.cmds or ():
                name = cmd.def_.name
                attached.add((name.schemaname or "public", name.relname))
        else:
            return None
    drops = [f"DROP INDEX {'CONCURRENTLY ' if concurrent else ''}IF EXISTS "
             f"{qualified_ident(schema, name)};"
             for schema, name, concurrent in reversed(created) if (schema, name) not in attached]
    return "\n".join(drops) or None
