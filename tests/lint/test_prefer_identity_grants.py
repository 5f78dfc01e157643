"""prefer-identity keeps the grants on the sequence it replaces, both ways.

Found in review: the fix renamed the serial's sequence aside, made an identity
sequence of the same name and dropped the old one, so a role granted USAGE on it
(code calling ``nextval('tickets_id_seq')`` by name) lost it, and so did the undo.
"""

from __future__ import annotations

import os
from pathlib import Path

from evidence_helpers import run_script
from rule_helpers import prove_fixes

from pgkeel.testing import TestDatabase

GRANTED = """
CREATE TABLE "Tickets" (id serial PRIMARY KEY, title text NOT NULL);
INSERT INTO "Tickets" (title) SELECT 't' || g FROM generate_series(1, 5) AS g;
CREATE ROLE {role};
GRANT USAGE ON SEQUENCE "Tickets_id_seq" TO {role};
GRANT SELECT ON SEQUENCE "Tickets_id_seq" TO {role} WITH GRANT OPTION;
"""

PRIVILEGES = """
SELECT has_sequence_privilege(%(role)s, '"Tickets_id_seq"', 'USAGE'),
       has_sequence_privilege(%(role)s, '"Tickets_id_seq"', 'SELECT WITH GRANT OPTION'),
       has_sequence_privilege(%(role)s, '"Tickets_id_seq"', 'UPDATE')
"""


def test_prefer_identity_keeps_sequence_grants(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    role = f"ticket_app_{os.getpid()}_{pg_database.name}"
    try:
        with pg_database.connect() as conn:
            conn.execute(GRANTED.format(role=role))
        found = prove_fixes(pg_database, "prefer-identity", "", tmp_path)
        assert set(found) == {'public."Tickets".id'}
        with pg_database.connect() as conn:
            assert conn.execute("SELECT attidentity FROM pg_attribute WHERE attrelid = "
                                "'\"Tickets\"'::regclass AND attname = 'id'").fetchone() == ("d",)
            assert conn.execute(PRIVILEGES, {"role": role}).fetchone() == (True, True, False)
        run_script(pg_database, found['public."Tickets".id'].fix_down or "", tmp_path)
        with pg_database.connect() as conn:
            assert conn.execute("SELECT attidentity FROM pg_attribute WHERE attrelid = "
                                "'\"Tickets\"'::regclass AND attname = 'id'").fetchone() == ("",)
            assert conn.execute(PRIVILEGES, {"role": role}).fetchone() == (True, True, False)
    finally:
        with pg_database.connect() as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
