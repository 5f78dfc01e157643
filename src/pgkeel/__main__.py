"""``python -m pgkeel``: the same as the ``pgkeel`` command."""

from pgkeel._main import main

main()
