"""Plan a run before anything runs: which migrations, in which direction, which SQL.

Planning is pure: it compares the files on disk with the history rows and either
returns a :class:`Plan` or raises, so every refusal happens before the first statement
(Django's ``migration_plan`` and ``Migration.unapply`` check the whole plan first;
STYLE.md §2 "Plan first"). ``up`` refuses when:

- the history holds a failed migration (until ``repair`` or ``up --resume``; compare
  golang-migrate's ``dirty`` flag, which blocks even after a clean rollback:
  ``golang-migrate/migrate#282``);
- an applied migration's file changed (``ChecksumMismatch``, naming the files);
- a pending migration sorts before the newest applied one, unless allowed
  (dbmate applies it silently, ``amacneil/dbmate#159``; golang-migrate skips it
  silently, ``superplanehq/superplane#4812``).

``rollback`` undoes the most recently *applied* migrations first (by applied order,
not by version as dbmate does: ``amacneil/dbmate#30``), runs the down section stored
when each was applied, and refuses the whole plan if any step is irreversible. A
``noop:true`` down is not irreversible: its step runs nothing and only records the
rollback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgkeel.errors import (
    ChecksumMismatch,
    FailedMigrationBlocks,
    IrreversibleMigration,
    OutOfOrderMigration,
    Refused,
    UsageError,
)
from pgkeel.migrations._naming import order_key
from pgkeel.migrations.files import CHECKSUM_ALGORITHM, Migration, Section
from pgkeel.migrations.records import AppliedMigration

__all__ = [
    "Plan",
    "PlannedStatement",
    "Step",
    "failed_refusal",
    "plan_rollback",
    "plan_up",
]


@dataclass(frozen=True, slots=True)
class PlannedStatement:
    """One statement a step will run: 0-based ``index`` in its section, 1-based ``line``
    in the file (None when unknown), and ``retry_safe`` False for a statement whose
    failure can leave work behind (a ``CONCURRENTLY`` build leaves an invalid index, so
    re-running it fails with "already exists"). ``column`` is the 1-based column where
    it starts (1 when unknown); a ``COPY ... FROM STDIN`` carries its rows in
    ``copy_data`` and the file line of the first one in ``data_line``."""

    index: int
    sql: str
    line: int | None
    retry_safe: bool = True
    column: int = 1
    copy_data: str | None = None
    data_line: int | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """One migration to apply or roll back.

    ``path`` is the file (None when it is gone and the stored down runs);
    ``statements`` what runs, starting at ``start_index`` for a resumed step;
    ``transactional`` False for a ``transaction:false`` section; ``down_source`` says
    which down runs (``stored`` or ``file``) for a rollback step; ``noop`` marks a
    rollback step whose down is ``noop:true`` (no statements, nothing to undo).
    """

    direction: Literal["up", "down"]
    version: str
    name: str
    path: Path | None
    statements: tuple[PlannedStatement, ...]
    transactional: bool
    migration: Migration | None = None
    applied: AppliedMigration | None = None
    start_index: int = 0
    down_source: Literal["stored", "file"] | None = None
    noop: bool = False

    @property
    def resumed(self) -> bool:
        """True for an ``up --resume`` step that restarts at a failed statement."""
        return self.direction == "up" and self.applied is not None


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps of one run, in order, and what planning noticed on the way.

    ``notes`` are human sentences (applied migrations missing on disk, for example).
    """

    direction: Literal["up", "down"]
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()


def _statements(section: Section, start: int = 0) -> tuple[PlannedStatement, ...]:
    # In a transaction the whole migration rolls back on a lock timeout, so a retry is
    # always safe; outside one, only a statement that is atomic by itself is.
    return tuple(
        PlannedStatement(s.index, s.sql, s.line,
                         retry_safe=section.transaction or s.non_transactional is None,
                         column=s.column, copy_data=s.copy_data, data_line=s.data_line)
        for s in section.statements[start:]
    )


def failed_refusal(row: AppliedMigration) -> FailedMigrationBlocks:
    """The error for a history that holds the failed migration ``row``."""
    failure = row.failure
    assert failure is not None
    where = f"statement {failure.statement_index + 1}"
    if failure.line:
        where += f" (line {failure.line})"
    state = f" [SQLSTATE {failure.sqlstate}]" if failure.sqlstate else ""
    if failure.direction == "up":
        hint = (
            "look at what the statements before it did, then either fix the file and "
            "run `pgkeel migrate up --resume` (restarts at the failed statement), or "
            "finish or undo the work by hand and run `pgkeel migrate repair "
            "--mark-applied` / `--mark-rolled-back`"
        )
    else:
        hint = (
            "its down section ran only in part: finish it by hand and run `pgkeel "
            "migrate repair --mark-rolled-back`, or undo it and `--mark-applied`"
        )
    return FailedMigrationBlocks(
        f"migration {row.version} ({row.path}) failed ({failure.direction}) at {where}: "
        f"{failure.message}{state}; pgkeel will not run anything until it is resolved",
        hint=hint,
        path=row.path,
        line=failure.line,
    )


def _check_checksums(
    rows: Sequence[AppliedMigration], files: dict[str, Migration], skip: str | None
) -> None:
    changed = [
        files[r.version] for r in rows
        if r.version in files and r.version != skip and r.checksum != files[r.version].checksum
    ]
    unknown = [r for r in rows if r.checksum_algorithm != CHECKSUM_ALGORITHM]
    if unknown:
        raise Refused(
            f"migration {unknown[0].version} was recorded with checksum algorithm "
            f"{unknown[0].checksum_algorithm!r}, which this pgkeel does not know",
            hint="run the pgkeel version that applied it, or upgrade pgkeel",
        )
    if changed:
        names = ", ".join(m.path.name for m in changed)
        raise ChecksumMismatch(
            f"{len(changed)} applied migration file(s) changed since they were applied: "
            f"{names}",
            hint="restore the file as it was applied (see `git log -p` of it) and put the "
            "change in a new migration (`pgkeel migrate new`); `pgkeel migrate validate` "
            "lists every difference",
            path=changed[0].path,
        )


def _resume_step(row: AppliedMigration, files: dict[str, Migration]) -> Step:
    failure = row.failure
    assert failure is not None
    migration = files.get(row.version)
    if failure.direction != "up":
        raise failed_refusal(row)
    if migration is None:
        raise Refused(
            f"cannot resume {row.version}: its file {row.path} is gone",
            hint="restore the file, or resolve it with `pgkeel migrate repair`",
        )
    if migration.up.transaction:
        raise Refused(
            f"cannot resume {migration.path}: its up section is no longer "
            "transaction:false, but it failed part-way as one",
            hint="put transaction:false back on the `-- migrate:up` line, or resolve it "
            "with `pgkeel migrate repair`",
            path=migration.path,
        )
    start = failure.statement_index
    now = tuple(s.checksum for s in migration.up.statements[:start])
    if now != row.statement_checksums[:start]:
        first = next(
            (i for i, (a, b) in enumerate(zip(now, row.statement_checksums, strict=False))
             if a != b), min(len(now), len(row.statement_checksums)))
        line = migration.up.statements[first].line if first < len(now) else None
        raise ChecksumMismatch(
            f"cannot resume {migration.version}: statement {first + 1} changed (or was "
            f"added or removed) before the failed statement {start + 1}, which already ran",
            hint="undo the edit to the statements that ran; change only the failed "
            "statement and those after it",
            path=migration.path,
            line=line,
        )
    return Step(
        direction="up",
        version=migration.version,
        name=migration.name,
        path=migration.path,
        statements=_statements(migration.up, start),
        transactional=False,
        migration=migration,
        applied=row,
        start_index=start,
    )


def plan_up(
    migrations: Sequence[Migration],
    rows: Sequence[AppliedMigration],
    *,
    to: str | None = None,
    allow_out_of_order: bool = False,
    resume: bool = False,
) -> Plan:
    """Return the steps that apply the pending migrations (up to ``to``, inclusive).

    ``migrations`` come from :func:`pgkeel.migrations.files.discover` (dbmate's order),
    ``rows`` from :func:`pgkeel.migrations.history.read`. With ``resume`` a failed
    ``transaction:false`` migration becomes the first step, restarting at its failed
    statement.

    Raises ``Refused`` (exit 4) for a failed migration in the history (without
    ``resume``) or a pending migration older than the newest applied one (without
    ``allow_out_of_order``), ``ChecksumMismatch`` (exit 4) for an applied file that
    changed, or for a resume whose already-run statements changed, and
    ``UsageError`` (exit 2) when ``to`` names no migration or when there are no files
    at all but the history holds applied migrations (a wrong directory).
    """
    if rows and not migrations:
        # Pointed at the wrong directory, `up` would otherwise say "up to date".
        raise UsageError(
            f"no migration files found, but the database has {len(rows)} applied "
            "migration(s)",
            hint="check --project and migrations_dir (PGKEEL_MIGRATIONS_DIR); "
            "`pgkeel migrate status` lists what was applied",
        )
    files = {m.version: m for m in migrations}
    applied = {r.version: r for r in rows}
    failed = [r for r in rows if r.failed]
    steps: list[Step] = []
    if failed and not resume:
        raise failed_refusal(failed[0])
    if failed:
        steps.append(_resume_step(failed[0], files))
    _check_checksums([r for r in rows if not r.failed], files, None)

    pending = [m for m in migrations if m.version not in applied]
    if rows and pending:
        # A failed migration ran in part, so it counts as applied here.
        newest = max((r.version for r in rows), key=lambda v: order_of(v, files, rows))
        newest_key = order_of(newest, files, rows)
        older = [m for m in pending if m.sort_key < newest_key]
        if older and not allow_out_of_order:
            names = ", ".join(m.path.name for m in older)
            raise OutOfOrderMigration(
                f"{len(older)} pending migration(s) sort before {newest}, the newest "
                f"applied one: {names}",
                hint="if it was merged from another branch, rename it so it sorts last "
                "(`pgkeel migrate new` gives a fresh timestamp), or run `pgkeel migrate up "
                "--allow-out-of-order` when it does not depend on what was applied after it",
                path=older[0].path,
            )
    if to is not None:
        if to not in files and to not in applied:
            raise UsageError(
                f"--to {to}: no migration has that version",
                hint="give a version from `pgkeel migrate status`",
            )
        limit = order_of(to, files, rows)
        pending = [m for m in pending if m.sort_key <= limit]
    for migration in pending:
        steps.append(Step(
            direction="up",
            version=migration.version,
            name=migration.name,
            path=migration.path,
            statements=_statements(migration.up),
            transactional=migration.up.transaction,
            migration=migration,
        ))
    notes = tuple(
        f"{r.version} ({r.path}) is applied but its file is missing"
        for r in rows if r.version not in files
    ) + tuple(_implicit_note(step.migration.up, step.migration.path) for step in steps
              if step.migration is not None and step.migration.up.implicit)
    return Plan("up", tuple(steps), notes)


def order_of(version: str, files: Mapping[str, Migration],
             rows: Sequence[AppliedMigration]) -> str:
    """The place of ``version`` in dbmate's order (file names compared byte by byte).

    ``files`` maps versions to the migrations on disk, ``rows`` is the history. The key
    is the name of the version's file, else the file name the history recorded for it
    (the file is gone), else ``VERSION_`` (how ``migrate new`` names files).
    """
    if version in files:
        return files[version].sort_key
    recorded = next((r.path for r in rows if r.version == version and r.path), None)
    return order_key(Path(recorded).name if recorded else f"{version}_")


def _implicit_note(section: Section, path: Path) -> str:
    """Say that ``section`` runs without a transaction though its marker asks for one."""
    return (f"{path.name}: {section.implicit}, so its {section.direction} section (that "
            "one statement) runs without one, atomic on its own, and is recorded right "
            f"after it (add transaction:false to line {section.line} to say so in the file)")


def _stored_step(row: AppliedMigration, path: Path | None) -> Step:
    stored = row.down
    # Without a parse of these statements nothing tells which ones of a
    # transaction:false section are atomic, so none of them is retried there.
    return Step(
        direction="down",
        version=row.version,
        name=row.name,
        path=path,
        statements=tuple(
            PlannedStatement(i, text, line, retry_safe=stored.transactional)
            for i, (text, line) in enumerate(zip(stored.statements, stored.lines, strict=True))
        ),
        transactional=stored.transactional,
        applied=row,
        down_source="stored",
        noop=stored.noop,
    )


def _down_differs(row: AppliedMigration, file: Migration) -> bool:
    """True when the file's down section is not the one stored at apply time."""
    return (tuple(s.sql for s in file.down.statements) != row.down.statements
            or file.down.transaction != row.down.transactional
            or file.down.noop != row.down.noop)


def _down_step(
    row: AppliedMigration, file: Migration | None, use_file_down: bool
) -> Step:
    if file is None:
        return _stored_step(row, None)
    differs = _down_differs(row, file)
    if differs and not use_file_down:
        return _stored_step(row, file.path)
    # Same SQL as stored (or the file's by request): take it from the file, whose
    # parse knows each statement's kind and whose lines are today's.
    return Step(
        direction="down",
        version=row.version,
        name=row.name,
        path=file.path,
        statements=_statements(file.down),
        transactional=file.down.transaction,
        migration=file,
        applied=row,
        down_source="file" if differs else "stored",
        noop=file.down.noop,
    )


def _irreversible(plan: list[Step], blocked: list[int]) -> IrreversibleMigration:
    """The refusal of a rollback ``plan`` whose steps at indexes ``blocked`` cannot run.

    It names the first of them in plan order, the most recently applied, since
    ``--to`` its version is as far as a rollback can go; the others are counted.
    """
    first = plan[blocked[0]]
    assert first.applied is not None
    message = (f"cannot roll back {first.version} ({first.applied.path}): its down section "
               "has no statements, so it is irreversible")
    if len(blocked) > 1:
        message += (f", and so are {len(blocked) - 1} migration(s) applied before it in "
                    "this rollback")
    fixes = [] if blocked[0] == 0 else [
        f"`pgkeel migrate rollback --to {first.version}` rolls back the {blocked[0]} "
        "migration(s) applied after it"]
    fixes.append("to go past it, write its down section (or, if it has nothing to undo, "
                 "make its marker '-- migrate:down noop:true') and run `pgkeel migrate "
                 "rollback --use-file-down`")
    return IrreversibleMigration(message + "; nothing was rolled back",
                                 hint="; ".join(fixes), path=first.path)


def plan_rollback(
    migrations: Sequence[Migration],
    rows: Sequence[AppliedMigration],
    *,
    steps: int | None = None,
    to: str | None = None,
    everything: bool = False,
    use_file_down: bool = False,
) -> Plan:
    """Return the steps that undo the last ``steps`` applied migrations, newest first.

    ``to`` rolls back everything applied after version ``to`` (which stays applied);
    ``everything`` rolls back all; with none of the three, one step. The down that
    runs is the one stored when the migration was applied (it undoes what actually
    ran, and works when the file is gone); ``use_file_down`` runs the file's down
    section instead where the file has a different one (after fixing a broken down).
    Steps whose file's down differs from the stored one are listed in ``notes``.

    Raises ``UsageError`` (exit 2) for conflicting or impossible targets, ``Refused``
    (exit 4) when the history holds a failed migration, and ``IrreversibleMigration``
    (exit 4) when a step's down has no statements and is not ``noop:true``, naming the
    first such step and suggesting ``--to`` it; all before anything runs.
    """
    if sum(x is not None and x is not False for x in (steps, to, everything)) > 1:
        raise UsageError("give only one of --steps, --to and --all")
    failed = [r for r in rows if r.failed]
    if failed:
        raise failed_refusal(failed[0])
    if not rows and steps is None and to is None:
        return Plan("down", ())  # nothing applied: the default one step is no step
    newest_first = sorted(rows, key=lambda r: r.applied_order, reverse=True)
    if to is not None:
        order = {r.version: r.applied_order for r in rows}
        if to not in order:
            raise UsageError(
                f"--to {to}: that version is not applied",
                hint="give an applied version from `pgkeel migrate status`",
            )
        chosen = [r for r in newest_first if r.applied_order > order[to]]
    elif everything:
        chosen = newest_first
    else:
        count = 1 if steps is None else steps
        if count < 1:
            raise UsageError("--steps must be 1 or more")
        if count > len(newest_first):
            raise UsageError(
                f"--steps {count}: only {len(newest_first)} migration(s) are applied",
                hint="use --all to roll back everything",
            )
        chosen = newest_first[:count]
    files = {m.version: m for m in migrations}
    plan = [_down_step(r, files.get(r.version), use_file_down) for r in chosen]
    # A down without statements cannot undo an up that did something, unless it says
    # there is nothing to undo (noop:true); an up that ran nothing is undone by nothing
    # (Django: a migration without operations reverses).
    blocked = [index for index, s in enumerate(plan) if not s.statements and not s.noop
               and s.applied and s.applied.statement_checksums]
    if blocked:
        raise _irreversible(plan, blocked)
    notes = tuple(
        f"the down section of {files[r.version].path.name} differs from the one stored "
        f"when {r.version} was applied; "
        + ("the file's runs" if use_file_down else
           "the stored one runs (--use-file-down runs the file's)")
        for r in chosen if r.version in files and _down_differs(r, files[r.version])
    ) + tuple(_implicit_note(step.migration.down, step.migration.path) for step in plan
              if step.migration is not None and step.migration.down.implicit)
    return Plan("down", tuple(plan), notes)
