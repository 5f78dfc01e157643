"""The one finding model every pgkeel feature reports with, and severity thresholds.

A :class:`Finding` is what a schema rule, a migration rule, plan advice or a checklist
check says about one object: the rule id, a :class:`Severity`, a one-sentence message,
where (a catalog object, or a file position), a suggested fix and a docs link. Its JSON
form (:meth:`Finding.to_dict`) uses the field names of the issues (``rule``,
``severity``, ``message``, ``object``, ``file``, ``line``, ``column``, ``fix``,
``docs``), so every renderer and consumer reads one shape.

:class:`RuleInfo` is what renderers need to know about a rule (SARIF's
``reportingDescriptor``) without importing the linter that defines it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

__all__ = [
    "FailOn",
    "Finding",
    "ObjectKind",
    "RuleInfo",
    "Severity",
    "breaches",
    "parse_fail_on",
    "sort_findings",
]

#: What a catalog finding points at; SARIF's ``logicalLocation.kind`` takes it as is.
ObjectKind = Literal["table", "column", "constraint", "index", "view", "function", "schema",
                     "policy", "extension", "type", "database"]


class Severity(StrEnum):
    """How bad a finding is, ordered ``info < warning < error``.

    The value is the lower-case name used in JSON and on the command line. Comparisons
    between severities follow that order (not the alphabet), so ``max()`` gives the
    worst one.
    """

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error."""
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    # StrEnum would otherwise hash and compare equal as the plain string; keep that
    # (``Severity.ERROR == "error"``), only ordering changes.
    __hash__ = str.__hash__


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}

#: ``--fail-on``: a severity, or None for ``never``.
FailOn = Severity | None


def parse_fail_on(value: str) -> FailOn:
    """Return the threshold for ``error|warning|info|never`` (None for ``never``).

    Raises ``ValueError`` for any other word.
    """
    if value == "never":
        return None
    try:
        return Severity(value)
    except ValueError:
        raise ValueError(
            f"unknown --fail-on value {value!r}: use error, warning, info or never"
        ) from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a rule found.

    ``rule`` is the kebab-case rule id; ``message`` one sentence saying what is wrong
    and where. A catalog finding sets ``object``, the schema-qualified name
    (``public.rental``, ``public.rental.customer_id``,
    ``public.rental.rental_customer_id_fkey``), each part written as PostgreSQL's
    ``quote_ident`` would (``"Mixed Case"."Bestellung ü"``, ``public."user"``), so a
    dot or a quote inside a name cannot be misread; a file finding sets ``file`` and
    the 1-based ``line`` and ``column``. ``fix`` is suggested SQL or an action, ``docs`` a
    URL explaining the rule. ``fix_down`` is the SQL that undoes ``fix`` (the down
    section when the fix is written as a migration, DESIGN.md principle 6); None when
    the fix has no SQL undo (then the migration's down is irreversible and says why).
    """

    rule: str
    severity: Severity
    message: str
    object: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None
    fix: str | None = None
    docs: str | None = None
    fix_down: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: every field, ``severity`` as its lower-case name."""
        return {
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "object": self.object,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "fix": self.fix,
            "fix_down": self.fix_down,
            "docs": self.docs,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict` output.

        Raises ``KeyError`` when ``rule``, ``severity`` or ``message`` is missing and
        ``ValueError`` for an unknown severity.
        """
        return cls(
            rule=data["rule"],
            severity=Severity(data["severity"]),
            message=data["message"],
            object=data.get("object"),
            file=data.get("file"),
            line=data.get("line"),
            column=data.get("column"),
            fix=data.get("fix"),
            fix_down=data.get("fix_down"),
            docs=data.get("docs"),
        )


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a report says about a rule: SARIF's ``reportingDescriptor``.

    ``summary`` is one line, ``description`` the full text (Markdown), ``object_kind``
    what the rule's catalog findings point at, ``docs`` an absolute URL or None,
    ``upstream`` the same rule's names in other linters (``"squawk:prefer-timestamptz"``)
    so users can map their configuration.
    """

    id: str
    severity: Severity
    summary: str
    description: str
    object_kind: ObjectKind = "table"
    docs: str | None = None
    upstream: tuple[str, ...] = ()


def breaches(findings: Iterable[Finding], fail_on: FailOn) -> bool:
    """True when some finding is at or above ``fail_on`` (never for None)."""
    if fail_on is None:
        return False
    return any(f.severity >= fail_on for f in findings)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Return findings worst first, then by rule, object or file position, message."""
    return tuple(sorted(
        findings,
        key=lambda f: (-f.severity.rank, f.rule, f.object or "", f.file or "",
                       f.line or 0, f.column or 0, f.message),
    ))
