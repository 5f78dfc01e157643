"""Plan rule families; importing this package registers every plan rule."""

from __future__ import annotations

from pgkeel.advisor.plan_rules import estimates, execution, joins, limits, memory, scans
from pgkeel.advisor.plan_rules.base import PlanContext, PlanFinding, PlanRule, RelationFacts

__all__ = [
    "PlanContext",
    "PlanFinding",
    "PlanRule",
    "RelationFacts",
    "estimates",
    "execution",
    "joins",
    "limits",
    "memory",
    "scans",
]
