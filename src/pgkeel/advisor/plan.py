"""A typed model of ``EXPLAIN (FORMAT JSON)`` output, with exclusive times and buffers.

:func:`parse_plan` turns the JSON PostgreSQL prints into a tree of :class:`PlanNode`.
The derived numbers follow the rules of EXPLAIN's output (PostgreSQL docs §14.1
"Using EXPLAIN"), as pev2 computes them (dalibo/pev2 ``plan-service.ts``):

- ``Actual Rows`` and ``Actual Total Time`` are averages per loop, so a node's rows
  and time are multiplied by ``Actual Loops``;
- inside a parallel plan each worker is one loop, so the product is divided by the
  processes that ran (workers launched plus the leader) to give wall-clock time;
- buffer counts include the node's children; the *exclusive* figures subtract them,
  as the exclusive time subtracts the children's (init plans and sub plans included).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Plan", "PlanNode", "Trigger", "parse_plan"]


def _num(data: Mapping[str, Any], key: str) -> float:
    value = data.get(key)
    return float(value) if isinstance(value, int | float) else 0.0


@dataclass(frozen=True, slots=True, eq=False)
class PlanNode:
    """One plan node.

    ``id`` numbers nodes depth-first from 0 at the root; ``data`` is the node's JSON
    object as PostgreSQL printed it (every field, for rules that need more);
    ``children`` its sub-nodes (``Plans``). ``relation`` is ``schema.name`` when the
    node scans a table (the schema shows only with ``VERBOSE``; else just the name).
    ``parallel`` is the number of processes sharing this node's loops (1 outside a
    parallel plan). Times are in milliseconds, rows counted over every loop.
    """

    id: int
    data: Mapping[str, Any]
    children: tuple[PlanNode, ...]
    parallel: int = 1
    depth: int = 0

    @property
    def node_type(self) -> str:
        """``Seq Scan``, ``Hash Join``, ... (``Aggregate`` nodes say their strategy in
        :attr:`label`)."""
        return str(self.data.get("Node Type", "?"))

    @property
    def relation(self) -> str | None:
        """``schema.table`` scanned by this node, or None."""
        name = self.data.get("Relation Name")
        if name is None:
            return None
        schema = self.data.get("Schema")
        return f"{schema}.{name}" if schema else str(name)

    @property
    def label(self) -> str:
        """A one-line name: ``Seq Scan on public.item i``, ``Index Scan using item_pkey
        on public.item``, ``HashAggregate``."""
        kind = self.node_type
        if kind == "Aggregate" and self.data.get("Strategy") in ("Hashed", "Mixed"):
            kind = "HashAggregate"
        elif kind == "Aggregate" and self.data.get("Strategy") == "Sorted":
            kind = "GroupAggregate"
        parts = [kind]
        if self.data.get("Index Name"):
            parts.append(f"using {self.data['Index Name']}")
        if self.relation:
            parts.append(f"on {self.relation}")
            alias = self.data.get("Alias")
            if alias and alias != self.data.get("Relation Name"):
                parts.append(str(alias))
        elif self.data.get("CTE Name"):
            parts.append(f"on {self.data['CTE Name']}")
        if self.data.get("Subplan Name"):
            parts.append(f"({self.data['Subplan Name']})")
        return " ".join(parts)

    @property
    def analyzed(self) -> bool:
        """True when the node carries ANALYZE's actual figures."""
        return "Actual Loops" in self.data

    @property
    def loops(self) -> int:
        """How many times the node ran (0 when never executed or not analyzed)."""
        return int(_num(self.data, "Actual Loops"))

    @property
    def plan_rows(self) -> float:
        """Rows the planner expected per loop."""
        return _num(self.data, "Plan Rows")

    @property
    def actual_rows(self) -> float:
        """Rows returned, over every loop."""
        return _num(self.data, "Actual Rows") * self.loops

    def removed(self, key: str) -> float:
        """``Rows Removed by Filter`` (or another ``Rows Removed by ...`` key), over
        every loop."""
        return _num(self.data, key) * self.loops

    @property
    def inclusive_ms(self) -> float:
        """Wall-clock time of this node and everything below it, in ms."""
        return _num(self.data, "Actual Total Time") * self.loops / self.parallel

    @property
    def exclusive_ms(self) -> float:
        """Time spent in this node alone, in ms (never negative)."""
        return max(self.inclusive_ms - sum(c.inclusive_ms for c in self.children), 0.0)

    @property
    def exclusive_cost(self) -> float:
        """The planner's total cost of this node minus its children's (never negative)."""
        own = _num(self.data, "Total Cost")
        return max(own - sum(_num(c.data, "Total Cost") for c in self.children), 0.0)

    def blocks(self, kind: str) -> float:
        """``kind`` buffer blocks (``Shared Hit``, ``Shared Read``, ``Temp Read``,
        ``Temp Written``) of this node alone, children's subtracted."""
        key = f"{kind} Blocks"
        own = _num(self.data, key)
        return max(own - sum(_num(c.data, key) for c in self.children), 0.0)

    def walk(self) -> Iterator[PlanNode]:
        """This node then every node below it, depth-first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger fired while executing (``EXPLAIN ANALYZE`` of a write).

    ``constraint`` names the foreign key when the trigger enforces one
    (``RI_ConstraintTrigger_...``); ``time_ms`` is summed over ``calls``.
    """

    name: str
    relation: str | None
    constraint: str | None
    time_ms: float
    calls: int


@dataclass(frozen=True, slots=True)
class Plan:
    """A whole plan: the ``root`` node and the statement-level figures.

    ``planning_ms`` and ``execution_ms`` are None when EXPLAIN did not measure them
    (no ANALYZE); ``jit_ms`` is JIT's total time (None without JIT) and
    ``jit_functions`` the functions it compiled; ``triggers`` those that fired.
    """

    root: PlanNode
    planning_ms: float | None
    execution_ms: float | None
    triggers: tuple[Trigger, ...]
    jit_ms: float | None
    jit_functions: int
    raw: Mapping[str, Any]

    @property
    def analyzed(self) -> bool:
        """True when the plan was executed (EXPLAIN ANALYZE)."""
        return self.root.analyzed

    def nodes(self) -> tuple[PlanNode, ...]:
        """Every node, depth-first from the root."""
        return tuple(self.root.walk())

    @property
    def total_cost(self) -> float:
        """The root's total cost (the planner's estimate for the whole statement)."""
        return _num(self.root.data, "Total Cost")


def _build(data: Mapping[str, Any], counter: list[int], parallel: int,
           depth: int) -> PlanNode:
    node_id = counter[0]
    counter[0] += 1
    below = parallel
    if data.get("Node Type") in ("Gather", "Gather Merge"):
        # Nodes under a Gather ran in the workers and, unless told not to, the leader.
        below = int(_num(data, "Workers Launched")) + 1
    children = tuple(_build(child, counter, below, depth + 1) for child in data.get("Plans", ()))
    return PlanNode(id=node_id, data=data, children=children, parallel=parallel, depth=depth)


def parse_plan(document: Any) -> Plan:
    """Build a :class:`Plan` from EXPLAIN's JSON (the one-element list, or its object).

    Raises ``ValueError`` when ``document`` is not EXPLAIN JSON (no ``Plan`` key).
    """
    top = document[0] if isinstance(document, list) and document else document
    if not isinstance(top, Mapping) or not isinstance(top.get("Plan"), Mapping):
        raise ValueError("not EXPLAIN (FORMAT JSON) output: no 'Plan' object")
    root = _build(top["Plan"], [0], 1, 0)
    jit = top.get("JIT")
    jit_ms = None
    jit_functions = 0
    if isinstance(jit, Mapping):
        timing = jit.get("Timing")
        total = timing.get("Total") if isinstance(timing, Mapping) else None
        jit_ms = float(total) if isinstance(total, int | float) else None
        jit_functions = int(_num(jit, "Functions"))
    triggers = tuple(
        Trigger(name=str(t.get("Trigger Name", "")), relation=t.get("Relation"),
                constraint=t.get("Constraint Name"), time_ms=_num(t, "Time"),
                calls=int(_num(t, "Calls")))
        for t in top.get("Triggers", ()) if isinstance(t, Mapping))
    planning = top.get("Planning Time")
    execution = top.get("Execution Time")
    return Plan(root=root,
                planning_ms=float(planning) if isinstance(planning, int | float) else None,
                execution_ms=float(execution) if isinstance(execution, int | float) else None,
                triggers=triggers, jit_ms=jit_ms, jit_functions=jit_functions, raw=top)
