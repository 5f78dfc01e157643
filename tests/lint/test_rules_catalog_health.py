"""missing-primary-key, unindexed-foreign-key, missing-timestamps, updated-at-not-maintained.

Each test builds true and false cases side by side in one real database and asserts
the exact set of objects found; fix tests apply the suggested SQL with psql and check
that the finding is gone.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from rule_helpers import apply_fixes, findings

from pgkeel.testing import TestDatabase

PRIMARY_KEYS = """
CREATE TABLE has_pk (id bigint PRIMARY KEY);
CREATE TABLE no_pk (a int, b int);
CREATE TABLE unique_only (code text NOT NULL, note text);
CREATE UNIQUE INDEX unique_only_code_key ON unique_only (code);
-- a partitioned table with a key: its partitions inherit it
CREATE TABLE ev (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
-- a partitioned table without one: parent and partition are both reported
CREATE TABLE log (msg text, at date) PARTITION BY RANGE (at);
CREATE TABLE log_2024 PARTITION OF log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def test_missing_primary_key(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "missing-primary-key", PRIMARY_KEYS)
    assert set(found) == {"public.no_pk", "public.unique_only", "public.log",
                          "public.log_2024"}
    assert found["public.no_pk"].severity == "error"
    # the unique index on a NOT NULL column becomes the key without a table scan
    assert found["public.unique_only"].fix == (
        'ALTER TABLE "public"."unique_only" ADD CONSTRAINT "unique_only_pkey" '
        'PRIMARY KEY USING INDEX "unique_only_code_key";')
    apply_fixes(pg_database, [found["public.no_pk"], found["public.unique_only"]], tmp_path)
    assert set(findings(pg_database, "missing-primary-key")) == {"public.log",
                                                                 "public.log_2024"}


FOREIGN_KEYS = """
CREATE TABLE parent (id bigint PRIMARY KEY, a int, b int, UNIQUE (a, b));
CREATE TABLE indexed (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent);
CREATE INDEX ON indexed (parent_id);
CREATE TABLE bare ("Parent Id" bigint REFERENCES parent);
CREATE TABLE partial_only (parent_id bigint REFERENCES parent);
CREATE INDEX ON partial_only (parent_id) WHERE parent_id > 0;
CREATE TABLE expression_only (parent_id bigint REFERENCES parent);
CREATE INDEX ON expression_only ((parent_id + 0));
CREATE TABLE include_only (x int, parent_id bigint REFERENCES parent);
CREATE INDEX ON include_only (x) INCLUDE (parent_id);
CREATE TABLE second_column (x int, parent_id bigint REFERENCES parent);
CREATE INDEX ON second_column (x, parent_id);
CREATE TABLE hashed (parent_id bigint REFERENCES parent);
CREATE INDEX ON hashed USING hash (parent_id);
-- composite key led by the FK columns in another order: covered
CREATE TABLE pair (a int, b int, c int, PRIMARY KEY (b, a, c),
                   FOREIGN KEY (a, b) REFERENCES parent (a, b));
-- composite key only half covered
CREATE TABLE half (a int, b int, FOREIGN KEY (a, b) REFERENCES parent (a, b));
CREATE INDEX ON half (a);
-- an index left invalid by a failed CREATE INDEX CONCURRENTLY does not count
CREATE TABLE invalid (parent_id bigint REFERENCES parent, v int);
INSERT INTO parent VALUES (1, 1, 1);
INSERT INTO invalid VALUES (1, 7), (1, 7);
"""


def test_unindexed_foreign_key(pg_database: TestDatabase, tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute(FOREIGN_KEYS)
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("CREATE UNIQUE INDEX CONCURRENTLY invalid_idx ON invalid (parent_id)")
        assert conn.execute("SELECT indisvalid FROM pg_index"
                            " WHERE indexrelid = 'invalid_idx'::regclass").fetchone() == (False,)
    found = findings(pg_database, "unindexed-foreign-key")
    assert set(found) == {
        "public.bare.bare_Parent Id_fkey",
        "public.partial_only.partial_only_parent_id_fkey",
        "public.expression_only.expression_only_parent_id_fkey",
        "public.include_only.include_only_parent_id_fkey",
        "public.second_column.second_column_parent_id_fkey",
        "public.half.half_a_b_fkey",
        "public.invalid.invalid_parent_id_fkey",
    }
    assert found["public.bare.bare_Parent Id_fkey"].fix == (
        'CREATE INDEX CONCURRENTLY "bare_Parent Id_idx" ON "public"."bare" ("Parent Id");')
    assert found["public.half.half_a_b_fkey"].severity == "warning"
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "unindexed-foreign-key") == {}


PARTITIONED_FK = """
CREATE TABLE customer (id bigint PRIMARY KEY);
CREATE TABLE store (id bigint PRIMARY KEY);
CREATE TABLE sale (id bigint, at date, customer_id bigint REFERENCES customer,
                   store_id bigint, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE sale_2024 PARTITION OF sale FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE sale_2025 PARTITION OF sale FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
-- a key declared on one partition only is that partition's (as in Pagila's payment)
ALTER TABLE sale_2025 ADD FOREIGN KEY (store_id) REFERENCES store;
"""


def test_unindexed_foreign_key_on_partitions(pg_database: TestDatabase,
                                             tmp_path: Path) -> None:
    found = findings(pg_database, "unindexed-foreign-key", PARTITIONED_FK)
    # the parent's key once, on the parent; not again on each partition
    assert set(found) == {"public.sale.sale_customer_id_fkey",
                          "public.sale_2025.sale_2025_store_id_fkey"}
    fix = found["public.sale.sale_customer_id_fkey"].fix or ""
    assert fix.startswith('CREATE INDEX "sale_customer_id_idx" ON ONLY "public"."sale"')
    assert 'ATTACH PARTITION "public"."sale_2024_customer_id_idx"' in fix
    apply_fixes(pg_database, [found["public.sale.sale_customer_id_fkey"]], tmp_path)
    assert set(findings(pg_database, "unindexed-foreign-key")) == {
        "public.sale_2025.sale_2025_store_id_fkey"}


TIMESTAMPS = """
CREATE TABLE both_cols (id int PRIMARY KEY, created_at timestamptz, updated_at timestamptz);
CREATE TABLE neither (id int PRIMARY KEY);
CREATE TABLE only_created (id int PRIMARY KEY, created_at timestamptz);
CREATE TABLE ev (at date, created_at timestamptz, updated_at timestamptz)
    PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE bare_parent (at date) PARTITION BY RANGE (at);
CREATE TABLE bare_parent_2024 PARTITION OF bare_parent
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
"""


def test_missing_timestamps(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "missing-timestamps", TIMESTAMPS)
    # partitions have their parent's columns: only the parent is reported
    assert set(found) == {"public.neither", "public.only_created", "public.bare_parent"}
    assert found["public.only_created"].message == "table public.only_created lacks updated_at"
    assert found["public.neither"].message.endswith("lacks created_at and updated_at")
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "missing-timestamps") == {}


UPDATED_AT = """
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.updated_at := now(); RETURN NEW; END $$;
CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TABLE kept (id int, updated_at timestamptz);
CREATE TRIGGER kept_touch BEFORE INSERT OR UPDATE ON kept FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE no_trigger (id int, updated_at timestamptz);
CREATE TABLE after_only (id int, updated_at timestamptz);
CREATE TRIGGER after_touch AFTER UPDATE ON after_only FOR EACH ROW EXECUTE FUNCTION noop();
CREATE TABLE statement_only (id int, updated_at timestamptz);
CREATE TRIGGER st BEFORE UPDATE ON statement_only FOR EACH STATEMENT EXECUTE FUNCTION noop();
CREATE TABLE insert_only (id int, updated_at timestamptz);
CREATE TRIGGER ins BEFORE INSERT ON insert_only FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE disabled (id int, updated_at timestamptz);
CREATE TRIGGER off BEFORE UPDATE ON disabled FOR EACH ROW EXECUTE FUNCTION touch();
ALTER TABLE disabled DISABLE TRIGGER off;
CREATE TABLE no_column (id int);
CREATE TABLE ev (at date, updated_at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TRIGGER ev_touch BEFORE UPDATE ON ev FOR EACH ROW EXECUTE FUNCTION touch();
"""


def test_updated_at_not_maintained(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "updated-at-not-maintained", UPDATED_AT)
    assert set(found) == {"public.no_trigger", "public.after_only", "public.statement_only",
                          "public.insert_only", "public.disabled"}
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "updated-at-not-maintained") == {}
    with pg_database.connect() as conn:  # and the trigger the fix made does its job
        conn.execute("INSERT INTO no_trigger VALUES (1, '2000-01-01')")
        conn.execute("UPDATE no_trigger SET id = 2")
        row = conn.execute("SELECT updated_at > '2001-01-01' FROM no_trigger").fetchone()
    assert row == (True,)
