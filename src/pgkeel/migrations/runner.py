"""Apply and roll back migrations under pgkeel's advisory lock.

Each public function reads the files first (a broken file stops everything before a
connection is opened), connects with ``application_name=pgkeel``, takes the advisory
lock (:mod:`~pgkeel.migrations.lock`), creates or upgrades the history tables, plans
the whole run (:mod:`~pgkeel.migrations.plan`: every refusal happens here, before the
first statement) and then runs the steps (:mod:`~pgkeel.migrations.execute`). The
result objects say what happened; progress goes to the ``progress`` callback, one
``*_done`` event as each step commits. A ``KeyboardInterrupt`` during a step (SIGINT,
or a caller's SIGTERM handler) is raised on after an ``interrupted`` event whose detail
is the state the step left, read back from the history.

Defaults: ``lock_wait_s`` 60 s and ``lock_timeout_s`` 5 s, as the ``lock_wait`` and
``lock_timeout`` settings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import psycopg

from pgkeel.connect import connect
from pgkeel.errors import FailedMigrationBlocks, Refused, UsageError
from pgkeel.migrations import health, history
from pgkeel.migrations._foreign import refuse_rerun
from pgkeel.migrations._interrupted import left_by
from pgkeel.migrations.execute import Executor, RetryPolicy
from pgkeel.migrations.files import Migration, discover
from pgkeel.migrations.lock import AdvisoryLock
from pgkeel.migrations.plan import Plan, Step, order_of, plan_rollback, plan_up
from pgkeel.migrations.progress import Progress, emit
from pgkeel.migrations.records import AppliedMigration
from pgkeel.report.findings import Finding

if TYPE_CHECKING:
    from pgkeel.migrations.backup import BackupFile

__all__ = [
    "BaselineResult",
    "Done",
    "RepairResult",
    "RollbackResult",
    "UpResult",
    "baseline",
    "redo",
    "repair",
    "rollback",
    "up",
]

Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Done:
    """A step that ran: ``direction``, ``version``, ``name``, ``execution_ms`` (ms),
    and for an up step ``resumed`` (restarted at a failed statement)."""

    direction: Literal["up", "down"]
    version: str
    name: str
    execution_ms: int
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class UpResult:
    """What ``up`` did: the ``plan``, the steps ``done`` (empty for a dry run), the
    ``backup`` taken, post-run ``warnings`` (invalid indexes, ``NOT VALID``
    constraints) and seconds waited for the lock."""

    plan: Plan
    done: tuple[Done, ...]
    dry_run: bool = False
    backup: BackupFile | None = None
    warnings: tuple[Finding, ...] = ()
    lock_waited_s: float = 0.0


@dataclass(frozen=True, slots=True)
class RollbackResult:
    """What ``rollback`` (or ``redo``) did: the rollback ``plan``, the steps ``done``
    (downs first, then for ``redo`` the up), ``dry_run`` and ``warnings``."""

    plan: Plan
    done: tuple[Done, ...]
    dry_run: bool = False
    warnings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class BaselineResult:
    """The migrations ``baseline`` recorded as applied (none of them ran)."""

    version: str
    recorded: tuple[Migration, ...]


@dataclass(frozen=True, slots=True)
class RepairResult:
    """``repair``'s preview or outcome.

    ``failed`` is the failed history row (None: nothing to repair); ``action`` what
    was (or would be) done; ``done`` False for a preview; ``warnings`` lists invalid
    indexes the failure may have left, with the SQL that drops them.
    """

    failed: AppliedMigration | None
    action: Literal["mark-applied", "mark-rolled-back"]
    done: bool
    warnings: tuple[Finding, ...] = ()


@contextmanager
def _locked(url: str, lock_wait_s: float, progress: Progress | None, *,
            create: bool = True) -> Iterator[tuple[Conn, AdvisoryLock]]:
    """Connect, take the migration lock, create/upgrade the history; yield both.

    With ``create`` False (commands that only undo) a database without history stays
    without: the ``pgkeel`` schema is not created just to find nothing in it.
    """
    with connect(url) as conn, AdvisoryLock(conn, wait_s=lock_wait_s,
                                            progress=progress) as lock:
        if create or history.exists(conn, write=True):
            history.ensure(conn)
        yield conn, lock


def _history_or_refuse(conn: Conn, migrations: Sequence[Migration]) -> list[AppliedMigration]:
    """The history; without one, refuse to re-run what another tool already applied."""
    rows = history.read(conn)
    if not rows:
        refuse_rerun(conn, migrations)
    return rows


def _warnings(conn: Conn) -> tuple[Finding, ...]:
    return (*health.invalid_indexes(conn), *health.not_valid_constraints(conn))


def _run(executor: Executor, steps: tuple[Step, ...] | list[Step],
         progress: Progress | None) -> list[Done]:
    done = []
    for step in steps:
        up_step = step.direction == "up"
        if step.version not in executor.announced:
            emit(progress, "apply_start" if up_step else "rollback_start",
                 version=step.version, name=step.name,
                 detail=f"resuming at statement {step.start_index + 1}"
                 if step.resumed else None)
        try:
            ms = executor.apply(step) if up_step else executor.revert(step)
        except KeyboardInterrupt:
            # SIGINT, or SIGTERM turned into KeyboardInterrupt by the caller: say what
            # the step left (read back, since the interrupt may follow its COMMIT).
            # In a message of several migrations the one running is the executor's.
            running = executor.running if executor.running is not None \
                and executor.running.version not in executor.streamed else step
            emit(progress, "interrupted", version=running.version, name=running.name,
                 detail=left_by(executor.conn, running))
            raise
        if step.version not in executor.streamed:
            emit(progress, "apply_done" if up_step else "rollback_done",
                 version=step.version, name=step.name, elapsed_ms=ms,
                 detail="resumed" if step.resumed else None)
        done.append(Done(step.direction, step.version, step.name, ms, step.resumed))
    return done


def up(
    url: str,
    directory: Path,
    *,
    to: str | None = None,
    dry_run: bool = False,
    allow_out_of_order: bool = False,
    resume: bool = False,
    backup_dir: Path | None = None,
    postgres_bin: Path | None = None,
    lock_wait_s: float = 60.0,
    lock_timeout_s: float = 5.0,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> UpResult:
    """Apply the pending migrations in ``directory`` to the database at ``url``.

    ``to`` stops after that version; ``dry_run`` plans (with every refusal) but runs
    nothing and takes no lock; ``resume`` restarts a failed ``transaction:false``
    migration at its failed statement; ``backup_dir`` takes a ``pg_dump -Fc`` there
    first (when there is something to apply) and logs it in ``pgkeel.events``.

    Raises ``MigrationFileError`` (exit 2) for a broken file, ``LockNotAcquired``
    (exit 4) after ``lock_wait_s`` seconds, ``Refused``/``ChecksumMismatch`` (exit 4)
    as :func:`~pgkeel.migrations.plan.plan_up` describes or when another tool's
    history records migrations pgkeel's does not (``_foreign``), and ``MigrationFailed``
    (exit 3) when a statement fails: the migrations before it stay applied.
    """
    migrations = discover(directory)
    if dry_run:
        with connect(url) as conn:
            rows = _history_or_refuse(conn, migrations)
            server = conn.info.server_version
        plan = plan_up(migrations, rows, to=to, allow_out_of_order=allow_out_of_order,
                       resume=resume)
        return UpResult(plan=_with_grammar(plan, server), done=(), dry_run=True)
    with _locked(url, lock_wait_s, progress) as (conn, lock):
        rows = _history_or_refuse(conn, migrations)
        try:
            plan = plan_up(migrations, rows, to=to,
                           allow_out_of_order=allow_out_of_order, resume=resume)
        except FailedMigrationBlocks as refused:
            _name_invalid_indexes(conn, refused)
            raise
        taken = None
        if backup_dir is not None and plan.steps:
            taken = _backup(conn, url, backup_dir, postgres_bin, progress)
        executor = Executor(conn, url, lock_timeout_s=lock_timeout_s,
                            retry=retry or RetryPolicy(), progress=progress,
                            ahead=plan.steps)
        done = _run(executor, plan.steps, progress)
        return UpResult(plan=plan, done=tuple(done), backup=taken,
                        warnings=_warnings(conn), lock_waited_s=lock.waited_s)


def _with_grammar(plan: Plan, server_version: int) -> Plan:
    """Add to a dry run's notes which grammar checked the files, and what it cannot.

    pglast embeds one release of PostgreSQL's parser (``get_postgresql_version``); a
    dry run runs nothing, so syntax that parser accepts but the server is too old for
    (or a name the server lacks) only fails when the migration runs.
    """
    import pglast
    from pglast.parser import get_postgresql_version

    major, minor = get_postgresql_version()
    server = f"{server_version // 10000}.{server_version % 10000}"
    note = (f"the files were parsed with PostgreSQL {major}.{minor}'s grammar (pglast "
            f"{pglast.__version__.lstrip('v')}); the server runs PostgreSQL {server} and "
            "may still refuse syntax newer than it, or objects it lacks")
    return replace(plan, notes=(*plan.notes, note))


def _name_invalid_indexes(conn: Conn, error: FailedMigrationBlocks) -> None:
    """Add the invalid indexes a failed ``CONCURRENTLY`` left, with their DROP, to
    ``error``'s hint: ``up --resume`` would fail on them with "already exists"."""
    try:
        found = health.invalid_indexes(conn)
    except psycopg.Error:
        return
    if found:
        drops = "; ".join(f"{f.message}: run {f.fix}" for f in found)
        error.hint = f"{drops}. Then {error.hint}" if error.hint else drops


def _backup(conn: Conn, url: str, directory: Path, postgres_bin: Path | None,
            progress: Progress | None) -> BackupFile:
    # Imported here: pg_dump's module (and the cluster code it finds binaries with) is
    # only for `up --backup`.
    from pgkeel.migrations.backup import dump

    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    emit(progress, "backup_start", detail=f"pg_dump -Fc into {directory}")
    taken = dump(url, directory, dbname=str(row[0]),
                 server_major=conn.info.server_version // 10000, postgres_bin=postgres_bin)
    history.record_event(conn, "backup", detail={
        "path": str(taken.path), "bytes": taken.size_bytes, "sha256": taken.sha256,
        "pg_dump_major": taken.pg_dump_major, "elapsed_ms": taken.elapsed_ms,
    })
    emit(progress, "backup_done", elapsed_ms=taken.elapsed_ms, detail=str(taken.path))
    return taken


def rollback(
    url: str,
    directory: Path,
    *,
    steps: int | None = None,
    to: str | None = None,
    everything: bool = False,
    use_file_down: bool = False,
    dry_run: bool = False,
    lock_wait_s: float = 60.0,
    lock_timeout_s: float = 5.0,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> RollbackResult:
    """Undo the most recently applied migrations, newest first (by applied order).

    One step by default; ``steps``, ``to`` (keep ``to`` and everything applied before
    it) or ``everything``. The down that runs is the one stored when each migration
    was applied, or the file's with ``use_file_down``
    (:func:`~pgkeel.migrations.plan.plan_rollback`).

    Raises ``IrreversibleMigration`` (exit 4) before anything runs when a step has no
    down statements, ``Refused`` (exit 4) for a failed migration in the history,
    ``UsageError`` (exit 2) for a bad target, ``LockNotAcquired`` (exit 4), and
    ``MigrationFailed`` (exit 3) naming file, statement, line and PostgreSQL's message
    when a down fails: the steps before it are rolled back and gone from history, the
    failed one stays applied (or ``failed`` for a ``transaction:false`` down).
    """
    migrations = discover(directory)
    if dry_run:
        with connect(url) as conn:
            rows = history.read(conn)
            server = conn.info.server_version
        plan = plan_rollback(migrations, rows, steps=steps, to=to, everything=everything,
                             use_file_down=use_file_down)
        return RollbackResult(plan=_with_grammar(plan, server), done=(), dry_run=True)
    with _locked(url, lock_wait_s, progress, create=False) as (conn, _lock):
        plan = plan_rollback(migrations, history.read(conn), steps=steps, to=to,
                             everything=everything, use_file_down=use_file_down)
        executor = Executor(conn, url, lock_timeout_s=lock_timeout_s,
                            retry=retry or RetryPolicy(), progress=progress)
        done = _run(executor, plan.steps, progress)
        return RollbackResult(plan=plan, done=tuple(done), warnings=_warnings(conn))


def redo(
    url: str,
    directory: Path,
    *,
    use_file_down: bool = False,
    lock_wait_s: float = 60.0,
    lock_timeout_s: float = 5.0,
    retry: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> RollbackResult:
    """Roll back the most recently applied migration and apply its file again.

    Both halves run under one hold of the lock. The down is the stored one (it undoes
    what was applied), the up is the file as it is now, so editing a migration and
    redoing it is the development loop. With nothing applied it does nothing and
    returns an empty plan (``done`` empty). Raises what :func:`rollback` raises, and
    ``Refused`` (exit 4) before anything runs when the migration's file is gone.
    """
    migrations = discover(directory)
    files = {m.version: m for m in migrations}
    with _locked(url, lock_wait_s, progress, create=False) as (conn, _lock):
        rows = history.read(conn)
        if not rows:
            return RollbackResult(plan=Plan("down", ()), done=())
        plan = plan_rollback(migrations, rows, steps=1, use_file_down=use_file_down)
        last = plan.steps[0]
        migration = files.get(last.version)
        if migration is None:
            raise Refused(
                f"cannot redo {last.version}: its file is gone, so it could not be applied "
                "again; nothing was rolled back",
                hint="restore the file, or use `pgkeel migrate rollback`",
            )
        again = plan_up([migration], [], allow_out_of_order=True).steps
        executor = Executor(conn, url, lock_timeout_s=lock_timeout_s,
                            retry=retry or RetryPolicy(), progress=progress)
        done = _run(executor, [*plan.steps, *again], progress)
        return RollbackResult(plan=plan, done=tuple(done), warnings=_warnings(conn))


def baseline(
    url: str,
    directory: Path,
    version: str,
    *,
    lock_wait_s: float = 60.0,
    progress: Progress | None = None,
) -> BaselineResult:
    """Record every migration up to ``version`` as applied, without running any.

    For adopting a database whose schema already matches those migrations (Flyway's
    ``baseline``, Sqitch's ``deploy --log-only``). Their down sections are stored, so
    they can still be rolled back later.

    Raises ``UsageError`` (exit 2) when ``version`` names no file, ``Refused`` (exit 4)
    when the history already holds migrations, and ``LockNotAcquired`` (exit 4).
    """
    migrations = discover(directory)
    if version not in {m.version for m in migrations}:
        raise UsageError(f"baseline {version}: no migration file has that version",
                         hint="give a version from `pgkeel migrate status`")
    files = {m.version: m for m in migrations}
    limit = order_of(version, files, ())
    chosen = tuple(m for m in migrations if m.sort_key <= limit)
    with _locked(url, lock_wait_s, progress) as (conn, _lock):
        rows = history.read(conn)
        if rows:
            raise Refused(
                f"the history already holds {len(rows)} migration(s); baseline only adopts "
                "a database that pgkeel has never migrated",
                hint="see `pgkeel migrate status`; apply the rest with `pgkeel migrate up`",
            )
        history.record_baseline(conn, [(m, m.path.name) for m in chosen], version)
    return BaselineResult(version=version, recorded=chosen)


def repair(
    url: str,
    directory: Path,
    action: Literal["mark-applied", "mark-rolled-back"],
    *,
    execute: bool = False,
    lock_wait_s: float = 60.0,
    progress: Progress | None = None,
) -> RepairResult:
    """Resolve the failed migration in the history by hand; preview unless ``execute``.

    ``mark-rolled-back`` deletes its row (you undid what its statements did);
    ``mark-applied`` marks it applied with the file's current checksum and down (you
    finished its work). Nothing runs on the schema. Returns the failed row (None when
    there is nothing to repair), the action, whether it was done, and invalid indexes
    that the failure may have left.

    Raises ``LockNotAcquired`` (exit 4) when ``execute`` and another runner holds the
    lock.
    """
    files = {m.version: m for m in discover(directory)}
    if not execute:
        with connect(url) as conn:
            failed = next((r for r in history.read(conn) if r.failed), None)
            return RepairResult(failed, action, done=False,
                                warnings=tuple(health.invalid_indexes(conn)))
    with _locked(url, lock_wait_s, progress) as (conn, _lock):
        failed = next((r for r in history.read(conn) if r.failed), None)
        if failed is not None:
            migration = files.get(failed.version)
            history.record_repaired(conn, failed, action, migration,
                                    migration.path.name if migration else None)
        return RepairResult(failed, action, done=failed is not None,
                            warnings=tuple(health.invalid_indexes(conn)))
