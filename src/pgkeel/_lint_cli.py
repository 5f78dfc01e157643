"""``pgkeel lint`` without Typer: parse, call, render, exit code.

Typer and Rich cost about 0.2 s to import and build the command tree, more than the
linting of one file; a pre-commit hook runs ``pgkeel lint`` on every commit. So
:mod:`pgkeel._main` sends ``pgkeel lint ARGS`` here, to :func:`main` (argparse, the
same options as :mod:`pgkeel.cli.lint`, which ``tests/test_lint_cli.py`` keeps equal),
and only ``pgkeel lint --help`` goes through Typer. Errors are the CLI's one line,
``error: WHAT — fix: HOW``, with its exit codes (2 usage/config, 3 database/IO).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["FORMATS", "OPTIONS", "main", "run"]

FORMATS = ("text", "json", "sarif", "github")
FAIL_ON = ("error", "warning", "info", "never")
#: The options, as ``pgkeel.cli.lint.lint_command`` declares them.
OPTIONS = ("--database-url", "-d", "--project", "--target-version", "--format",
           "--fail-on", "--pending")


def _note(message: str) -> None:
    sys.stderr.write(f"pgkeel: {message}\n")


def run(paths: Sequence[Path], *, database_url: str | None = None,
        project: Path | None = None, target_version: int | None = None,
        output_format: str = "text", fail_on: str = "error", pending: bool = False) -> int:
    """Lint ``paths`` (default: the configured migrations folder), print the report in
    ``output_format`` and return the exit code (1 when a finding is at or above
    ``fail_on``). Raises ``PgkeelError`` subclasses and ``OSError`` for the caller to
    report."""
    from pgkeel.config import load_settings
    from pgkeel.errors import UsageError
    from pgkeel.lint.migration.config import lint_config, version_num
    from pgkeel.lint.migration.run import lint_paths, pending_files
    from pgkeel.report.findings import parse_fail_on

    try:
        target = version_num(target_version) if target_version is not None else None
    except ValueError as exc:
        raise UsageError(f"--target-version {target_version}: {exc}",
                         hint="give the major version, e.g. --target-version 15") from None
    resolved = load_settings(project, database_url=database_url)
    config = lint_config(resolved, target_version=target)
    url = resolved.database_url
    if pending and url is None:
        raise UsageError("--pending needs a database to read the applied migrations from",
                         hint="give --database-url (or set DATABASE_URL)")
    folder = _relative(resolved.resolve(resolved.migrations_dir))
    catalog = None
    if url is not None:
        from pgkeel.connect import connect
        from pgkeel.lint.migration.live import catalog_facts

        with connect(url) as conn:
            catalog = catalog_facts(conn)
    if pending:
        assert catalog is not None
        if catalog.applied is None:
            raise UsageError("this role may not read pgkeel's migration history, so "
                             "--pending cannot tell what is applied",
                             hint="grant it USAGE on schema pgkeel and SELECT on its tables")
        targets = pending_files(folder, catalog.applied)
        if paths:
            wanted = {p.resolve() for p in paths}
            targets = [p for p in targets
                       if p.resolve() in wanted or p.parent.resolve() in wanted]
    else:
        targets = list(paths) or [folder]
    result = lint_paths(targets, config, catalog=catalog)
    sys.stdout.write(_render(result, output_format))
    if not result.files:
        _note("no migration file to lint" + (" (every one is applied)" if pending else ""))
    return 1 if result.breaches(parse_fail_on(fail_on)) else 0


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory when below it: what reports show."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _render(result: object, output_format: str) -> str:
    from pgkeel import __version__
    from pgkeel.lint.migration.output import render_github, render_text
    from pgkeel.lint.migration.run import LintResult

    assert isinstance(result, LintResult)
    if output_format == "json":
        from pgkeel.report import render_json

        return render_json.render(result.findings, result.header())
    if output_format == "sarif":
        from pgkeel.report import render_sarif

        return render_sarif.render(result.findings, result.rules, tool_version=__version__,
                                   properties=result.header())
    if output_format == "github":
        return render_github(result.findings)
    from pgkeel.lint.migration.output import summary

    target = (f" (target PostgreSQL {result.target_version // 10000})"
              if result.target_version else "")
    return (render_text(result.findings, result.texts)
            + f"{summary(result.findings)} in {len(result.files)} file(s){target}\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgkeel lint", add_help=False)
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--database-url", "-d")
    parser.add_argument("--project", type=Path)
    parser.add_argument("--target-version", type=int)
    parser.add_argument("--format", dest="output_format", choices=FORMATS, default="text")
    parser.add_argument("--fail-on", choices=FAIL_ON, default="error")
    parser.add_argument("--pending", action="store_true")
    return parser


def main(args: Sequence[str]) -> None:
    """Run ``pgkeel lint`` with ``args`` (after ``lint``) and exit with its code."""
    from pgkeel.errors import PgkeelError

    options = _parser().parse_args(list(args))
    try:
        code = run(options.paths, database_url=options.database_url,
                   project=options.project, target_version=options.target_version,
                   output_format=options.output_format, fail_on=options.fail_on,
                   pending=options.pending)
    except PgkeelError as exc:
        _fail(str(exc), exc.hint, exc.exit_code)
    except OSError as exc:
        from pgkeel.cli._oserror import describe

        _fail(*describe(exc), 3)
    except Exception as exc:
        psycopg = sys.modules.get("psycopg")
        if psycopg is None or not isinstance(exc, psycopg.Error):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(f"PostgreSQL: {first}", None, 3)
    sys.exit(code)


def _fail(message: str, hint: str | None, code: int) -> None:
    sys.stderr.write(f"error: {message}" + (f" — fix: {hint}" if hint else "") + "\n")
    sys.exit(code)
