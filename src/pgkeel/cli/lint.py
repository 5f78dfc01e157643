"""``pgkeel lint``: lint migration files statement by statement, offline or against the
live database.

This module only declares the command for Typer (its options and ``--help``); the work
is :func:`pgkeel._lint_cli.run`, which ``pgkeel lint ...`` reaches without loading
Typer at all (:mod:`pgkeel._main`: start-up time).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from pgkeel.cli._common import ProjectDir

__all__ = ["lint_command"]


class LintFormat(StrEnum):
    """``--format`` choices."""

    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class FailOnChoice(StrEnum):
    """``--fail-on`` choices."""

    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def lint_command(
    paths: list[Path] | None = typer.Argument(
        None, metavar="PATHS", show_default=False,
        help="Migration files or folders (searched for .sql files); default: the "
        "configured migrations folder."),
    database_url: str | None = typer.Option(
        None, "--database-url", "-d", show_default=False,
        help="Lint against this database (libpq URI): table sizes, the catalog, its "
        "migration history and the sessions holding locks now. Default: DATABASE_URL, "
        ".env, pgkeel.toml; none set means offline."),
    project: ProjectDir = None,
    target_version: int | None = typer.Option(
        None, "--target-version", show_default=False,
        help="The server version the migrations will run on (15, or 150004), when not "
        "linting against it."),
    output_format: LintFormat = typer.Option(
        LintFormat.text, "--format",
        help="Output: text, JSON, SARIF 2.1.0 or GitHub Actions annotations."),
    fail_on: FailOnChoice = typer.Option(
        FailOnChoice.error, "--fail-on",
        help="Exit 1 when a finding is at or above this severity ('never': always 0)."),
    pending: bool = typer.Option(
        False, "--pending",
        help="Only the migrations the database has not applied (pgkeel's history)."),
) -> None:
    """Lint migration files: locks, rewrites, data loss, transactions, timeouts.

    Exit code 0, or 1 when a finding is at or above --fail-on (default: error).
    The \\[lint] table of pgkeel.toml enables, disables and configures rules;
    [bold]-- pgkeel:disable RULE -- reason[/bold] above a statement accepts a finding.

    Example: [bold]pgkeel lint[/bold], [bold]pgkeel lint migrations/20240105_idx.sql
    --target-version 15[/bold], [bold]pgkeel lint --pending -d "$DATABASE_URL" --format
    github[/bold]
    """
    from pgkeel._lint_cli import run

    code = run(paths or [], database_url=database_url, project=project,
               target_version=target_version, output_format=output_format.value,
               fail_on=fail_on.value, pending=pending)
    raise typer.Exit(code)


