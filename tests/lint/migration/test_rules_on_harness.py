"""Every migration rule, opt-in ones included, over the Harness history (209 up and 180
down files nobody here wrote): no rule crashes, and the findings are the ones the
history really has."""

from __future__ import annotations

from collections import Counter

import psycopg

from pgkeel.catalog.introspect import snapshot
from pgkeel.lint import registry
from pgkeel.lint.migration.context import CatalogFacts
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


def test_every_rule_runs_over_the_harness_history_with_its_catalog(pg_url: str) -> None:
    """The same history linted against a database it was applied to (the files whose
    extensions this server lacks are skipped), so the catalog paths of the rules run
    over a real schema: sizes, column types, foreign keys, views, schema ACLs."""
    folder = shared_path("harness-migrations", "postgres")
    ups = sorted(folder.glob("*up.sql"))
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for path in ups:
            try:
                with conn.transaction():
                    conn.execute(path.read_text())
            except psycopg.Error:
                continue  # e.g. an extension this server was built without
        catalog = CatalogFacts(snapshot(conn))
    assert len(catalog.snapshot.tables) > 50
    rules = [rule() for rule in registry.migration_rules()]
    counts: Counter[str] = Counter()
    mismatches = []
    for path in sorted(folder.glob("*.sql")):
        for finding in lint_text(path.read_text(), path=path, rules=rules, catalog=catalog):
            counts[finding.rule] += 1
            if finding.rule == "fk-type-mismatch":
                mismatches.append(f"{path.name}: {finding.message}")
    assert counts["ban-drop-table"] > 50
    # With the catalog the referenced key types are known, and Harness has real
    # mismatches: later tables declare bigint columns that reference the serial (int)
    # keys of the first tables (spaces, repositories, principals...).
    assert mismatches and all("(int8) references" in m and "(int4)" in m
                              for m in mismatches), "\n".join(mismatches)
    assert any("repo_activities.repo_activity_repo_id (int8) references "
               "public.repositories.repo_id (int4)" in m for m in mismatches)
