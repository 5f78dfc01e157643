"""Per-rule options: what a rule reads from ``[check.options.RULE-ID]``.

A rule declares each option it reads in its ``options`` class attribute::

    class MissingTimestamps(SchemaRule):
        options = {"columns": RuleOption(list[str], "column names that stamp changes",
                                         ["created_at", "updated_at"])}

and reads it with ``ctx.option(self.id, "columns", default)``. The ``[check]``
configuration is checked against these declarations (an unknown option or a value of
the wrong type is an error naming the file and line), and ``pgkeel rules ID`` lists
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["RuleOption"]


@dataclass(frozen=True, slots=True)
class RuleOption:
    """One option of a rule.

    ``type`` is a type annotation pydantic can validate (``int``, ``list[str]``,
    ``Literal["required", "auto"]``); ``help`` says what it changes (one phrase);
    ``default`` is the value the rule uses when the option is unset (shown by
    ``pgkeel rules ID``; the rule passes the same default to ``ctx.option``).
    """

    type: Any
    help: str
    default: Any = None

    def validate(self, value: Any) -> Any:
        """Return ``value`` converted to ``type`` (strictly: no str-to-int coercion).

        Raises ``ValueError`` with pydantic's one-line reason when it does not fit.
        """
        # pydantic loads here, not at import: `pgkeel lint` defines rules with options
        # but validates none unless the configuration sets one.
        from pydantic import TypeAdapter, ValidationError

        try:
            return TypeAdapter(self.type).validate_python(value, strict=True)
        except ValidationError as exc:
            raise ValueError(exc.errors()[0]["msg"]) from None

    def describe_type(self) -> str:
        """The type as users read it: ``list[str]``, ``int``, ``Literal['a', 'b']``."""
        return getattr(self.type, "__name__", None) if isinstance(self.type, type) \
            else str(self.type).replace("typing.", "")
