"""Turn the ``[check]`` table of ``pgkeel.toml`` into a :class:`CheckConfig`.

:mod:`pgkeel.config` checks the table's shape (known keys, value types); this module
checks what only the rule registry knows: that every rule id named in ``enable``,
``disable``, ``severity`` and ``options`` exists, that each option is one the rule
declares (``Rule.options``) and holds a value of its type. A misspelt rule id or
option silently ignored would leave a rule on that the team meant to turn off, so each
is a ``ConfigError`` naming the file, the line and the closest known names.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pgkeel.config import CheckSettings, Settings, line_of
from pgkeel.errors import ConfigError
from pgkeel.lint import registry
from pgkeel.lint.context import CheckConfig
from pgkeel.report.findings import Severity

__all__ = ["check_config", "close_matches"]


def close_matches(word: str, known: list[str]) -> str:
    """``did you mean a, b?`` for the known names closest to ``word`` ("" when none)."""
    near = difflib.get_close_matches(word, known, n=3, cutoff=0.6)
    return f"did you mean {', '.join(near)}? " if near else ""


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
    rules = {r.id: r for r in registry.all_rules()}
    known = sorted(rules)

    def fail(message: str, loc: tuple[str, ...], hint: str) -> ConfigError:
        line = line_of(path, ("check", *loc)) if path is not None else None
        return ConfigError(message, path=path, line=line, hint=hint)

    def known_id(rule_id: str, loc: tuple[str, ...]) -> str:
        if rule_id not in rules:
            raise fail(f"unknown rule id {rule_id!r} in check.{'.'.join(loc[:1])}", loc,
                       f"{close_matches(rule_id, known)}`pgkeel rules` lists every rule")
        return rule_id

    enable = {known_id(r, ("enable",)) for r in check.enable}
    disable = {known_id(r, ("disable",)) for r in check.disable}
    both = sorted(enable & disable)
    if both:
        raise fail(f"rule {both[0]!r} is both enabled and disabled in [check]", ("disable",),
                   "keep it in one of check.enable and check.disable")
    severity = {known_id(r, ("severity", r)): Severity(v) for r, v in check.severity.items()}
    options: dict[str, dict[str, Any]] = {}
    for rule_id, values in check.options.items():
        declared = rules[known_id(rule_id, ("options", rule_id))].options
        checked: dict[str, Any] = {}
        for key, value in values.items():
            loc = ("options", rule_id, key)
            if key not in declared:
                names = ", ".join(sorted(declared)) or "none"
                raise fail(f"rule {rule_id!r} has no option {key!r}", loc,
                           f"{close_matches(key, sorted(declared))}its options: {names}")
            try:
                checked[key] = declared[key].validate(value)
            except ValueError as exc:
                raise fail(f"check.options.{rule_id}.{key}: {exc}", loc,
                           f"{key} is {declared[key].help} "
                           f"({declared[key].describe_type()})") from None
        options[rule_id] = checked
    return CheckConfig(enable=frozenset(enable), disable=frozenset(disable),
                       severity=severity, options=options, ignore=tuple(check.ignore),
                       sample_rows=check.sample_rows,
                       statement_timeout_ms=check.statement_timeout_ms)
