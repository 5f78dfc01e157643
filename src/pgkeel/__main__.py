"""``python -m pgkeel``: the same as the ``pgkeel`` command."""

from pgkeel.cli import main

main()
