"""Type changes around the views that read a column: drop, alter, re-create.

PostgreSQL refuses ``ALTER COLUMN ... TYPE`` on a column a view or rule reads
("cannot alter type of a column used by a view or rule"; docs, "ALTER TABLE"). The
catalog records exactly which views read which columns (``View.uses``, from
``pg_depend``), so a fix that changes a column's type drops those views, and every
view that reads one of them (transitively), alters the column, and re-creates them
in dependency order with their options, owner, grants, comments, column defaults,
triggers and (for materialized views) indexes, all in the fix script's transaction.
A column no view reads gets the plain ``ALTER`` with no note about views.

Limits, said in the re-creation's comment: a view's text is ``pg_get_viewdef`` as the
check read it, whose table names are qualified only when not on the check session's
``search_path`` (run the fix with the same ``search_path``); rules other than a
view's own, column-level grants and security labels are not re-created; a function
whose SQL-standard body reads a view makes the ``DROP`` fail (the transaction then
rolls back, nothing is lost).
"""

from __future__ import annotations

from pgkeel.catalog.model import Snapshot, Table, View
from pgkeel.lint.rules._catalog import comment, ident, literal, qualified_ident, table_name

__all__ = ["dependent_views", "with_views"]


def _reads(view: View, schema: str, relation: str, column: str | None) -> bool:
    return any(u.schema == schema and u.relation == relation
               and (column is None or u.column == column) for u in view.uses)


def dependent_views(snapshot: Snapshot, table: Table, column: str) -> tuple[View, ...]:
    """The views that must be dropped to alter ``table.column``'s type, creation order.

    Those whose query reads the column (of ``table`` or, for a partitioned table,
    of any of its partitions), then every view reading one of those (any
    of its columns, or it as a whole), and so on. Each view comes after every listed
    view it reads, so dropping goes in reverse.
    """
    # ALTER on a partitioned table recurses to its partitions: views reading a
    # partition's column stand in the way too.
    tables = [table]
    for current in tables:
        tables += [t for t in snapshot.tables if t.partition_of == current.qualified]
    chosen = [v for v in snapshot.views
              if any(_reads(v, t.schema, t.name, column) for t in tables)]
    pending = list(chosen)
    while pending:
        view = pending.pop()
        for other in snapshot.views:
            if other not in chosen and _reads(other, view.schema, view.name, None):
                chosen.append(other)
                pending.append(other)
    ordered: list[View] = []
    while len(ordered) < len(chosen):  # a view's dependencies among chosen come first
        progress = False
        for view in chosen:
            if view not in ordered and all(
                    d in ordered or d is view for d in chosen
                    if _reads(view, d.schema, d.name, None)):
                ordered.append(view)
                progress = True
        if not progress:  # a cycle cannot happen in PostgreSQL; keep what remains
            ordered += [v for v in chosen if v not in ordered]
    return tuple(ordered)


def _kind(view: View) -> str:
    return "MATERIALIZED VIEW" if view.materialized else "VIEW"


def _create(view: View) -> list[str]:
    """Statements that re-create ``view`` as the snapshot saw it."""
    target = qualified_ident(view.schema, view.name)
    kind = _kind(view)
    options = f" WITH ({', '.join(view.options)})" if view.options else ""
    query = view.definition.strip().removesuffix(";")
    data = (" WITH DATA" if view.populated else " WITH NO DATA") if view.materialized else ""
    lines = [f"CREATE {kind} {target}{options} AS\n{query}{data};"]
    if view.owner is not None:
        lines.append(f"ALTER {kind} {target} OWNER TO {ident(view.owner)};")
    for column in view.columns:
        if column.default is not None:
            lines.append(f"ALTER VIEW {target} ALTER COLUMN {ident(column.name)} "
                         f"SET DEFAULT {column.default};")
    if view.comment is not None:
        lines.append(f"COMMENT ON {kind} {target} IS {literal(view.comment)};")
    for column in view.columns:
        if column.comment is not None:
            lines.append(f"COMMENT ON COLUMN {target}.{ident(column.name)} IS "
                         f"{literal(column.comment)};")
    for grant in view.grants:
        if grant.grantee == view.owner:
            continue  # the owner's privileges come with ownership
        grantee = "PUBLIC" if grant.grantee == "PUBLIC" else ident(grant.grantee)
        for privilege in grant.privileges:
            option = " WITH GRANT OPTION" if privilege in grant.grantable else ""
            lines.append(f"GRANT {privilege} ON {target} TO {grantee}{option};")
    lines += [ix.definition + ";" for ix in view.indexes if ix.constraint is None]
    lines += [t.definition + ";" for t in view.triggers]
    return lines


def with_views(snapshot: Snapshot, table: Table, column: str, alter: str) -> str:
    """``alter`` (SQL changing ``table.column``'s type), wrapped in the drop and
    re-creation of the views that read the column (:func:`dependent_views`).

    Returns ``alter`` unchanged when no view reads the column.
    """
    views = dependent_views(snapshot, table, column)
    if not views:
        return alter
    names = ", ".join(table_name(v) for v in views)
    drops = [f"DROP {_kind(v)} {qualified_ident(v.schema, v.name)};" for v in reversed(views)]
    creates = [line for v in views for line in _create(v)]
    return "\n".join([
        comment(f"-- {names} read this column: dropped and re-created around the type "
                "change (run with the search_path the check used)"),
        *drops, alter, *creates])
