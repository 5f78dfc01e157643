"""The ``pgkeel`` command line: argument parsing, rendering and exit codes only.

Each command calls one public library function and renders its result; errors become
one line on stderr and the exit code of their class (see :mod:`pgkeel.errors`).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from pgkeel import __version__
from pgkeel.cli import (
    advise,
    backup,
    check,
    db,
    docs,
    explain,
    generate,
    inspect,
    lint,
    migrate,
    migrate_drift,
    migrate_verify,
    reach,
    rls,
    rules,
    slow,
)
from pgkeel.cli import seed as seed_cli
from pgkeel.cli._common import err
from pgkeel.errors import PgkeelError

__all__ = ["app", "main"]

app = typer.Typer(
    name="pgkeel",
    help="PostgreSQL database management: audit, migrate, lint, optimise, back up, seed.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"pgkeel {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """PostgreSQL database management for application teams."""


app.add_typer(db.app, name="db")
migrate.app.command("verify")(migrate_verify.verify_command)
migrate.app.command("drift")(migrate_drift.drift_command)
app.add_typer(migrate.app, name="migrate")
app.add_typer(backup.app, name="backup")
app.add_typer(advise.app, name="advise")
app.command("connect")(reach.connect_command)
app.command("check")(check.check_command)
app.command("inspect")(inspect.inspect_command)
app.command("docs")(docs.docs_command)
app.command("rules")(rules.rules_command)
app.command("lint")(lint.lint_command)
app.command("restore")(backup.restore_command)
app.command("explain")(explain.explain_command)
app.command("slow")(slow.slow_command)
app.add_typer(seed_cli.app, name="seed")
app.add_typer(generate.app, name="generate")
app.add_typer(rls.app, name="rls")


def main() -> None:
    """Entry point of the console script: run the app, map errors to exit codes."""
    try:
        app()
    except PgkeelError as exc:
        _fail(str(exc), exc.hint, exc.exit_code)
    except OSError as exc:
        from pgkeel.cli._oserror import describe

        _fail(*describe(exc), 3)
    except Exception as exc:
        # psycopg is imported only by commands that connect (`--help` never does), so
        # an error of its own can only come once it is loaded.
        psycopg = sys.modules.get("psycopg")
        if psycopg is None or not isinstance(exc, psycopg.Error):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(f"PostgreSQL: {first}", None, 3)


def _fail(message: str, hint: str | None, code: int) -> None:
    """Print one line, ``error: WHAT — fix: HOW``, and exit with ``code``."""
    fix = f" [bold]— fix:[/bold] {escape(hint)}" if hint else ""
    err.print(f"[bold red]error:[/bold red] {escape(message)}{fix}")
    sys.exit(code)
