"""timestamp-without-time-zone on a table with no rows says so, not "its 0 values".

Found in review: `pgkeel check --example` (no rows) printed "the fix reads its 0
values as Etc/UTC time".
"""

from __future__ import annotations

from rule_helpers import findings

from pgkeel.testing import TestDatabase


def test_empty_timestamp_column_says_it_holds_no_value(pg_database: TestDatabase) -> None:
    found = findings(pg_database, "timestamp-without-time-zone",
                     "CREATE TABLE visits (id int PRIMARY KEY, seen timestamp)")
    message = found["public.visits.seen"].message
    assert message.endswith("it holds no value yet: the fix only changes the type")
    assert "0 values" not in message
    assert "TYPE timestamp with time zone" in (found["public.visits.seen"].fix or "")
