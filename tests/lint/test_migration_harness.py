"""``pgkeel lint`` on a real migration history nobody here wrote: Harness's 389 files.

No crash, and no syntax error where PostgreSQL's parser accepts the file: the one
``syntax-error`` is a down file written in MySQL's ``DROP INDEX name ON table`` (the
corpus README: some downs are broken upstream), which PostgreSQL rejects too.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from conftest import shared_path
from pglast import parse_sql
from pglast.parser import ParseError

from pgkeel.lint.migration.config import LintConfig
from pgkeel.lint.migration.context import LintSettings
from pgkeel.lint.migration.run import lint_paths


def test_harness_corpus_lints_without_crash_or_false_syntax_error() -> None:
    corpus = shared_path("harness-migrations", "postgres")
    result = lint_paths([corpus], LintConfig(LintSettings()))
    assert len(result.files) == 389
    syntax = {Path(f.file or "").name for f in result.findings if f.rule == "syntax-error"}
    rejected = set()
    for path in result.files:
        try:
            parse_sql(path.read_text())
        except ParseError:
            rejected.add(path.name)
    assert syntax == rejected == {"0029_create_index_job_job_group_id_down.sql"}
    counts = Counter(f.rule for f in result.findings)
    # Every plain file breaks the dbmate naming convention, and their CREATE INDEX
    # statements are not concurrent: the linter reads the whole history.
    assert counts["migration-file-name"] == 389
    assert counts["require-concurrent-index"] > 50
