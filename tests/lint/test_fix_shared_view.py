"""Two type fixes on columns one view reads: each drops and re-creates that view.

Found in review: the fix script wrote a repeated statement once, so the second fix's
``DROP VIEW`` was left out (the first fix had already re-created the view) and its
``ALTER TABLE ... TYPE`` failed with "cannot alter type of a column used by a view or
rule". Only shared helpers (``CREATE OR REPLACE FUNCTION``, a function's ``DROP``) are
written once now.
"""

from __future__ import annotations

import os
from pathlib import Path

from rule_helpers import prove_fixes

from pgkeel.report.fix_script import fix_sql
from pgkeel.testing import TestDatabase

SHARED_VIEW = """
CREATE TABLE lines (id int PRIMARY KEY, unit_price real, freight real, note text);
CREATE VIEW priced AS SELECT id, unit_price, freight FROM lines;
COMMENT ON VIEW priced IS 'both money columns';
CREATE ROLE {role};
GRANT SELECT ON priced TO {role};
INSERT INTO lines VALUES (1, 14.5, 32.38, NULL), (2, 9.8, 11.61, 'x');
"""


def test_two_type_fixes_on_one_view_each_recreate_it(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    role = f"priced_reader_{os.getpid()}_{pg_database.name}"
    try:
        with pg_database.connect() as conn:
            conn.execute(SHARED_VIEW.format(role=role))
        # "": the schema is in place (prove_fixes' twin is copied from this database)
        found = prove_fixes(pg_database, "float-for-money", "", tmp_path)
        assert set(found) == {"public.lines.unit_price", "public.lines.freight"}
        script = fix_sql(found.values())
        assert script.count('DROP VIEW "public"."priced";') == 2
        assert script.count('CREATE VIEW "public"."priced" AS') == 2
        with pg_database.connect() as conn:
            assert conn.execute(
                "SELECT unit_price::text, freight::text, obj_description('priced'::regclass),"
                " has_table_privilege(%s, 'priced', 'SELECT') FROM priced WHERE id = 1",
                [role]).fetchone() == ("14.50", "32.38", "both money columns", True)
    finally:
        with pg_database.connect() as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
