"""What every command shares: options, settings, the target database, stderr output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from pgkeel.config import Settings

__all__ = [
    "DatabaseUrl",
    "ProjectDir",
    "err",
    "note",
    "out",
    "resolve_url",
    "settings",
]



def _console(*, stderr: bool) -> Console:
    # Piped output (CI logs, files) gets room for whole URLs and table cells instead
    # of Rich's 80-column default; emoji codes such as ":cat:" in names stay as typed.
    width = None if Console(stderr=stderr).is_terminal else 160
    return Console(stderr=stderr, width=width, highlight=False, soft_wrap=True, emoji=False)


out = _console(stderr=False)
err = _console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "-d",
        help="libpq URI of the database (default: DATABASE_URL, .env, src/.env, "
        "pgkeel.toml, else the local cluster).",
        show_default=False,
    ),
]
ProjectDir = Annotated[
    Path | None,
    typer.Option("--project", help="Project directory (default: the current one).",
                 show_default=False),
]


def settings(database_url: str | None = None, project: Path | None = None) -> Settings:
    """Load settings with the CLI's flags on top."""
    # Imported here: pydantic-settings costs ~70 ms, which --help and --version skip.
    from pgkeel.config import load_settings

    return load_settings(project, database_url=database_url)


def note(message: str) -> None:
    """Say something on stderr that is not the command's output."""
    err.print(f"[dim]pgkeel:[/dim] {escape(message)}")


def resolve_url(database_url_flag: str | None, project: Path | None = None) -> str:
    """The database to work on; starts the local cluster (saying so) if none is set."""
    from pgkeel.target import database_url  # with the settings it needs, see settings()

    return database_url(settings(database_url_flag, project), notify=note)
