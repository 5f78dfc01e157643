"""Choose one index set for the whole workload.

pganalyze's Indexing Engine solves this as a facility-location problem (its docs,
"Constraint Programming Model"; pganalyze/pgday-chicago-2024 ``src/modelize.py``):
each query costs the cheapest of its plans over the chosen indexes, and the goal is
the lowest weighted total with as few indexes, and as little write overhead, as
possible. Here: greedy forward selection (each step adds the option with the largest
net gain: weighted cost saved minus its write cost), then backward pruning (drop any
chosen index the others make redundant). An index counts only for queries whose
plan uses it and whose cost it cuts by at least ``min_query_gain``. Size is weighed
as pganalyze's lexicographic goals weigh it (cost first, within a tolerance, then the
rest; its docs, "Constraint Programming Model"): among options whose gain is within
the floor (the least saving worth an index) of the best one, the smallest wins, since
the extra saving of the larger one would not be worth an index of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Option", "choose"]


@dataclass(frozen=True, slots=True)
class Option:
    """A measured candidate: ``key`` (any id), ``costs`` per query, ``used`` queries,
    ``size`` (bytes) and ``write_cost`` (weighted cost its upkeep adds to writes, in
    the planner's units)."""

    key: int
    costs: Mapping[int, float]
    used: frozenset[int]
    size: int
    write_cost: float


def _served(opt: Option, base: Mapping[int, float], min_query_gain: float) -> dict[int, float]:
    return {q: c for q, c in opt.costs.items()
            if q in opt.used and c <= base[q] * (1 - min_query_gain)}


def _total(chosen: Sequence[Option], base: Mapping[int, float], weights: Mapping[int, float],
           served: Mapping[int, dict[int, float]]) -> float:
    total = 0.0
    for q, b in base.items():
        best = min((served[o.key][q] for o in chosen if q in served[o.key]), default=b)
        total += weights[q] * min(b, best)
    return total + sum(o.write_cost for o in chosen)


def choose(options: Sequence[Option], base: Mapping[int, float], weights: Mapping[int, float],
           *, min_query_gain: float = 0.1, min_total_gain: float = 0.01) -> list[Option]:
    """The options to build, in the order chosen.

    ``base``: each query's cost with no new index; ``weights``: its calls. An option
    is added while it lowers the weighted total (queries plus write cost) by at least
    ``min_total_gain`` of the starting total; afterwards any chosen option whose
    removal costs less than that is dropped (a later, wider index serves its queries).
    """
    served = {o.key: _served(o, base, min_query_gain) for o in options}
    start = _total((), base, weights, served)
    floor = start * min_total_gain
    chosen: list[Option] = []
    current = start
    while True:
        scored = []
        for opt in options:
            if opt in chosen or not served[opt.key]:
                continue
            scored.append((current - _total([*chosen, opt], base, weights, served), opt))
        if not scored:
            break
        best_gain = max(g for g, _ in scored)
        if best_gain < floor or best_gain <= 0:
            break
        close = [(o.size, o.key, o) for g, o in scored if g >= best_gain - floor]
        pick = min(close)[2]
        chosen.append(pick)
        current = _total(chosen, base, weights, served)
    for opt in list(reversed(chosen)):
        rest = [o for o in chosen if o is not opt]
        if _total(rest, base, weights, served) - current < floor:
            chosen = rest
            current = _total(chosen, base, weights, served)
    return chosen
