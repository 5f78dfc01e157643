"""Schema documentation: ER diagrams (Mermaid, Graphviz) and one page per table.

:func:`pgkeel.docs.write.write_docs` reads a catalog snapshot and ``check``'s findings
and writes a deterministic tree of Markdown or HTML pages; :mod:`pgkeel.docs.erd`
is the ER model the diagrams draw from.
"""

from __future__ import annotations
