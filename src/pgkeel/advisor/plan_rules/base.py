"""Plan rules: rules over one statement's plan, registered like the schema rules.

A concrete rule subclasses :class:`PlanRule` and implements :meth:`PlanRule.check`
over a :class:`PlanContext`: the parsed :class:`~pgkeel.advisor.plan.Plan`, the
statement, and catalog facts about the tables the plan touches. It yields
:class:`PlanFinding`, a :class:`~pgkeel.report.Finding` tied to the plan node it is
about, with the time a fix could save (used to rank findings, as pgMustard ranks its
tips by time saved).

The docstring's ``Bad`` and ``Good`` examples are scripts: every statement but the
last sets up a database (tables, rows, session settings), and the last one is the
query to explain; ``tests/advisor/test_plan_rule_examples.py`` runs them with
``EXPLAIN ANALYZE`` on a real server: Bad must be found, Good must not.

Only *significant* nodes are judged (:meth:`PlanContext.significant`): a node whose
time is at least 10 % of the execution time (pev2's first highlight class,
dalibo/pev2 ``plan-service.ts``) and at least 0.5 ms, or at least 5 ms; in a plan
without ANALYZE, a node
whose cost is at least 10 % of the total.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgkeel.lint.rules.base import Rule
from pgkeel.report.findings import Finding, Severity
from pgkeel.sqltext import quote_ident

if TYPE_CHECKING:
    from pgkeel.advisor.plan import Plan, PlanNode
    from pgkeel.advisor.statement import SqlStatement

__all__ = [
    "ForeignKeyFacts",
    "PlanContext",
    "PlanFinding",
    "PlanRule",
    "RelationFacts",
    "estimate_factor",
    "human",
    "statement_sql",
]

#: The significance gate: share of the execution time, and an absolute floor in ms.
SIGNIFICANT_SHARE = 0.10
SIGNIFICANT_MS = 5.0
#: Below this a node is never significant, whatever its share (proposed: a plan that
#: runs in a fraction of a millisecond has nothing worth changing).
SIGNIFICANT_MIN_MS = 0.5
#: Share of a table's rows changed since ANALYZE that makes its statistics stale.
STALE_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class RelationFacts:
    """What the catalog says about a table a plan scans.

    ``reltuples`` is the planner's row count (-1 never analyzed or vacuumed, PG 14+);
    ``modified_since_analyze`` rows changed since the last ANALYZE
    (``pg_stat_user_tables.n_mod_since_analyze``); ``analyzed`` whether ANALYZE ever
    ran on it (by hand or by autovacuum); ``index_columns`` the plain columns that
    are a key column of some valid index, ``leading_columns`` those that lead one.
    """

    schema: str
    table: str
    reltuples: float
    live_rows: int
    modified_since_analyze: int
    analyzed: bool
    index_columns: frozenset[str]
    leading_columns: frozenset[str]

    @property
    def name(self) -> str:
        """``schema.table`` as plan nodes name it (unquoted)."""
        return f"{self.schema}.{self.table}"

    @property
    def sql_name(self) -> str:
        """``schema.table`` quoted for SQL, as ``quote_ident`` writes each part."""
        return f"{quote_ident(self.schema)}.{quote_ident(self.table)}"

    @property
    def stale(self) -> bool:
        """True when ANALYZE never ran, or more than 10 % of the rows changed since
        (autovacuum's default ``autovacuum_analyze_scale_factor``, PostgreSQL docs
        §24.1.6 "Updating Planner Statistics")."""
        return (not self.analyzed
                or self.modified_since_analyze > STALE_SHARE * max(self.reltuples, 1.0))


@dataclass(frozen=True, slots=True)
class ForeignKeyFacts:
    """A foreign key whose trigger fired: ``referencing`` the table holding it and
    ``columns`` its columns (both quoted for SQL), ``indexed`` whether an index leads
    with those columns."""

    constraint: str
    referencing: str
    columns: tuple[str, ...]
    indexed: bool


@dataclass(frozen=True, slots=True)
class PlanContext:
    """What a plan rule reads: the plan, the statement and the tables' facts.

    ``relations`` maps ``schema.table`` (as plan nodes name it) to its
    :class:`RelationFacts`; ``foreign_keys`` maps a constraint name to its
    :class:`ForeignKeyFacts`, for the foreign keys whose triggers fired.
    """

    plan: Plan
    statement: SqlStatement | None
    relations: Mapping[str, RelationFacts]
    foreign_keys: Mapping[str, ForeignKeyFacts] = field(default_factory=dict)

    def significant(self, node: PlanNode, *, inclusive: bool = False) -> bool:
        """Whether ``node`` (its own time, or with ``inclusive`` its subtree's) passes
        the significance gate (see the module docstring)."""
        plan = self.plan
        if plan.analyzed:
            spent = node.inclusive_ms if inclusive else node.exclusive_ms
            total = plan.execution_ms or plan.root.inclusive_ms
            return spent >= SIGNIFICANT_MS or (spent >= SIGNIFICANT_MIN_MS and total > 0
                                               and spent / total >= SIGNIFICANT_SHARE)
        cost = float(node.data.get("Total Cost", 0)) if inclusive else node.exclusive_cost
        return plan.total_cost > 0 and cost / plan.total_cost >= SIGNIFICANT_SHARE

    def facts(self, node: PlanNode) -> RelationFacts | None:
        """The facts of the table ``node`` scans, or None."""
        return None if node.relation is None else self.relations.get(node.relation)


@dataclass(frozen=True, slots=True)
class PlanFinding:
    """A finding about one plan node (``node_id``; None for the whole statement), and
    ``saving_ms``, the time a fix could save at most (for ranking)."""

    finding: Finding
    node_id: int | None
    saving_ms: float


def _quoted_relation(node: PlanNode) -> str | None:
    """The node's table as findings name catalog objects (``quote_ident`` parts)."""
    schema, name = node.data.get("Schema"), node.data.get("Relation Name")
    if not name:
        return None
    return ".".join(quote_ident(str(p)) for p in (schema, name) if p)


def statement_sql(statement: SqlStatement | None) -> str:
    """The statement's text for messages, shortened to 80 characters."""
    if statement is None:
        return "the statement"
    text = " ".join(statement.text.split())
    return text if len(text) <= 80 else text[:77] + "..."


class PlanRule(Rule, abstract=True):
    """A rule over a statement's plan (``EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)``).

    Rules that need actual figures skip plans that were not executed
    (``ctx.plan.analyzed`` False). :meth:`at` builds a :class:`PlanFinding`.
    """

    object_kind = "table"
    command = "explain"

    @abstractmethod
    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        """Yield a finding for each node (or the statement) that breaks the rule."""

    def at(self, node: PlanNode | None, message: str, *, saving_ms: float = 0.0,
           fix: str | None = None, severity: Severity | None = None,
           object: str | None = None) -> PlanFinding:
        """A finding at ``node``; its ``object`` is the node's table (quoted as
        ``quote_ident`` writes it) unless ``object`` is given."""
        if object is None and node is not None:
            object = _quoted_relation(node)
        found = Finding(rule=self.id, severity=severity or self.severity, message=message,
                        object=object, fix=fix, docs=self.docs_url)
        return PlanFinding(finding=found, node_id=None if node is None else node.id,
                           saving_ms=saving_ms)


def estimate_factor(node: PlanNode) -> float:
    """How far the planner's row estimate was off, per loop: ``max(a, p) / max(min(a,
    p), 1)`` with ``a`` the actual and ``p`` the planned rows (pev2's planner estimate
    factor, dalibo/pev2 ``plan-service.ts``); 1 for a node that never ran."""
    if not node.loops:
        return 1.0
    actual = float(node.data.get("Actual Rows", 0))
    planned = node.plan_rows
    return max(actual, planned) / max(min(actual, planned), 1.0)


def human(count: float) -> str:
    """A row or block count for messages: ``1,234``."""
    return f"{count:,.0f}"
