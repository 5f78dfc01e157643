"""The migration linter: SQL files read statement by statement with the context that
decides whether each is dangerous (``pgkeel lint``).

:mod:`.source` reads a file into sections of parsed statements (syntax errors become
positions, not crashes); :mod:`.context` tracks what earlier statements did (objects
created, constraints added ``NOT VALID``, locks held, timeouts set) and what the live
database says; :mod:`.engine` runs the migration rules of
:mod:`pgkeel.lint.rules.migration` over them.
"""
