"""What a schema rule reads: the catalog snapshot, the ``[check]`` settings, the rows.

DESIGN.md principle 7 (evidence over names): a rule that can read the catalog or the
data does not guess from a column's name. :class:`CheckContext` carries the three
sources of evidence a rule may use:

- ``snapshot``: the catalog (:class:`~pgkeel.catalog.model.Snapshot`);
- ``config``: the ``[check]`` settings (:class:`CheckConfig`): rule options,
  thresholds, names the team uses;
- ``data``: a :class:`DataProbe` over the live database's rows, or None when the
  rules run on a snapshot alone (then a rule that needs the data says so in its
  finding, or stays silent: it never guesses).

Rules only read the context; they never write to the database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

if TYPE_CHECKING:
    from pgkeel.catalog.model import Snapshot
    from pgkeel.report.findings import Severity

__all__ = ["CheckConfig", "CheckContext", "DataProbe", "ProbeFailed"]


class ProbeFailed(Exception):
    """A data query could not answer (timeout, permission denied, a type it cannot read).

    ``reason`` is PostgreSQL's message, for the finding to say why it fell back.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckConfig:
    """The ``[check]`` settings of ``pgkeel.toml``.

    ``enable`` lists opt-in rule ids to run, ``disable`` rule ids not to run;
    ``severity`` overrides a rule's severity; ``options`` holds per-rule settings
    (``{"missing-timestamps": {"columns": ["last_update"]}}``); ``ignore`` holds
    ``fnmatch`` patterns over finding objects (``"public.legacy_*"``) that are never
    reported; ``sample_rows`` bounds every data query (rows read per table);
    ``statement_timeout_ms`` bounds each data query's run time (ms).
    """

    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    sample_rows: int = 10_000
    statement_timeout_ms: int = 5_000

    def option(self, rule_id: str, key: str, default: Any) -> Any:
        """Return option ``key`` of rule ``rule_id``, or ``default`` when unset."""
        return self.options.get(rule_id, {}).get(key, default)


class DataProbe:
    """Bounded, read-only queries over the rows of the audited database.

    Every query runs in its own savepoint of one ``READ ONLY`` transaction, with
    ``statement_timeout`` set locally (``CheckConfig.statement_timeout_ms``), so a
    slow or failing query costs one answer, never the whole check, and nothing is
    ever written. ``sample_rows`` is the most rows a rule should read from one table
    (rules use :meth:`sample_from` to honour it).

    Use it as a context manager around the rules' run, or call :meth:`close`.

    ``failures`` collects PostgreSQL's reason for every query it refused or cancelled
    (e.g. ``permission denied for table film``, ``canceling statement due to
    statement timeout``), in order, so a check can say that rules reading rows had
    less evidence than asked for, rather than pass in silence.
    """

    def __init__(self, conn: psycopg.Connection[Any], *, sample_rows: int = 10_000,
                 statement_timeout_ms: int = 5_000) -> None:
        self._conn = conn
        self.sample_rows = sample_rows
        self._timeout = statement_timeout_ms
        self._tx: psycopg.Transaction | None = None
        self.failures: list[str] = []

    def __enter__(self) -> DataProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _begin(self) -> None:
        if self._tx is None:
            self._tx = self._conn.transaction()
            self._tx.__enter__()
            self._conn.execute("SET TRANSACTION READ ONLY")
            self._conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(
                sql.Literal(self._timeout)))

    def close(self) -> None:
        """End the read-only transaction (rolled back: it wrote nothing)."""
        if self._tx is not None:
            tx, self._tx = self._tx, None
            rollback = psycopg.Rollback(tx)
            tx.__exit__(type(rollback), rollback, None)

    def rows(self, query: sql.Composable | str, params: Sequence[Any] = ()
             ) -> list[tuple[Any, ...]]:
        """Run ``query`` (identifiers composed with ``psycopg.sql``) and return its rows.

        Raises :class:`ProbeFailed` when PostgreSQL refuses or cancels it; the probe
        stays usable for the next query.
        """
        self._begin()
        try:
            with self._conn.transaction():
                return list(self._conn.execute(query, params).fetchall())
        except psycopg.Error as exc:
            diag = getattr(exc, "diag", None)
            reason = (diag.message_primary if diag else None) or str(exc)
            self.failures.append(reason)
            raise ProbeFailed(reason) from exc

    def sample_from(self, schema: str, table: str) -> sql.Composed:
        """A ``FROM`` source reading at most ``sample_rows`` rows of ``schema.table``.

        Returns ``(SELECT * FROM "schema"."table" LIMIT n) AS s`` for use in a query's
        FROM clause; rules that say "every sampled row" mean these rows.
        """
        return sql.SQL("(SELECT * FROM {}.{} LIMIT {}) AS s").format(
            sql.Identifier(schema), sql.Identifier(table), sql.Literal(self.sample_rows))


@dataclass(frozen=True, slots=True)
class CheckContext:
    """The evidence a schema rule reads: ``snapshot``, ``config`` and ``data``.

    ``data`` is None when no live database is at hand (a snapshot read from JSON);
    rules that need rows then skip what they cannot prove.
    """

    snapshot: Snapshot
    config: CheckConfig = field(default_factory=CheckConfig)
    data: DataProbe | None = None

    def option(self, rule_id: str, key: str, default: Any) -> Any:
        """Shorthand for ``config.option(rule_id, key, default)``."""
        return self.config.option(rule_id, key, default)
