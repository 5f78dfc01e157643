"""missing-primary-key, unindexed-foreign-key, missing-timestamps, updated-at-not-maintained.

Each test builds true and false cases side by side in one real database and asserts
the exact set of objects found; fix tests apply the suggested SQL with psql and check
that the finding is gone.
"""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from rule_helpers import apply_fixes, findings, prove_fixes

from pgkeel.lint.rules._catalog import SET_UPDATED_AT, index_name
from pgkeel.report import render_sarif
from pgkeel.testing import TestDatabase


@contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail, instead of hanging, when the block runs longer than ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

PRIMARY_KEYS = """
CREATE TABLE has_pk (id bigint PRIMARY KEY);
CREATE TABLE no_pk (a int, b int);
CREATE TABLE unique_only (code text NOT NULL, note text);
CREATE UNIQUE INDEX unique_only_code_key ON unique_only (code);
-- a partitioned table with a key: its partitions inherit it
CREATE TABLE ev (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
-- a partitioned table without one: the parent is reported, not the partition
CREATE TABLE log (msg text, at date) PARTITION BY RANGE (at);
CREATE TABLE log_2024 PARTITION OF log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO log VALUES ('a', '2024-05-01');
"""


def test_missing_primary_key(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = findings(pg_database, "missing-primary-key", PRIMARY_KEYS)
    assert set(found) == {"public.no_pk", "public.unique_only", "public.log"}
    assert found["public.no_pk"].severity == "error"
    # the unique index on a NOT NULL column becomes the key without a table scan
    assert found["public.unique_only"].fix == (
        'ALTER TABLE "public"."unique_only" ADD CONSTRAINT "unique_only_pkey" '
        'PRIMARY KEY USING INDEX "unique_only_code_key";')
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "missing-primary-key") == {}


KEYLESS_PARENTS = """
CREATE TABLE with_id (id bigint, at date, msg text) PARTITION BY RANGE (at);
CREATE TABLE with_id_2024 PARTITION OF with_id FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE nested (at date, region text) PARTITION BY LIST (region);
CREATE TABLE nested_eu PARTITION OF nested FOR VALUES IN ('eu') PARTITION BY RANGE (at);
CREATE TABLE nested_eu_2024 PARTITION OF nested_eu
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE by_expression (name text) PARTITION BY LIST ((lower(name)));
CREATE TABLE by_expression_a PARTITION OF by_expression FOR VALUES IN ('a');
INSERT INTO with_id VALUES (1, '2024-05-01', 'a');
INSERT INTO nested VALUES ('2024-05-01', 'eu');
"""


def test_missing_primary_key_partition_of_keyless_parent(pg_database: TestDatabase,
                                                         tmp_path: Path) -> None:
    # A partition cannot get a column of its own ("cannot add column to a
    # partition"): the key is the parent's to add, and it must hold the partition key.
    found = findings(pg_database, "missing-primary-key", KEYLESS_PARENTS)
    assert set(found) == {"public.with_id", "public.nested", "public.by_expression"}
    assert found["public.with_id"].message == (
        "partitioned table public.with_id has no primary key")
    assert found["public.with_id"].fix == (
        'ALTER TABLE "public"."with_id" ADD CONSTRAINT "with_id_pkey" PRIMARY KEY ("id", "at");'
        " -- a primary key of a partitioned table must include the partition key (at); scans "
        "every partition under ACCESS EXCLUSIVE; fails on NULL or duplicate keys")
    assert "must include the partition key (region, at)" in (found["public.nested"].fix or "")
    expression = found.pop("public.by_expression")
    assert expression.fix is None
    assert "; no fix: public.by_expression is partitioned by an expression" in (
        expression.message)
    apply_fixes(pg_database, found.values(), tmp_path)
    assert set(findings(pg_database, "missing-primary-key")) == {"public.by_expression"}


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
        'public.bare."bare_Parent Id_fkey"',
        "public.partial_only.partial_only_parent_id_fkey",
        "public.expression_only.expression_only_parent_id_fkey",
        "public.include_only.include_only_parent_id_fkey",
        "public.second_column.second_column_parent_id_fkey",
        "public.half.half_a_b_fkey",
        "public.invalid.invalid_parent_id_fkey",
    }
    assert found['public.bare."bare_Parent Id_fkey"'].fix == (
        'CREATE INDEX CONCURRENTLY "bare_Parent Id_idx" ON "public"."bare" ("Parent Id");')
    assert found["public.half.half_a_b_fkey"].severity == "warning"
    # the invalid index is rebuilt, not doubled; being unique, once the duplicate is gone
    invalid = found["public.invalid.invalid_parent_id_fkey"]
    assert "invalid_idx, is INVALID" in invalid.message
    assert (invalid.fix or "").startswith(
        'REINDEX INDEX CONCURRENTLY "public"."invalid_idx"; -- a unique index')
    with pg_database.connect() as conn:
        conn.execute("DELETE FROM invalid WHERE ctid = (SELECT min(ctid) FROM invalid)")
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "unindexed-foreign-key") == {}
    with pg_database.connect() as conn:
        row = conn.execute("SELECT count(*) FROM pg_index"
                           " WHERE indrelid = 'invalid'::regclass").fetchone()
    assert row == (1,)


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
    assert found["public.only_created"].message == (
        "table public.only_created does not record when its rows change: it has created_at "
        "timestamp with time zone, but no trigger sets any of them on UPDATE")
    assert found["public.neither"].message.endswith("it has no date/time column")
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


_CREATED_INDEX = re.compile(r'^CREATE INDEX (?:CONCURRENTLY )?"((?:[^"]|"")*)" ON ', re.M)


def _postgres_picks(db: TestDatabase, table: str, columns: str) -> str:
    """The name PostgreSQL gives ``CREATE INDEX ON table (columns)`` (rolled back)."""
    query = ("SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
             " WHERE i.indrelid = %s::regclass")
    with db.connect(autocommit=False) as conn:
        before = {r[0] for r in conn.execute(query, (table,))}
        conn.execute(f"CREATE INDEX ON {table} ({columns})")
        (name,) = {r[0] for r in conn.execute(query, (table,))} - before
        conn.rollback()
    return str(name)


LONG_NAMES = """
CREATE TABLE users (id int PRIMARY KEY);
CREATE TABLE a_really_long_table_name_that_goes_on_and_on_and_on_forever_xx (
  id int PRIMARY KEY, user_id_one int REFERENCES users (id),
  user_id_two int REFERENCES users (id));
-- multibyte: the cut must fall between characters
CREATE TABLE "überlange_tabelle_mit_umlauten_äöü_und_noch_mehr_äöü" (
  id int PRIMARY KEY, "größe_ü" int REFERENCES users (id));
-- the name PostgreSQL (and pgkeel) would pick is taken by an unrelated index
CREATE TABLE taken (id int PRIMARY KEY, user_id int REFERENCES users (id), note text);
CREATE INDEX taken_user_id_idx ON taken (note);
CREATE INDEX taken_user_id_idx1 ON taken (note, id);
"""


def test_unindexed_foreign_key_long_table_name(pg_database: TestDatabase,
                                               tmp_path: Path) -> None:
    # Regression: the index name was cut from the end, losing the idx1, idx2 suffix,
    # and choosing a free name looped forever.
    with _deadline(60):
        found = findings(pg_database, "unindexed-foreign-key", LONG_NAMES)
    long = "a_really_long_table_name_that_goes_on_and_on_and_on_forever_xx"
    names: dict[str, str] = {}
    for finding in found.values():
        (name,) = _CREATED_INDEX.findall(finding.fix or "")
        assert len(name.encode()) <= 63
        names[finding.object or ""] = name
    # each is the name PostgreSQL itself picks for CREATE INDEX ON t (column)
    with pg_database.connect() as conn:
        keys = conn.execute("""
            SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) || '.'
                   || quote_ident(k.conname), quote_ident(c.relname), quote_ident(a.attname)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
            WHERE k.contype = 'f'""").fetchall()
    assert {str(k[0]) for k in keys} == set(found)
    picked = {str(obj): _postgres_picks(pg_database, str(table), str(column))
              for obj, table, column in keys}
    # two keys of one long-named table: two names, each with its column and suffix
    long_names = sorted(n for o, n in names.items() if long in o)
    assert long_names == [f"{long[:47]}_user_id_one_idx", f"{long[:47]}_user_id_two_idx"]
    assert names["public.taken.taken_user_id_fkey"] == "taken_user_id_idx2"
    assert names == picked
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "unindexed-foreign-key") == {}


@pytest.mark.parametrize(
    ("table", "columns", "taken", "expected"),
    [
        ("t", ("a",), set(), "t_a_idx"),
        ("t", ("a", "b"), {"t_a_b_idx"}, "t_a_b_idx1"),
        ("t", ("a",), {"t_a_idx", "t_a_idx1"}, "t_a_idx2"),
        ("x" * 62, ("user_id",), set(), "x" * 51 + "_user_id_idx"),
        ("x" * 62, ("user_id",), {"x" * 51 + "_user_id_idx"}, "x" * 50 + "_user_id_idx1"),
        # both parts long: the longer is cut first, then both evenly
        ("t" * 40, ("c" * 40,), set(), "t" * 29 + "_" + "c" * 29 + "_idx"),
        # a two-byte character is never split
        ("ü" * 40, ("c",), set(), "ü" * 28 + "_c_idx"),
    ],
)
def test_unindexed_foreign_key_index_name(table: str, columns: tuple[str, ...],
                                          taken: set[str], expected: str) -> None:
    name = index_name(table, columns, taken)
    assert name == expected
    assert len(name.encode()) <= 63


def test_unindexed_foreign_key_index_name_always_ends() -> None:
    # however many candidates are taken, a free one is found, suffix intact
    taken: set[str] = set()
    for _ in range(300):
        taken.add(index_name("y" * 63, ("z" * 63,), taken))
    assert len(taken) == 300
    assert all(len(n.encode()) <= 63 and "_idx" in n for n in taken)


def test_unindexed_foreign_key_invalid_index_rebuilt(pg_database: TestDatabase,
                                                     tmp_path: Path) -> None:
    with pg_database.connect() as conn:
        conn.execute("""
            CREATE TABLE parent (id bigint PRIMARY KEY);
            CREATE TABLE child (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent);
            CREATE TABLE sale (id bigint, at date, parent_id bigint REFERENCES parent,
                               PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
            CREATE TABLE sale_2024 PARTITION OF sale
                FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
            -- ON ONLY, never attached: the partitioned index stays invalid
            CREATE INDEX sale_parent_idx ON ONLY sale (parent_id);
        """)
        # a CREATE INDEX CONCURRENTLY cancelled while it waits for a writer
        with pg_database.connect(autocommit=False) as writer:
            writer.execute("INSERT INTO parent VALUES (1)")
            writer.execute("INSERT INTO child VALUES (1, 1)")
            conn.execute("SET statement_timeout = '300ms'")
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("CREATE INDEX CONCURRENTLY child_parent_idx ON child (parent_id)")
            writer.rollback()
    found = findings(pg_database, "unindexed-foreign-key")
    assert set(found) == {"public.child.child_parent_id_fkey",
                          "public.sale.sale_parent_id_fkey"}
    child = found["public.child.child_parent_id_fkey"]
    assert "its only matching index, child_parent_idx, is INVALID" in child.message
    assert child.fix == 'REINDEX INDEX CONCURRENTLY "public"."child_parent_idx";'
    sale = (found["public.sale.sale_parent_id_fkey"].fix or "").splitlines()
    assert sale[0].startswith('DROP INDEX "public"."sale_parent_idx";')
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "unindexed-foreign-key") == {}
    with pg_database.connect() as conn:  # rebuilt in place: still one index on child
        rows = conn.execute("SELECT indexrelid::regclass::text, indisvalid FROM pg_index"
                            " WHERE indrelid = 'child'::regclass ORDER BY 1").fetchall()
    assert rows == [("child_parent_idx", True), ("child_pkey", True)]


@pytest.mark.pg(">= 18")
def test_unindexed_foreign_key_not_enforced(pg_database: TestDatabase) -> None:
    # Nothing checks a NOT ENFORCED key, so nothing scans the child for it.
    found = findings(pg_database, "unindexed-foreign-key", """
        CREATE TABLE parent (id bigint PRIMARY KEY);
        CREATE TABLE loose (parent_id bigint REFERENCES parent NOT ENFORCED);
        CREATE TABLE strict (parent_id bigint REFERENCES parent);
    """)
    assert set(found) == {"public.strict.strict_parent_id_fkey"}


@pytest.mark.pg(">= 18")
def test_unindexed_foreign_key_temporal(pg_database: TestDatabase, tmp_path: Path) -> None:
    # A temporal key's checks match the scalar columns and overlap the periods (&&):
    # reported like any key, and the fix builds a GiST index.
    found = findings(pg_database, "unindexed-foreign-key", """
        CREATE EXTENSION btree_gist;
        CREATE TABLE room (id int, valid daterange,
                           PRIMARY KEY (id, valid WITHOUT OVERLAPS));
        CREATE TABLE booking (id int PRIMARY KEY, room_id int, valid daterange,
                              FOREIGN KEY (room_id, PERIOD valid)
                                  REFERENCES room (id, PERIOD valid));
        CREATE TABLE covered (id int PRIMARY KEY, room_id int, valid daterange,
                              FOREIGN KEY (room_id, PERIOD valid)
                                  REFERENCES room (id, PERIOD valid));
        CREATE INDEX ON covered (room_id, valid);
    """)
    assert set(found) == {"public.booking.booking_room_id_valid_fkey"}
    finding = found["public.booking.booking_room_id_valid_fkey"]
    assert finding.message.startswith("temporal foreign key booking_room_id_valid_fkey")
    assert finding.fix == ('CREATE INDEX CONCURRENTLY "booking_room_id_valid_idx" ON '
                           '"public"."booking" USING gist ("room_id", "valid");')
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "unindexed-foreign-key") == {}


QUOTED_NAMES = """
CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Bestellung ü" (id int PRIMARY KEY);
CREATE TABLE "weird""name" (id int PRIMARY KEY, a int, b int,
    CONSTRAINT "weird""name_a.b_fkey" FOREIGN KEY (a) REFERENCES "Mixed Case"."Bestellung ü");
CREATE TABLE "user" (id int PRIMARY KEY, "Mixed Case_id" int
    REFERENCES "Mixed Case"."Bestellung ü");
CREATE TABLE "[bold]x[/x]" (id int PRIMARY KEY, ref int REFERENCES "user");
"""


def test_unindexed_foreign_key_object_names(pg_database: TestDatabase) -> None:
    # Each part of an object's name is quoted as quote_ident() would, only when needed.
    found = findings(pg_database, "unindexed-foreign-key", QUOTED_NAMES)
    with pg_database.connect() as conn:
        expected = {str(r[0]) for r in conn.execute("""
            SELECT format('%I.%I.%I', n.nspname, c.relname, k.conname)
            FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f'""")}
    assert set(found) == expected == {
        'public."weird""name"."weird""name_a.b_fkey"',
        'public."user"."user_Mixed Case_id_fkey"',
        'public."[bold]x[/x]"."[bold]x[/x]_ref_fkey"',
    }
    weird = found['public."weird""name"."weird""name_a.b_fkey"']
    assert weird.message.startswith(
        'foreign key "weird""name_a.b_fkey" on public."weird""name"(a) has no usable index')
    assert '"Mixed Case"."Bestellung ü"' in weird.message
    # SARIF: the full name is the quoted one, the name the identifier itself
    log = render_sarif.document([weird], [], tool_version="0")
    (where,) = log["runs"][0]["results"][0]["locations"][0]["logicalLocations"]
    assert where["fullyQualifiedName"] == 'public."weird""name"."weird""name_a.b_fkey"'
    assert where["name"] == 'weird"name_a.b_fkey'
    with pg_database.connect() as conn:
        conn.execute('CREATE TABLE "Mixed Case".plain (id int PRIMARY KEY)')
    assert set(findings(pg_database, "missing-timestamps")) >= {
        '"Mixed Case"."Bestellung ü"', '"Mixed Case".plain', 'public."user"'}


INHERITANCE = """
CREATE TABLE vehicle (id int PRIMARY KEY, name text);
CREATE TABLE car (doors int) INHERITS (vehicle);
CREATE TABLE truck (load int, created_at timestamptz NOT NULL DEFAULT now()) INHERITS (vehicle);
INSERT INTO car VALUES (1, 'a', 4);
"""


def test_missing_timestamps_inherited_columns(pg_database: TestDatabase,
                                              tmp_path: Path) -> None:
    # ALTER TABLE vehicle ADD COLUMN also adds the column to car and truck: their own
    # fixes, run after it in the same script, must not fail on "already exists".
    found = findings(pg_database, "missing-timestamps", INHERITANCE)
    assert set(found) == {"public.vehicle", "public.car", "public.truck"}
    assert "ADD COLUMN IF NOT EXISTS" in (found["public.car"].fix or "")
    apply_fixes(pg_database, [found.pop("public.vehicle")], tmp_path)  # the parent first
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "missing-timestamps") == {}
    # each table got its own trigger (row triggers are not inherited)
    assert findings(pg_database, "updated-at-not-maintained") == {}
    with pg_database.connect() as conn:
        conn.execute("UPDATE vehicle SET name = 'b'")  # reaches car's row
        row = conn.execute("SELECT updated_at > created_at FROM car").fetchone()
    assert row == (True,)


USER_FUNCTION = """
CREATE SCHEMA "App Data";
-- the user's own function of the name the fix used to replace
CREATE FUNCTION "App Data".set_updated_at() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.note := 'mine'; RETURN NEW; END $$;
CREATE TABLE "App Data".doc (id int PRIMARY KEY, note text, updated_at timestamptz);
-- a trigger already holds the name pgkeel's trigger would take
CREATE FUNCTION "App Data".noop() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER pgkeel_set_updated_at AFTER UPDATE ON "App Data".doc
    FOR EACH ROW EXECUTE FUNCTION "App Data".noop();
INSERT INTO "App Data".doc VALUES (1, 'x', '2000-01-01');
"""


def test_updated_at_not_maintained_keeps_user_function(pg_database: TestDatabase,
                                                       tmp_path: Path) -> None:
    found = findings(pg_database, "updated-at-not-maintained", USER_FUNCTION)
    assert set(found) == {'"App Data".doc'}
    fix = found['"App Data".doc'].fix or ""
    assert fix.startswith(
        f'CREATE OR REPLACE FUNCTION "App Data"."{SET_UPDATED_AT}"() RETURNS trigger')
    assert f'CREATE TRIGGER "{SET_UPDATED_AT}_1" BEFORE UPDATE ON "App Data"."doc"' in fix
    with pg_database.connect() as conn:
        source = "SELECT prosrc FROM pg_proc WHERE oid = '\"App Data\".set_updated_at'::regproc"
        before = conn.execute(source).fetchone()
    apply_fixes(pg_database, found.values(), tmp_path)
    assert findings(pg_database, "updated-at-not-maintained") == {}
    with pg_database.connect() as conn:
        assert conn.execute(source).fetchone() == before  # untouched
        conn.execute('UPDATE "App Data".doc SET id = 2')
        row = conn.execute('SELECT note, updated_at > \'2001-01-01\' FROM "App Data".doc'
                           ).fetchone()
    assert row == ("x", True)


def test_unindexed_foreign_key_fix_is_proved(pg_database: TestDatabase, tmp_path: Path) -> None:
    found = prove_fixes(pg_database, "unindexed-foreign-key", """
        CREATE TABLE customer (id int PRIMARY KEY);
        CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customer);
        INSERT INTO customer SELECT g FROM generate_series(1, 20) g;
        INSERT INTO orders SELECT g, 1 + g % 20 FROM generate_series(1, 50) g;
    """, tmp_path)
    assert set(found) == {"public.orders.orders_customer_id_fkey"}
