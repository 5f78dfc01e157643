"""missing-timestamps and updated-at-not-maintained read trigger bodies, not column names."""

from __future__ import annotations

from pathlib import Path

import pytest
from evidence_helpers import checked, column_text, run_script
from rule_helpers import findings, prove_fixes, undo_sql

from pgkeel.testing import TestDatabase

STAMPS = """
-- Pagila's shape: last_update kept by a BEFORE UPDATE trigger
CREATE FUNCTION last_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.last_update = CURRENT_TIMESTAMP;
    RETURN NEW;
END $$;
CREATE TABLE actor (id int PRIMARY KEY, name text,
                    last_update timestamptz NOT NULL DEFAULT now());
CREATE TRIGGER last_updated BEFORE UPDATE ON actor FOR EACH ROW EXECUTE FUNCTION last_updated();
-- a trigger that does something else: its name proves nothing
CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$;
CREATE TABLE film (id int PRIMARY KEY, name text, modified timestamptz);
CREATE TRIGGER touch_modified BEFORE UPDATE ON film FOR EACH ROW EXECUTE FUNCTION audit();
CREATE TABLE plain (id int PRIMARY KEY, name text);
CREATE TABLE born (id int PRIMARY KEY, logged timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP);
-- a pure junction table: a key made of foreign keys, nothing else
CREATE TABLE film_actor (actor_id int REFERENCES actor, film_id int REFERENCES film,
                         PRIMARY KEY (actor_id, film_id));
-- append-only: a trigger refuses every UPDATE
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'ledger rows are never changed'; END $$;
CREATE TABLE ledger (id int PRIMARY KEY, amount numeric(12, 2));
CREATE TRIGGER no_update BEFORE UPDATE ON ledger FOR EACH ROW EXECUTE FUNCTION refuse();
INSERT INTO actor VALUES (1, 'a'), (2, 'b');
INSERT INTO film VALUES (1, 'f', '2024-01-01');
INSERT INTO plain VALUES (1, 'p');
INSERT INTO born VALUES (1, '2024-01-01');
INSERT INTO film_actor VALUES (1, 1);
INSERT INTO ledger VALUES (1, 10);
"""


def test_missing_timestamps_reads_triggers(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "missing-timestamps", STAMPS, tmp_path)
    assert set(found) == {"public.film", "public.plain", "public.born"}
    assert found["public.plain"].message == (
        "table public.plain does not record when its rows change: it has no date/time column")
    assert found["public.film"].message == (
        "table public.film does not record when its rows change: it has modified timestamp "
        "with time zone, but no trigger sets any of them on UPDATE")
    assert found["public.born"].message.endswith(
        "it has logged timestamp with time zone (DEFAULT CURRENT_TIMESTAMP), but no trigger "
        "sets any of them on UPDATE")
    # born already records its insert time: only updated_at is added
    assert '"created_at"' not in (found["public.born"].fix or "")
    assert '"created_at"' in (found["public.plain"].fix or "")
    # after the fix, an UPDATE stamps the row; fix_down takes it all back
    with pg_database.connect() as conn:
        conn.execute("UPDATE plain SET name = 'q'")
        assert conn.execute("SELECT updated_at > created_at FROM plain").fetchone() == (True,)
    run_script(pg_database, undo_sql(found.values()), tmp_path)
    assert set(findings(pg_database, "missing-timestamps")) == set(found)
    assert column_text(pg_database, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE "
                                    "'pgkeel%'") == [(0,)]


def test_missing_timestamps_options(pg_database: TestDatabase) -> None:
    # names the team uses; and junction / append-only tables reported when asked
    found = checked(pg_database, "missing-timestamps", STAMPS, columns=["modified"])
    assert set(found) == {"public.plain", "public.born"}
    found = checked(pg_database, "missing-timestamps", junction_tables=True,
                    append_only_tables=True)
    assert set(found) == {"public.film", "public.plain", "public.born", "public.film_actor",
                          "public.ledger"}


def test_missing_timestamps_insert_only_grants(pg_database: TestDatabase) -> None:
    role = f"writer_{pg_database.name}"
    try:
        found = checked(pg_database, "missing-timestamps", f"""
            CREATE ROLE {role};
            CREATE TABLE events (id int PRIMARY KEY, payload text);
            GRANT SELECT, INSERT ON events TO {role};
            CREATE TABLE notes (id int PRIMARY KEY, body text);
            GRANT SELECT, INSERT, UPDATE ON notes TO {role};
        """)
        assert set(found) == {"public.notes"}
    finally:
        with pg_database.connect() as conn:
            conn.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")


MAINTAINED = """
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW."updated_at" := pg_catalog.now(); RETURN NEW; END $$;
CREATE FUNCTION names_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.name := trim(NEW.name); RETURN NEW; END $$;
CREATE FUNCTION by_argument() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], now()));
   RETURN NEW; END $$;
CREATE TABLE kept (id int PRIMARY KEY, name text, updated_at timestamptz);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON kept FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE misnamed (id int PRIMARY KEY, name text, updated_at timestamptz);
CREATE TRIGGER set_updated_at BEFORE UPDATE ON misnamed
    FOR EACH ROW EXECUTE FUNCTION names_only();
CREATE TABLE generic (id int PRIMARY KEY, name text, updated_at timestamptz);
CREATE TRIGGER stamp BEFORE UPDATE ON generic
    FOR EACH ROW EXECUTE FUNCTION by_argument('updated_at');
CREATE TABLE other_name (id int PRIMARY KEY, changed timestamptz);
INSERT INTO kept VALUES (1, 'a', '2000-01-01');
INSERT INTO misnamed VALUES (1, 'a', '2000-01-01');
INSERT INTO other_name VALUES (1, '2000-01-01');
"""


def test_updated_at_not_maintained_reads_bodies(pg_database: TestDatabase,
                                                tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "updated-at-not-maintained", MAINTAINED, tmp_path)
    assert set(found) == {"public.misnamed"}
    assert found["public.misnamed"].message == (
        "table public.misnamed has updated_at but its BEFORE UPDATE row triggers never set it "
        "(set_updated_at runs public.names_only())")
    with pg_database.connect() as conn:
        conn.execute("UPDATE misnamed SET name = 'b'")
        assert conn.execute("SELECT updated_at > '2001-01-01' FROM misnamed").fetchone() == (
            True,)
    run_script(pg_database, found["public.misnamed"].fix_down or "", tmp_path)
    assert set(findings(pg_database, "updated-at-not-maintained")) == {"public.misnamed"}
    # a column name the team uses, kept by nothing: found, and no fix writes its trigger
    other = checked(pg_database, "updated-at-not-maintained", columns=["changed"])
    assert set(other) == {"public.other_name"}
    assert other["public.other_name"].fix is None


def test_updated_at_moddatetime(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        available = conn.execute("SELECT count(*) FROM pg_available_extensions "
                                 "WHERE name = 'moddatetime'").fetchone()
    if available != (1,):
        pytest.skip("contrib moddatetime is not installed with this PostgreSQL")
    found = checked(pg_database, "updated-at-not-maintained", """
        CREATE EXTENSION moddatetime;
        CREATE TABLE a (id int PRIMARY KEY, updated_at timestamptz);
        CREATE TRIGGER m BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION moddatetime(updated_at);
        CREATE TABLE b (id int PRIMARY KEY, updated_at timestamptz, other timestamptz);
        CREATE TRIGGER m BEFORE UPDATE ON b FOR EACH ROW EXECUTE FUNCTION moddatetime(other);
    """)
    assert set(found) == {"public.b"}


def test_unreadable_trigger_gets_the_benefit_of_the_doubt(pg_database: TestDatabase) -> None:
    found = checked(pg_database, "missing-timestamps", """
        CREATE FUNCTION by_argument() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN NEW := jsonb_populate_record(NEW, jsonb_build_object(TG_ARGV[0], now()));
           RETURN NEW; END $$;
        CREATE TABLE doc (id int PRIMARY KEY, changed timestamptz);
        CREATE TRIGGER stamp BEFORE UPDATE ON doc
            FOR EACH ROW EXECUTE FUNCTION by_argument('changed');
        CREATE TABLE bare (id int PRIMARY KEY, body text);
        CREATE TRIGGER stamp BEFORE UPDATE ON bare
            FOR EACH ROW EXECUTE FUNCTION by_argument('body');
    """)
    # doc may be stamped (pgkeel cannot tell); bare has no date/time column to stamp
    assert set(found) == {"public.bare"}
