"""Turn the ``[check]`` table of ``pgkeel.toml`` into a :class:`CheckConfig`.

:mod:`pgkeel.config` checks the table's shape (known keys, value types); this module
checks what only the rule registry knows: that every rule id named in ``enable``,
``disable``, ``severity`` and ``options`` exists, that each option is one the rule
declares (``Rule.options``) and holds a value of its type. A misspelt rule id or
option silently ignored would leave a rule on that the team meant to turn off, so each
is a ``ConfigError`` naming the file, the line and the closest known names.
"""

from __future__ import annotations

from pathlib import Path

from pgkeel.config import CheckSettings, Settings
from pgkeel.lint import registry
from pgkeel.lint._rule_table import RuleTable, close_matches
from pgkeel.lint.context import CheckConfig
from pgkeel.report.findings import Severity

__all__ = ["check_config", "close_matches"]


def check_config(check: CheckSettings | Settings, path: Path | None = None) -> CheckConfig:
    """Build the :class:`CheckConfig` of a ``[check]`` table.

    ``check`` is the table (or the whole :class:`~pgkeel.config.Settings`, whose
    ``config_file`` then gives ``path``); ``path`` is the file it came from, for error
    locations. Raises ``ConfigError`` (exit 2) for an unknown rule id, a rule both
    enabled and disabled, an option the rule does not declare, or an option value of
    the wrong type, naming ``path`` and the line.
    """
    if isinstance(check, Settings):
        path = path or check.config_file
        check = check.check
    table = RuleTable("check", {r.id: r for r in registry.all_rules()}, path)
    enable, disable = table.selection(check.enable, check.disable)
    severity = {table.known_id(r, ("severity", r)): Severity(v)
                for r, v in check.severity.items()}
    options = table.options(check.options)
    return CheckConfig(enable=enable, disable=disable,
                       severity=severity, options=options, ignore=tuple(check.ignore),
                       sample_rows=check.sample_rows,
                       statement_timeout_ms=check.statement_timeout_ms)
