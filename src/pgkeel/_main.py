"""The ``pgkeel`` entry point: ``--help``, ``--version`` and ``lint`` without loading the CLI.

The full command line (Typer, Rich, and through Typer, pydantic) costs about a quarter
of a second to import, which the two questions asked most often do not need. Their
answers are printed from here, ``pgkeel lint ...`` goes to
:func:`pgkeel._lint_cli.main` (argparse), and every other command line goes to
:func:`pgkeel.cli.main`. ``tests/test_cli_basics.py`` checks that the command list
below is the one the Typer app registers, so the two cannot drift apart.
"""

from __future__ import annotations

import os
import sys

__all__ = ["COMMANDS", "main"]

_SUMMARY = "PostgreSQL database management: audit, migrate, lint, optimise, back up, seed."

#: The top-level commands and the first line of each one's help, in Typer's order.
COMMANDS = (
    ("connect", "Connect, run a minimal query, and print what the server offers."),
    ("check", "Audit a database: the skill's Validation Checklist, then every finding."),
    ("inspect", "Read the database's structure and print it."),
    ("docs", "Write schema docs: ER diagrams, and a page per table with its security and "
     "findings."),
    ("rules", "List every rule: id, the command running it (check, lint, explain), severity."),
    ("lint", "Lint migration files: locks, rewrites, data loss, transactions, timeouts."),
    ("restore", "Restore a backup after a preflight; then resync sequences, ANALYZE, "
     "compare."),
    ("explain", "Explain one statement: the plan as a tree, time per node, and what to fix."),
    ("slow", "Show the slowest statements, and the N+1 lookups and OFFSET pages among them."),
    ("db", "Manage the project's local PostgreSQL cluster (.pgkeel/pgdata)."),
    ("migrate", "Apply, roll back, check and repair SQL migrations."),
    ("backup", "Back up with pg_dump, prove each backup restores, keep the right ones."),
    ("advise", "Advice from the workload: indexes."),
    ("seed", "Development data: seed files, and generated rows that satisfy the schema."),
    ("generate", "Write a reviewed, reversible migration for a common pattern."),
    ("rls", "Row Level Security: prove tenant isolation."),
)

_OPTIONS = (
    ("--version", "Show the version."),
    ("--install-completion", "Install completion for the current shell."),
    ("--show-completion", "Show completion for the current shell, to copy it or "
     "customize the installation."),
    ("-h, --help", "Show this message and exit."),
)


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "pgkeel"
    return "python -m pgkeel" if name == "__main__.py" else name


def root_help() -> str:
    """The text ``pgkeel --help`` prints: usage, summary, options and commands."""
    width = max(len(name) for name, _ in (*_OPTIONS, *COMMANDS))
    lines = [f"Usage: {_program()} [OPTIONS] COMMAND [ARGS]...", "", _SUMMARY, "",
             "Options:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in _OPTIONS]
    lines += ["", "Commands:"]
    lines += [f"  {name:<{width}}  {text}" for name, text in COMMANDS]
    lines += ["", f"Run '{_program()} COMMAND --help' for a command's options."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Answer ``--help``/``-h`` and ``--version`` alone; run the CLI for the rest."""
    args = sys.argv[1:]
    if args == ["--version"]:
        from pgkeel import __version__

        sys.stdout.write(f"pgkeel {__version__}\n")
        return
    if args in (["--help"], ["-h"]):
        sys.stdout.write(root_help())
        return
    if args[:1] == ["lint"] and not {"-h", "--help"} & set(args):
        # The linter's own fast path: a pre-commit hook should not wait for Typer.
        from pgkeel._lint_cli import main as lint

        lint(args[1:])
        return
    from pgkeel.cli import main as run

    run()
