"""Turn the ``[lint]`` table of ``pgkeel.toml`` and the command line into lint settings.

:mod:`pgkeel.config` checks the table's shape; this module checks what only the rule
registry knows, as :func:`pgkeel.lint.config.check_config` does for ``[check]``: every
rule id in ``enable``, ``disable`` and ``options`` is a migration rule, each option is
one the rule declares, with a value of its type. A mistake is a ``ConfigError`` naming
the file, the line and the closest known names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgkeel.lint import registry
from pgkeel.lint._rule_table import RuleTable
from pgkeel.lint.migration.context import LintSettings

if TYPE_CHECKING:
    from pgkeel.config import LintTable, Settings

__all__ = ["LintConfig", "lint_config", "version_num"]


@dataclass(frozen=True, slots=True)
class LintConfig:
    """What ``pgkeel lint`` runs: ``settings`` for the engine, and the rule ids to add
    (``enable``, opt-in rules) and to leave out (``disable``)."""

    settings: LintSettings
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()


def version_num(value: int) -> int:
    """``server_version_num`` of a target written as a major (``15``) or as
    ``server_version_num`` itself (``150004``); a major below 10 is refused (ValueError)."""
    if value >= 10_000:
        return value
    if 10 <= value < 100:
        return value * 10_000
    raise ValueError(f"{value} is neither a major version (15) nor a "
                     "server_version_num (150004)")


def lint_config(settings: Settings, *, target_version: int | None = None) -> LintConfig:
    """Build the :class:`LintConfig` of ``settings`` (its ``[lint]`` table and the
    runner's ``lock_timeout``), ``target_version`` (``--target-version``) on top.

    The runner's lock_timeout (seconds, the ``lock_timeout`` setting) is the default
    of ``runner_lock_timeout_ms``. Raises ``ConfigError`` (exit 2) for an unknown rule
    id, a rule both enabled and disabled, an undeclared option, an option of the
    wrong type or a target version that is neither form, naming the file and line.
    """
    table: LintTable = settings.lint
    path = settings.config_file
    rules = RuleTable("lint", {r.id: r for r in registry.migration_rules()}, path,
                      noun="migration rule")
    enable, disable = rules.selection(table.enable, table.disable)
    options = rules.options(table.options)
    target = target_version if target_version is not None else table.target_version
    try:
        target = version_num(target) if target is not None else None
    except ValueError as exc:
        raise rules.fail(str(exc), ("target_version",),
                         "give the major version, e.g. 15") from None
    lock_ms = table.runner_lock_timeout_ms
    if lock_ms is None:
        lock_ms = round(settings.lock_timeout * 1000)
    lint = LintSettings(target_version=target,
                        assume_in_transaction=table.assume_in_transaction,
                        large_table_bytes=table.large_table_bytes,
                        small_table_rows=table.small_table_rows,
                        runner_lock_timeout_ms=lock_ms or None,
                        runner_statement_timeout_ms=table.runner_statement_timeout_ms or None,
                        options=options)
    return LintConfig(lint, enable, disable)

