"""Rule base classes: a rule is a small class whose docstring is its documentation.

A concrete rule subclasses :class:`SchemaRule` (it audits a catalog
:class:`~pgkeel.catalog.model.Snapshot`) or :class:`MigrationRule` (it reads the
statements of migration files, with the pglast node types it wants). Defining
the class registers it (:mod:`pgkeel.lint.registry`), after checking it:

- ``id`` is kebab-case (``unindexed-foreign-key``) and ``severity`` a
  :class:`~pgkeel.report.Severity`;
- the docstring's first line is the ``summary``; the rest is Markdown with the
  sections ``Why``, ``Bad``, ``Good``, optional ``Notes``, and ``References``, in that
  order, each a heading underlined with dashes; ``Bad`` and ``Good`` each hold a
  fenced ``sql`` block (the test suite runs them: Bad must be found, Good must not).

A broken rule fails at import with :class:`InvalidRule`, naming the class.
"""

from __future__ import annotations

import inspect
import re
from abc import abstractmethod
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pgkeel.lint import registry
from pgkeel.lint.checklist import ITEMS
from pgkeel.lint.options import RuleOption
from pgkeel.report.findings import Finding, ObjectKind, RuleInfo, Severity

if TYPE_CHECKING:
    from pglast import ast

    from pgkeel.lint.context import CheckContext
    from pgkeel.lint.migration.context import MigrationContext
    from pgkeel.lint.migration.source import Statement

__all__ = ["InvalidRule", "MigrationRule", "Rule", "SchemaRule"]

_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)+$")
_HEADING = re.compile(r"^([A-Z][A-Za-z]*)\n-{3,}$", re.MULTILINE)
_SQL_BLOCK = re.compile(r"^```sql\n(.*?)^```$", re.MULTILINE | re.DOTALL)
_ORDER = ("Why", "Bad", "Good", "Notes", "References")
_REQUIRED = ("Why", "Bad", "Good", "References")


class InvalidRule(TypeError):
    """A rule class breaks the rule contract (id, severity or docstring shape)."""


def _sections(cls: type, doc: str) -> tuple[str, str, dict[str, str]]:
    """Split a cleaned docstring into summary, body and {section: text}."""
    summary, _, body = doc.partition("\n")
    body = body.strip("\n")
    heads = list(_HEADING.finditer(body))
    sections: dict[str, str] = {}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(body)
        sections[head.group(1)] = body[head.end():end].strip("\n")
    names = list(sections)
    missing = [s for s in _REQUIRED if s not in sections]
    unknown = [s for s in names if s not in _ORDER]
    if missing or unknown:
        raise InvalidRule(f"{cls.__qualname__}: docstring sections missing {missing}, "
                          f"unknown {unknown} (expected {', '.join(_ORDER)})")
    if names != sorted(names, key=_ORDER.index):
        raise InvalidRule(f"{cls.__qualname__}: docstring sections out of order: {names}")
    for name in ("Bad", "Good"):
        if not _SQL_BLOCK.search(sections[name]):
            raise InvalidRule(f"{cls.__qualname__}: the {name} section needs a ```sql block")
    return summary.strip(), body, sections


class Rule:
    """Base of every rule.

    Class attributes a concrete rule declares: ``id`` (kebab-case, stable),
    ``severity``, ``object_kind`` (what its findings point at), ``docs_url`` (an
    absolute URL explaining the problem), ``upstream`` (the same rule's names in squawk
    or splinter, e.g. ``"splinter:unindexed_foreign_keys"``), ``opt_in`` (off unless
    selected), ``min_server_version`` (``server_version_num``; 0 for any) and
    ``checklist`` (the skill's Validation Checklist item its findings answer, one of
    :data:`pgkeel.lint.checklist.ITEMS`, or None), ``options`` (the
    ``[check.options.<id>]`` keys it reads, each a
    :class:`~pgkeel.lint.options.RuleOption`; the configuration is checked against
    them) and ``uses_data`` (True when it reads rows through ``ctx.data``: the
    checklist then says it was skipped under ``check --no-data``).
    ``summary``, ``description`` and ``sections`` are filled from the docstring.
    """

    id: ClassVar[str]
    severity: ClassVar[Severity]
    #: the command that runs the rule, and the name of its pgkeel.toml table
    command: ClassVar[str] = "check"
    object_kind: ClassVar[ObjectKind] = "table"
    docs_url: ClassVar[str | None] = None
    upstream: ClassVar[tuple[str, ...]] = ()
    opt_in: ClassVar[bool] = False
    min_server_version: ClassVar[int] = 0
    checklist: ClassVar[str | None] = None
    options: ClassVar[Mapping[str, RuleOption]] = {}
    uses_data: ClassVar[bool] = False

    summary: ClassVar[str]
    description: ClassVar[str]
    sections: ClassVar[Mapping[str, str]]

    def __init_subclass__(cls, *, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        rule_id = getattr(cls, "id", None)
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise InvalidRule(f"{cls.__qualname__}: id {rule_id!r} is not kebab-case")
        if not isinstance(getattr(cls, "severity", None), Severity):
            raise InvalidRule(f"{cls.__qualname__}: severity must be a Severity")
        if cls.checklist is not None and cls.checklist not in ITEMS:
            raise InvalidRule(f"{cls.__qualname__}: checklist {cls.checklist!r} is not one "
                              f"of {ITEMS}")
        if not all(isinstance(o, RuleOption) for o in cls.options.values()):
            raise InvalidRule(f"{cls.__qualname__}: options must map names to RuleOption")
        if not cls.__doc__ or not cls.__doc__.strip():
            raise InvalidRule(f"{cls.__qualname__}: a rule needs a docstring")
        cls.summary, cls.description, cls.sections = _sections(cls, inspect.cleandoc(cls.__doc__))
        registry.register(cls)

    @classmethod
    def info(cls) -> RuleInfo:
        """What reports say about this rule (SARIF's rule descriptor)."""
        return RuleInfo(id=cls.id, severity=cls.severity, summary=cls.summary,
                        description=cls.description, object_kind=cls.object_kind,
                        docs=cls.docs_url, upstream=cls.upstream)

    @classmethod
    def example(cls, section: str) -> str:
        """The SQL of the docstring's ``Bad`` or ``Good`` example (all its sql blocks)."""
        return "\n".join(cls.examples(section))

    @classmethod
    def examples(cls, section: str) -> tuple[str, ...]:
        """Each sql block of the docstring's ``Bad`` or ``Good`` section, in order."""
        return tuple(m.group(1) for m in _SQL_BLOCK.finditer(cls.sections[section]))

    def finding(self, message: str, *, object: str, fix: str | None = None,
                fix_down: str | None = None) -> Finding:
        """A finding of this rule at catalog ``object``, with its severity and docs.

        ``fix`` is the SQL that repairs it and ``fix_down`` the SQL that undoes
        ``fix`` (None when it cannot be undone).
        """
        return Finding(rule=self.id, severity=self.severity, message=message,
                       object=object, fix=fix, fix_down=fix_down, docs=self.docs_url)


class SchemaRule(Rule, abstract=True):
    """A rule over a database's structure, read from the catalog (and its rows).

    A concrete rule implements :meth:`check` over a
    :class:`~pgkeel.lint.context.CheckContext`: the catalog snapshot, the ``[check]``
    settings, and, when a live database is at hand, a bounded read-only probe of its
    rows (evidence over names, DESIGN.md principle 7). Rules are stateless; they never
    import each other, and what several share lives in
    :mod:`pgkeel.lint.rules._catalog`.
    """

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterator[Finding]:
        """Yield a finding for each object of ``ctx.snapshot`` that breaks the rule."""


class MigrationRule(Rule, abstract=True):
    """A rule over the statements of migration files (``pgkeel lint``).

    A concrete rule sets ``nodes`` (the pglast statement classes it looks at, e.g.
    ``(ast.IndexStmt,)``; empty means every statement) and implements :meth:`check`,
    called once per such statement with the
    :class:`~pgkeel.lint.migration.context.MigrationContext` of the state before it
    (objects created earlier in the file, locks held, timeouts, the target version and,
    when linting against a database, its catalog). A rule that judges a whole section
    (an unclosed ``BEGIN``) implements :meth:`finish` too. The docstring's ``Bad`` and
    ``Good`` examples are linted by the test suite as the up section of a migration
    (Bad must be found, Good must not) against the fixture schema of
    ``tests/lint/migration``, offline and with the database. Rules are stateless.
    """

    command = "lint"
    nodes: ClassVar[tuple[type[ast.Node], ...]] = ()

    @abstractmethod
    def check(self, statement: Statement, ctx: MigrationContext) -> Iterator[Finding]:
        """Yield a finding for each way ``statement`` breaks the rule."""

    def finish(self, ctx: MigrationContext) -> Iterator[Finding]:
        """Yield findings about the section as a whole, after its last statement;
        ``ctx`` then holds the state at the section's end. None by default."""
        return iter(())

    def at(self, statement: Statement, ctx: MigrationContext, message: str, *,
           object: str | None = None, fix: str | None = None,
           severity: Severity | None = None) -> Finding:
        """A finding at ``statement``'s file position (``object`` is the relation it
        concerns, ``schema.name``; ``fix`` the safe alternative, SQL or words;
        ``severity`` overrides the rule's, e.g. scaled by the table's size)."""
        return Finding(rule=self.id, severity=severity or self.severity, message=message,
                       object=object, fix=fix, docs=self.docs_url, file=str(ctx.path),
                       line=statement.line, column=statement.column)
