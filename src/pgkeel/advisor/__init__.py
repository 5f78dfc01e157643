"""Query optimisation: EXPLAIN that explains, the workload, index advice, N+1 findings.

Modules own one job each and are imported by their full path
(``pgkeel.advisor.statements``, ``pgkeel.advisor.explain``, ...), so this package
imports nothing itself.
"""

from __future__ import annotations

__all__: list[str] = []
