"""Run one planned step: its statements, its history row, lock hygiene and retries.

- **One commit.** A transactional section runs in one transaction together with its
  history row and event (:func:`history.record_applied` / ``record_unapplied``), so a
  killed runner leaves both or neither (Django's ``apply_migration``).
- **Few round trips.** A transactional section travels with its BEGIN, history row and
  COMMIT as one simple-query message, and runs of such migrations share one message
  (:mod:`~pgkeel.migrations._batch`): each is still its own transaction, and the
  results say which committed and which statement failed, with PostgreSQL's error
  position mapped back to the file's line and column.
- **One statement at a time where it matters.** A ``transaction:false`` section sends
  each statement on its own, so it really runs outside a transaction: a
  multi-statement string is one implicit transaction on PostgreSQL (PostgreSQL docs
  §55.2.2.1 "Multiple Statements in a Simple Query"; ``amacneil/dbmate#126``,
  ``golang-migrate`` "x-multi-statement"); so does a section holding
  ``COPY ... FROM STDIN``, whose rows follow their statement (psycopg's
  ``Cursor.copy``). A bad row is named by the line of the file it is on.
- **Clean session.** Before each migration ``RESET ALL``, ``RESET ROLE`` and
  ``RESET SESSION AUTHORIZATION`` undo what the previous one ``SET`` (a
  ``search_path`` change would otherwise leak into the next file, which ``psql -f``
  per file would never see; the Supabase CLI does the same in
  ``pkg/migration/apply.go``), then ``lock_timeout`` is set.
- **pgkeel's own statements run as pgkeel.** A migration may ``SET ROLE`` (or ``SET
  SESSION AUTHORIZATION``) to a role that cannot write the ``pgkeel`` schema, or change
  ``search_path``: before every history write the role, session authorization and
  ``search_path`` are reset, and in a ``transaction:false`` section restored afterwards
  so the migration's next statement runs as the migration set it up.
- **Lock hygiene.** DDL waits at most ``lock_timeout`` for its lock, then the step is
  retried with exponential backoff and jitter (pgroll and Reshape's policy: xataio/pgroll
  ``--lock-timeout``, fabianlindfors/reshape). Giving up names the blocking sessions.
- **Orphans die fast.** ``client_connection_check_interval`` (PostgreSQL 14+) makes a
  backend whose runner was killed notice within a second, instead of finishing a long
  statement and keeping pgkeel's lock meanwhile.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg import pq, sql

from pgkeel.connect import connect
from pgkeel.errors import MigrationFailed, PgkeelError
from pgkeel.migrations import _batch, health, history
from pgkeel.migrations._where import describe, error_place
from pgkeel.migrations.blockers import Blocker, BlockerWatch
from pgkeel.migrations.plan import PlannedStatement
from pgkeel.migrations.progress import Progress, emit
from pgkeel.migrations.records import Failure
from pgkeel.report.findings import Finding

if TYPE_CHECKING:
    from pgkeel.migrations.plan import Step

__all__ = ["Executor", "RetryPolicy"]

_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL Appendix A: lock_not_available


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a step whose lock wait timed out is tried, and the pauses between.

    ``attempts`` counts the first try; the pause before try ``n + 1`` is
    ``min(max_delay_s, base_delay_s * 2 ** (n - 1))`` seconds times a random factor in
    [0.5, 1) ("equal jitter"), so several blocked runners do not come back together.
    """

    attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


class _StatementFailed(Exception):
    """A statement raised; carries the statement and PostgreSQL's error.

    ``offset`` is where the statement starts in the text that was sent, in characters
    (0 when it was sent alone): PostgreSQL's error position counts from there.
    """

    def __init__(self, statement: PlannedStatement, error: psycopg.Error,
                 offset: int = 0) -> None:
        super().__init__(str(error))
        self.statement = statement
        self.error = error
        self.offset = offset

    @property
    def lock_timeout(self) -> bool:
        return self.error.sqlstate == _LOCK_NOT_AVAILABLE


class Executor:
    """Runs planned steps on ``conn`` (autocommit, holding pgkeel's lock).

    ``url`` opens the second connection that samples blockers on retries;
    ``lock_timeout_s`` is the ``lock_timeout`` for every statement, in seconds.
    ``ahead`` are the up steps about to be applied, in order: runs of them are sent
    together, as one message, when :meth:`apply` is asked for the first of a run
    (:func:`~pgkeel.migrations._batch.groups`; each still commits alone, with its
    history row); :meth:`apply` then returns at once for the others.
    """

    def __init__(
        self,
        conn: psycopg.Connection[tuple[object, ...]],
        url: str,
        *,
        lock_timeout_s: float,
        retry: RetryPolicy,
        progress: Progress | None,
        ahead: Sequence[Step] = (),
    ) -> None:
        self.conn = conn
        self.url = url
        self.lock_timeout_s = lock_timeout_s
        self.retry = retry
        self.progress = progress
        self.pid = conn.info.backend_pid
        login = conn.execute("SELECT current_setting('session_authorization')").fetchone()
        self._login = str(login[0]) if login else ""
        parts: list[sql.SQL | sql.Composed] = [
            sql.SQL("RESET ALL"),
            sql.SQL("RESET SESSION AUTHORIZATION"),
            sql.SQL("RESET ROLE"),
            sql.SQL("SET lock_timeout = {}").format(
                sql.Literal(f"{max(1, round(lock_timeout_s * 1000))}ms")),
        ]
        if conn.info.server_version >= 140000:
            parts.append(sql.SQL("SET client_connection_check_interval = '1s'"))
        self._prologue = tuple(parts)
        self._head = ("BEGIN", *(part.as_string(conn) for part in parts), _batch.CLOCK)
        self._ahead = _batch.groups(ahead)
        # Without PL/pgSQL there is no flush: migrations sent together are then
        # reported when their message returns.
        self._flush = _batch.FLUSH if len(self._ahead) and conn.execute(
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_language WHERE lanname = 'plpgsql')"
        ).fetchone() == (True,) else None
        self._settled: dict[str, int | _StatementFailed] = {}
        #: Versions whose apply_start/apply_done this executor already emitted (steps
        #: of a message, reported as their COMMIT arrived): the runner skips them.
        self.streamed: set[str] = set()
        #: Versions whose apply_start this executor emitted, and the step of a message
        #: that was running when it last reported (what an interrupt interrupted).
        self.announced: set[str] = set()
        self.running: Step | None = None

    # -- public -----------------------------------------------------------------------

    def apply(self, step: Step) -> int:
        """Run an up step and record it; return its execution time in ms.

        Raises ``MigrationFailed`` (exit 3) naming the file, statement, line,
        SQLSTATE and PostgreSQL's message; the history then holds a ``fail`` event
        and, for a ``transaction:false`` section, the row marked ``failed``.
        """
        migration = step.migration
        assert migration is not None
        path = migration.path.name
        self.running = None
        group = self._ahead.pop(step.version, None)
        if group is not None:
            self._run_ahead(group)
        settled = self._settled.pop(step.version, None)
        if isinstance(settled, int):
            return settled
        first = 1
        if settled is not None:  # it failed in a message with others: its first try
            retry = settled.lock_timeout and self.retry.attempts > 1 \
                and not (self.conn.broken or self.conn.closed)
            if not retry:
                raise self._failed(step, settled, keep_row=False, attempts=1,
                                   blockers=()) from settled.error
            self._pause(step, 1)
            first = 2
        if step.transactional:
            return self._in_transaction(
                step, lambda ms: history.record_applied(self.conn, migration, path,
                                                        execution_ms=ms),
                lambda: history.applied_sql(self.conn, migration, path), first=first)
        return self._autocommit(
            step,
            start=lambda: history.record_started(self.conn, migration, path,
                                                 start_index=step.start_index),
            finish=lambda ms: history.record_finished(self.conn, migration, execution_ms=ms,
                                                      resumed=step.resumed),
        )

    def revert(self, step: Step) -> int:
        """Run a rollback step and delete its history row; return its time in ms.

        Raises ``MigrationFailed`` as :meth:`apply` does; a failed transactional down
        leaves the migration applied, a failed ``transaction:false`` down marks it
        ``failed`` (direction ``down``).
        """
        row = step.applied
        assert row is not None and step.down_source is not None
        source = step.down_source
        if step.transactional:
            return self._in_transaction(
                step, lambda ms: history.record_unapplied(self.conn, row, execution_ms=ms,
                                                          source=source),
                lambda: history.unapplied_sql(self.conn, row, source=source))
        first = step.statements[0].line if step.statements else None
        return self._autocommit(
            step,
            start=lambda: history.record_down_started(self.conn, row, first),
            finish=lambda ms: history.record_unapplied(self.conn, row, execution_ms=ms,
                                                       source=source),
        )

    # -- the two modes -------------------------------------------------------------------

    def _in_transaction(self, step: Step, record: Callable[[int], None],
                        batch: Callable[[], str] | None = None, *, first: int = 1) -> int:
        sent_whole = batch is not None and not any(
            s.copy_data is not None for s in step.statements)
        for attempt in range(first, self.retry.attempts + 1):
            watch = self._watch(attempt)
            try:
                with watch or nullcontext():
                    if sent_whole:
                        assert batch is not None
                        return self._send_alone(step, batch())
                    start = time.perf_counter()
                    # BEGIN travels with the prologue: one round trip fewer per migration.
                    self.conn.execute(sql.SQL("; ").join((sql.SQL("BEGIN"), *self._prologue)))
                    try:
                        for statement in step.statements:
                            self._execute(statement)
                        ms = round((time.perf_counter() - start) * 1000)
                        # The migration may have changed role or search_path: pgkeel's
                        # rows are written as the user that connected (both are undone
                        # at COMMIT's end of this step by the next prologue anyway).
                        self._as_pgkeel(restore=False)
                        record(ms)
                        self._commit(len(step.statements))
                    except BaseException:
                        self._rollback()
                        raise
                return ms
            except _StatementFailed as failed:
                if failed.lock_timeout and attempt < self.retry.attempts:
                    self._pause(step, attempt)
                    continue
                raise self._failed(step, failed, keep_row=False, attempts=attempt,
                                   blockers=watch.blockers if watch else ()) from failed.error
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send_alone(self, step: Step, record: str) -> int:
        """Run a transactional step and its history ``record`` as one message
        (:mod:`~pgkeel.migrations._batch`); return its time in ms.

        Raises ``_StatementFailed`` (after rolling back) for a failed statement or
        COMMIT, and PostgreSQL's error itself when one of pgkeel's statements failed.
        """
        try:
            outcome = _batch.send_steps(self.conn, [(step, record)], self._head)
        except BaseException:
            self._rollback()
            raise
        if outcome.error is None:
            return outcome.committed[0][1]
        self._rollback()
        if outcome.statement is None:
            raise outcome.error
        raise _StatementFailed(outcome.statement, outcome.error,
                               offset=outcome.offset) from outcome.error

    def _run_ahead(self, steps: tuple[Step, ...]) -> None:
        """Apply ``steps`` as one message; note what each did in ``_settled``.

        A step that committed gets its ms; one that failed gets its failure (the
        statement and where it starts in the message, so the report is as exact as
        when it runs alone), and :meth:`apply` reports it or, for a lock timeout,
        tries it again alone. The steps after it did not run. On an interrupt the
        history says which steps committed; they are reported as applied
        (``apply_done``) before the interrupt goes on.
        """
        records = []
        for step in steps:
            assert step.migration is not None
            records.append(history.applied_sql(self.conn, step.migration,
                                               step.migration.path.name))
        def committed(step: Step, ms: int) -> None:
            # Reported the moment its COMMIT arrives, and the next one as started: the
            # runner announced the first step of the message itself, and skips the
            # events this executor sent (``announced``, ``streamed``).
            emit(self.progress, "apply_done", version=step.version, name=step.name,
                 elapsed_ms=ms)
            self.streamed.add(step.version)
            position = steps.index(step) + 1
            if position < len(steps):
                following = steps[position]
                emit(self.progress, "apply_start", version=following.version,
                     name=following.name)
                self.announced.add(following.version)
                self.running = following

        self.running = steps[0]
        try:
            outcome = _batch.send_steps(self.conn, list(zip(steps, records, strict=True)),
                                          self._head, committed, self._flush)
        except BaseException:
            self._rollback()
            self._report_committed(steps)
            raise
        for step, ms in outcome.committed:
            self._settled[step.version] = ms
        if outcome.failed is None or outcome.error is None:
            return
        self._rollback()
        if outcome.statement is None:
            raise outcome.error  # pgkeel's own statements failed: not the migration's doing
        self._settled[outcome.failed.version] = _StatementFailed(
            outcome.statement, outcome.error, offset=outcome.offset)

    def _report_committed(self, steps: tuple[Step, ...]) -> None:
        """Emit ``apply_done`` for the ``steps`` the history holds (after an interrupt)."""
        try:
            if self.conn.broken or self.conn.closed:
                return
            # history owns every statement on its tables
            rows = {r.version: r.execution_ms for r in history.read(self.conn)
                    if not r.failed}
        except (psycopg.Error, PgkeelError):
            return
        for position, step in enumerate(steps):
            if step.version not in rows or step.version in self.streamed:
                continue
            if position and step.version not in self.announced:
                emit(self.progress, "apply_start", version=step.version, name=step.name)
            emit(self.progress, "apply_done", version=step.version, name=step.name,
                 elapsed_ms=rows[step.version])
            self.streamed.add(step.version)

    def _autocommit(
        self, step: Step, *, start: Callable[[], None], finish: Callable[[int], None]
    ) -> int:
        self.conn.execute(sql.SQL("; ").join(self._prologue))
        start()
        invalid_found = health.invalid_indexes(self.conn)
        invalid_before = {f.object for f in invalid_found}
        total = 0.0
        for position, statement in enumerate(step.statements):
            for attempt in range(1, self.retry.attempts + 1):
                watch = self._watch(attempt)
                began = time.perf_counter()
                try:
                    with watch or nullcontext():
                        self._execute(statement)
                    break
                except _StatementFailed as failed:
                    if failed.lock_timeout and statement.retry_safe \
                            and attempt < self.retry.attempts:
                        self._pause(step, attempt)
                        continue
                    self._as_pgkeel(restore=False)
                    now_invalid = self._invalid_indexes()
                    left = [f for f in now_invalid if f.object not in invalid_before]
                    earlier = [f for f in now_invalid if f.object in invalid_before]
                    raise self._failed(step, failed, keep_row=True, attempts=attempt,
                                       blockers=watch.blockers if watch else (),
                                       invalid=left, earlier_invalid=earlier) from failed.error
            took = time.perf_counter() - began
            total += took
            following = step.statements[position + 1:]
            restore = self._as_pgkeel(restore=bool(following))
            history.record_progress(self.conn, step.version, step.direction,
                                    statement.index + 1,
                                    following[0].line if following else None,
                                    execution_ms=round(took * 1000))
            if restore is not None:
                self.conn.execute(restore)
            emit(self.progress, "statement", version=step.version, name=step.name,
                 detail=f"statement {statement.index + 1} done")
        ms = round(total * 1000)
        with self.conn.transaction():
            finish(ms)
        return ms

    # -- helpers -------------------------------------------------------------------------

    def _as_pgkeel(self, *, restore: bool) -> sql.Composed | None:
        """Reset role, session authorization and ``search_path`` for pgkeel's writes.

        With ``restore``, return the SQL that puts back what the migration had set (for
        the next statement of a ``transaction:false`` section); None when nothing was
        changed or ``restore`` is False.
        """
        if not restore:  # one round trip: nothing to remember
            self.conn.execute(b"RESET ROLE; RESET SESSION AUTHORIZATION; RESET search_path")
            return None
        row = self.conn.execute(
            "SELECT current_setting('role'), current_setting('session_authorization'),"
            " current_setting('search_path')").fetchone()
        assert row is not None
        role, authorization, path = (str(v) for v in row)
        self.conn.execute(b"RESET ROLE; RESET SESSION AUTHORIZATION; RESET search_path")
        parts: list[sql.Composable] = []
        if authorization != self._login:
            parts.append(sql.SQL("SET SESSION AUTHORIZATION {}").format(
                sql.Identifier(authorization)))
        if role != "none":
            parts.append(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        parts.append(sql.SQL("SELECT pg_catalog.set_config('search_path', {}, false)").format(
            sql.Literal(path)))
        return sql.SQL("; ").join(parts)

    def _commit(self, index: int) -> None:
        try:
            self.conn.execute(b"COMMIT")
        except psycopg.Error as exc:
            # A DEFERRABLE constraint is checked here, after the last statement.
            raise _StatementFailed(PlannedStatement(index, "COMMIT", None), exc) from exc

    def _rollback(self) -> None:
        if self.conn.broken or self.conn.closed:
            return  # the server ended the session, and the transaction with it
        try:
            if self.conn.info.transaction_status != pq.TransactionStatus.IDLE:
                self.conn.execute(b"ROLLBACK")
        except psycopg.OperationalError:
            pass  # the session died just now: the error being raised says why

    def _execute(self, statement: PlannedStatement) -> None:
        try:
            if statement.copy_data is not None:
                # psql's way with the rows after COPY ... FROM STDIN: the statement, then
                # the rows as COPY data (psycopg's Cursor.copy, "COPY from STDIN").
                with self.conn.cursor() as cursor, \
                        cursor.copy(statement.sql.encode()) as copy:
                    copy.write(statement.copy_data)
                return
            # Sent as bytes without parameters: the text reaches the server untouched.
            self.conn.execute(statement.sql.encode())
        except psycopg.Error as exc:
            raise _StatementFailed(statement, exc) from exc

    def _watch(self, attempt: int) -> BlockerWatch | None:
        # Only retries are watched: the first try has no reason to expect a wait.
        if attempt == 1:
            return None
        return BlockerWatch(self.url, self.pid, max(self.lock_timeout_s / 2, 0.05))

    def _pause(self, step: Step, attempt: int) -> None:
        delay = self.retry.delay(attempt)
        emit(self.progress, "retry", version=step.version, name=step.name,
             detail=f"lock_timeout ({self.lock_timeout_s:g} s) reached on try {attempt} of "
             f"{self.retry.attempts}; trying again in {delay:.1f} s")
        time.sleep(delay)

    def _invalid_indexes(self) -> list[Finding]:
        try:
            return list(health.invalid_indexes(self.conn))
        except psycopg.Error:
            return []

    def _failed(
        self,
        step: Step,
        failed: _StatementFailed,
        *,
        keep_row: bool,
        attempts: int,
        blockers: tuple[Blocker, ...],
        invalid: list[Finding] | None = None,
        earlier_invalid: list[Finding] | None = None,
    ) -> MigrationFailed:
        statement, error = failed.statement, failed.error
        message = describe(error)
        failure = Failure(step.direction, statement.index, statement.line, error.sqlstate,
                          message)
        self._record(step, failure, keep_row)
        emit(self.progress, "failed", version=step.version, name=step.name, detail=message)
        verb = "applying" if step.direction == "up" else "rolling back"
        where = f"statement {statement.index + 1}"
        line, column = error_place(statement, error, failed.offset)
        if line and statement.data_line is not None and line != statement.line:
            where += f" (COPY data, line {line})"
        elif line and column:
            where += f" (line {line}, column {column})"
        elif line:
            where += f" (line {line})"
        elif statement.index == len(step.statements):
            where = "COMMIT (deferred constraints are checked there)"
        text = f"{verb} {step.version} failed at {where}: {message}"
        if error.sqlstate:
            text += f" [SQLSTATE {error.sqlstate}]"
        hint = self._hint(step, failed, keep_row, attempts, blockers, invalid or [],
                          earlier_invalid or [])
        path = step.path if step.path is not None else (step.applied.path if step.applied
                                                         else None)
        return MigrationFailed(text, version=step.version, statement_index=statement.index,
                               sqlstate=error.sqlstate, path=path, line=line, hint=hint)

    def _record(self, step: Step, failure: Failure, keep_row: bool) -> None:
        try:
            if not (self.conn.broken or self.conn.closed):
                # A transaction:false statement may have left the migration's role set.
                self.conn.execute(b"RESET ROLE; RESET SESSION AUTHORIZATION; "
                                  b"RESET search_path")
                with self.conn.transaction():
                    history.record_failure(self.conn, step.version, step.name, failure,
                                           keep_row=keep_row)
                return
            # Our session was killed, and pgkeel's lock with it: log the event from a
            # new connection, but leave the row alone (another runner may own it now;
            # a transaction:false row was written ahead and already says "failed").
            with connect(self.url) as conn:
                history.record_failure(conn, step.version, step.name, failure,
                                       keep_row=False)
        except (psycopg.Error, PgkeelError):
            pass  # the failure being reported matters more than its log entry

    def _hint(
        self,
        step: Step,
        failed: _StatementFailed,
        keep_row: bool,
        attempts: int,
        blockers: tuple[Blocker, ...],
        invalid: list[Finding],
        earlier_invalid: list[Finding] | None = None,
    ) -> str:
        parts = []
        if failed.lock_timeout:
            who = "; ".join(b.describe() for b in blockers) or "sessions that have since ended"
            parts.append(
                f"lock_timeout ({self.lock_timeout_s:g} s) ran out on {attempts} tries; "
                f"blocked by {who}. Wait for them or end them "
                "(SELECT pg_terminate_backend(pid)), or raise lock_timeout, then run again"
            )
        for finding in invalid:
            parts.append(f"the failed statement left {finding.message}: run {finding.fix}")
        for finding in earlier_invalid or ():
            parts.append(f"an earlier failure left {finding.message} (a statement that "
                         f"builds it again fails with \"already exists\"): run "
                         f"{finding.fix}")
        if self.conn.broken or self.conn.closed:
            parts.append("the connection was lost; run the command again to finish")
        elif keep_row and step.direction == "up":
            parts.append("fix the statement, then `pgkeel migrate up --resume`; or finish "
                         "or undo its work by hand and `pgkeel migrate repair`")
        elif keep_row:
            parts.append("finish the down section by hand, then `pgkeel migrate repair "
                         "--mark-rolled-back` (or undo it and `--mark-applied`)")
        elif step.direction == "up" and failed.lock_timeout:
            parts.append("nothing of this migration was applied and the file needs no "
                         "change: run `pgkeel migrate up` again once the blocking sessions "
                         "are gone, or with a higher --lock-timeout")
        elif step.direction == "up":
            parts.append("nothing of this migration was applied; fix it and run again")
        elif failed.lock_timeout:
            parts.append("nothing was rolled back for this migration and its down section "
                         "needs no change: run the rollback again once the blocking sessions "
                         "are gone, or with a higher --lock-timeout")
        else:
            parts.append("nothing was rolled back for this migration; fix its down section "
                         "and run `pgkeel migrate rollback --use-file-down`")
        return "; ".join(parts)
