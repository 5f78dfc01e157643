"""Each rule's docstring examples, run on a real database: Bad is found, Good is not."""

from __future__ import annotations

import pytest

from pgkeel.lint import lint_database, registry
from pgkeel.lint.rules import SchemaRule
from pgkeel.testing import TestDatabase


@pytest.mark.parametrize("rule", registry.schema_rules(), ids=lambda r: r.id)
def test_bad_example_is_found_and_good_is_not(rule: type[SchemaRule],
                                              pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("CREATE SCHEMA bad; CREATE SCHEMA good")
        conn.execute("SET search_path = bad")
        conn.execute(rule.example("Bad"))
        conn.execute("SET search_path = good")
        conn.execute(rule.example("Good"))
        found = lint_database(conn, select=[rule.id])[1]
    objects = [f.object or "" for f in found]
    assert objects, f"{rule.id}: the Bad example was not found"
    assert all(o.startswith("bad.") for o in objects), (
        f"{rule.id}: the Good example was found: {objects}")
    assert {f.rule for f in found} == {rule.id}
