"""Query advice: workloads, index candidates, their evaluation and selection.

``pgkeel.advisor.indexes.advise_indexes`` is the entry point of ``pgkeel advise
indexes``; the modules beside it each do one step (see their docstrings).
"""

from __future__ import annotations
