"""Every migration rule, opt-in ones included, over the Harness history (209 up and 180
down files nobody here wrote): no rule crashes, and the findings are the ones the
history really has."""

from __future__ import annotations

from collections import Counter

from pgkeel.lint import registry
from pgkeel.lint.migration.engine import lint_text
from tests.conftest import shared_path


def test_every_rule_runs_over_the_harness_history() -> None:
    folder = shared_path("harness-migrations", "postgres")
    rules = [rule() for rule in registry.migration_rules()]
    counts: Counter[str] = Counter()
    unparsable: set[str] = set()
    for path in sorted(folder.glob("*.sql")):
        for finding in lint_text(path.read_text(), path=path, rules=rules):
            assert finding.line is not None and finding.line >= 1, finding
            counts[finding.rule] += 1
            if finding.rule == "syntax-error":
                unparsable.add(path.name)
    # The history drops columns and tables in its down files, renames columns, and
    # builds every index without CONCURRENTLY.
    assert counts["ban-drop-column"] > 50
    assert counts["ban-drop-table"] > 50
    assert counts["renaming-column"] > 0
    assert counts["require-concurrent-index"] > 50
    # The one file PostgreSQL cannot parse is MySQL syntax (DROP INDEX ... ON table).
    assert unparsable == {"0029_create_index_job_job_group_id_down.sql"}
