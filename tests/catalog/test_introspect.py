"""snapshot() on a purpose-built schema holding every object kind, on each server version."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pgkeel.catalog import Index, Snapshot, Table, read_snapshot, snapshot
from pgkeel.testing import TestCluster, TestDatabase

SCHEMA = """
CREATE EXTENSION pg_stat_statements;  -- brings views and functions of its own
CREATE EXTENSION citext;
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN app.positive AS integer NOT NULL DEFAULT 1 CONSTRAINT positive_check
    CHECK (VALUE > 0);
CREATE TABLE app.tenant (id integer PRIMARY KEY, name citext NOT NULL, mood app.mood);
CREATE TABLE app.customer (
    tenant_id integer NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    email text NOT NULL,
    balance numeric(10,2) DEFAULT 0 CONSTRAINT customer_balance_check CHECK (balance >= 0),
    email_lower text GENERATED ALWAYS AS (lower(email)) STORED,
    visits app.positive,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT customer_email_key UNIQUE NULLS NOT DISTINCT (email, tenant_id)
);
COMMENT ON TABLE app.customer IS 'people who buy';
COMMENT ON COLUMN app.customer.email IS 'login';
CREATE TABLE app.orders (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL,
    customer_id bigint NOT NULL,
    status text NOT NULL DEFAULT 'new',
    total numeric(10,2),
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT orders_customer_fkey FOREIGN KEY (tenant_id, customer_id)
        REFERENCES app.customer (tenant_id, id) ON DELETE CASCADE ON UPDATE RESTRICT
);
ALTER TABLE app.orders ADD CONSTRAINT orders_total_check CHECK (total > 0) NOT VALID;
CREATE INDEX orders_status_expr_idx ON app.orders (lower(status), created_at);
CREATE INDEX orders_open_idx ON app.orders (created_at) WHERE status = 'new';
CREATE INDEX orders_customer_idx ON app.orders (tenant_id, customer_id) INCLUDE (total);
CREATE TABLE app.events (
    id bigint NOT NULL,
    at timestamptz NOT NULL,
    tenant_id integer REFERENCES app.tenant (id),
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE app.events_2024 PARTITION OF app.events
    FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.event_notes (
    event_id bigint NOT NULL,
    event_at timestamptz NOT NULL,
    FOREIGN KEY (event_id, event_at) REFERENCES app.events (id, at)
);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS
    $$BEGIN NEW.created_at := now(); RETURN NEW; END$$;
CREATE TRIGGER orders_touch BEFORE INSERT OR UPDATE ON app.orders
    FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TRIGGER orders_audit AFTER DELETE ON app.orders
    FOR EACH STATEMENT EXECUTE FUNCTION app.touch();
ALTER TABLE app.orders DISABLE TRIGGER orders_audit;
ALTER TABLE app.customer ENABLE ROW LEVEL SECURITY;
ALTER TABLE app.customer FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON app.customer FOR SELECT TO PUBLIC
    USING (tenant_id = current_setting('app.tenant')::integer);
CREATE VIEW app.open_orders AS SELECT id, tenant_id FROM app.orders WHERE status = 'new';
CREATE MATERIALIZED VIEW app.order_counts AS
    SELECT tenant_id, count(*) AS n FROM app.orders GROUP BY tenant_id;
CREATE UNIQUE INDEX order_counts_tenant_idx ON app.order_counts (tenant_id);
CREATE SEQUENCE app.invoice_no AS integer;
CREATE FUNCTION app.secret() RETURNS integer LANGUAGE sql STABLE SECURITY DEFINER
    AS 'SELECT 1';
CREATE PROCEDURE app.archive(days integer) LANGUAGE sql AS 'SELECT 1';
CREATE TABLE app.dupes (v integer);
INSERT INTO app.dupes VALUES (1), (1);
-- Indexes whose definitions pg_get_indexdef spells out beyond names and columns.
CREATE TABLE app."Odd Names" (
    "CamelCol" integer, "order" text, "we""ird" varchar(20), code varchar(10),
    tags text[], fts tsvector, visits app.positive, amount numeric
);
CREATE INDEX "Odd_desc" ON app."Odd Names" ("CamelCol" DESC NULLS LAST, "order" NULLS FIRST);
CREATE INDEX odd_pattern ON app."Odd Names" ("order" text_pattern_ops);
CREATE INDEX odd_collate ON app."Odd Names" ("order" COLLATE "C");
CREATE INDEX odd_varchar ON app."Odd Names" (code, "we""ird") INCLUDE ("CamelCol");
CREATE INDEX odd_tags ON app."Odd Names" USING gin (tags);
CREATE INDEX odd_fill ON app."Odd Names" (amount) WITH (fillfactor = 70);
CREATE INDEX odd_hash ON app."Odd Names" USING hash (code);
CREATE INDEX odd_brin ON app."Odd Names" USING brin (amount);
CREATE INDEX odd_domain ON app."Odd Names" (visits);
CREATE INDEX odd_siglen ON app."Odd Names" USING gist (fts tsvector_ops (siglen = 100));
CREATE INDEX "select" ON app."Odd Names" ("CamelCol", amount);
"""

_INDEXDEFS = """
SELECT n.nspname || '.' || c.relname, ic.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'app'
"""


@pytest.fixture(scope="module")
def built(pg_cluster: TestCluster) -> Iterator[TestDatabase]:
    """One database per server version with every object kind, built once."""
    name = pg_cluster.create_database()
    db = TestDatabase(name, pg_cluster.url(name), pg_cluster)
    try:
        with db.connect() as conn:
            conn.execute(SCHEMA)
            # A unique index built CONCURRENTLY on duplicates fails and stays, invalid.
            with pytest.raises(Exception, match="could not create unique index"):
                conn.execute("CREATE UNIQUE INDEX CONCURRENTLY dupes_v_key ON app.dupes (v)")
        yield db
    finally:
        pg_cluster.drop_database(name)


@pytest.fixture(scope="module")
def snap(built: TestDatabase) -> Snapshot:
    return read_snapshot(built.url)


def _table(snap: Snapshot, name: str) -> Table:
    table = snap.table(name)
    assert table is not None, f"{name} missing from {[t.qualified for t in snap.tables]}"
    return table


def _index(table: Table, name: str) -> Index:
    return next(i for i in table.indexes if i.name == name)


def test_tables_partitions_and_scope(snap: Snapshot) -> None:
    assert [t.qualified for t in snap.tables] == [
        "app.Odd Names", "app.customer", "app.dupes", "app.event_notes", "app.events",
        "app.events_2024", "app.orders", "app.tenant",
    ]
    events, part = _table(snap, "app.events"), _table(snap, "app.events_2024")
    assert (events.kind, events.partition_of, events.partition_key) == (
        "partitioned", None, "RANGE (at)")
    assert (part.kind, part.partition_of) == ("table", "app.events")
    assert part.partition_bound is not None and "FOR VALUES FROM" in part.partition_bound
    assert [s.name for s in snap.schemas] == ["app", "public"]
    customer = _table(snap, "app.customer")
    assert customer.comment == "people who buy"
    assert (customer.rls_enabled, customer.rls_forced) == (True, True)
    assert customer.row_estimate == -1  # never analysed
    assert _table(snap, "app.orders").size_bytes > 0


def test_columns(snap: Snapshot) -> None:
    customer = _table(snap, "app.customer")
    assert [c.name for c in customer.columns] == [
        "tenant_id", "id", "email", "balance", "email_lower", "visits"]
    ident = customer.column("id")
    assert ident is not None and ident.identity == "always" and ident.default is None
    gen = customer.column("email_lower")
    assert gen is not None
    assert (gen.generated, gen.generated_kind, gen.default) == ("lower(email)", "stored", None)
    email = customer.column("email")
    assert email is not None and (email.nullable, email.comment) == (False, "login")
    balance = customer.column("balance")
    assert balance is not None
    assert (balance.type, balance.type_name, balance.default, balance.nullable) == (
        "numeric(10,2)", "numeric", "0", True)
    visits = customer.column("visits")  # a domain: its name, and the type beneath
    assert visits is not None and (visits.type, visits.type_name) == ("app.positive", "int4")
    created = _table(snap, "app.orders").column("created_at")
    assert created is not None
    assert (created.type, created.type_name, created.default) == (
        "timestamp with time zone", "timestamptz", "now()")
    name = _table(snap, "app.tenant").column("name")
    assert name is not None and name.type_name == "citext"


def test_constraints(snap: Snapshot) -> None:
    customer = _table(snap, "app.customer")
    assert customer.primary_key is not None
    assert customer.primary_key.columns == ("tenant_id", "id")
    (unique,) = customer.unique_constraints
    assert (unique.name, unique.columns, unique.nulls_not_distinct) == (
        "customer_email_key", ("email", "tenant_id"), True)
    assert [(c.name, c.expression, c.validated) for c in customer.check_constraints] == [
        ("customer_balance_check", "(balance >= (0)::numeric)", True)]
    orders = _table(snap, "app.orders")
    assert [(c.name, c.validated) for c in orders.check_constraints] == [
        ("orders_total_check", False)]
    (fk,) = orders.foreign_keys
    assert (fk.name, fk.columns, fk.ref_qualified, fk.ref_columns) == (
        "orders_customer_fkey", ("tenant_id", "customer_id"), "app.customer",
        ("tenant_id", "id"))
    assert (fk.on_delete, fk.on_update, fk.validated) == ("CASCADE", "RESTRICT", True)
    # A FK to a partitioned table is one constraint, not one per referenced partition.
    (to_events,) = _table(snap, "app.event_notes").foreign_keys
    assert (to_events.ref_table, to_events.ref_columns) == ("events", ("id", "at"))
    # A partitioned table's FK is cloned onto its partitions, which really have it.
    for name in ("app.events", "app.events_2024"):
        (fk,) = _table(snap, name).foreign_keys
        assert (fk.columns, fk.ref_qualified) == (("tenant_id",), "app.tenant")


def test_indexes(snap: Snapshot) -> None:
    orders = _table(snap, "app.orders")
    expr = _index(orders, "orders_status_expr_idx")
    assert (expr.columns, expr.expressions) == ((None, "created_at"), ("lower(status)",))
    partial = _index(orders, "orders_open_idx")
    assert (partial.columns, partial.predicate) == (("created_at",), "status = 'new'::text")
    covering = _index(orders, "orders_customer_idx")
    assert (covering.columns, covering.include) == (("tenant_id", "customer_id"), ("total",))
    pkey = _index(orders, "orders_pkey")
    assert (pkey.primary, pkey.unique, pkey.constraint, pkey.method) == (
        True, True, "orders_pkey", "btree")
    assert pkey.definition.startswith("CREATE UNIQUE INDEX orders_pkey ON app.orders")
    assert all(i.valid and i.size_bytes > 0 for i in orders.indexes)
    invalid = _index(_table(snap, "app.dupes"), "dupes_v_key")
    assert (invalid.valid, invalid.unique) == (False, True)
    nnd = _index(_table(snap, "app.customer"), "customer_email_key")
    assert (nnd.nulls_not_distinct, nnd.constraint) == (True, "customer_email_key")
    assert _index(_table(snap, "app.events"), "events_pkey").size_bytes == 0
    assert _index(_table(snap, "app.events_2024"), "events_2024_pkey").valid


@pytest.mark.parametrize("quote_all", ["off", "on"])
def test_index_definitions_are_pg_get_indexdef(built: TestDatabase, quote_all: str) -> None:
    with built.connect() as conn:
        conn.execute("SELECT set_config('quote_all_identifiers', %s, false)", [quote_all])
        snap = snapshot(conn)
        expected = {(table, name): text for table, name, text in conn.execute(_INDEXDEFS)}
    shown = {(r.qualified, i.name): i.definition
             for r in (*snap.tables, *snap.views) for i in r.indexes}
    assert len(expected) == 22
    assert shown == expected


def test_triggers_and_policies(snap: Snapshot) -> None:
    orders = _table(snap, "app.orders")
    assert [(t.name, t.function, t.timing, t.events, t.level, t.enabled)
            for t in orders.triggers] == [
        ("orders_audit", "app.touch", "AFTER", ("DELETE",), "STATEMENT", False),
        ("orders_touch", "app.touch", "BEFORE", ("INSERT", "UPDATE"), "ROW", True),
    ]
    # The internal triggers that enforce FKs are not user triggers.
    assert _table(snap, "app.customer").triggers == ()
    (policy,) = _table(snap, "app.customer").policies
    assert (policy.name, policy.command, policy.permissive, policy.roles,
            policy.with_check) == ("tenant_isolation", "SELECT", True, ("public",), None)
    assert policy.using is not None and "current_setting('app.tenant'" in policy.using


def test_views_sequences_functions_types(snap: Snapshot) -> None:
    assert [(v.qualified, v.materialized) for v in snap.views] == [
        ("app.open_orders", False), ("app.order_counts", True)]
    counts = snap.views[1]
    assert [c.name for c in counts.columns] == ["tenant_id", "n"]
    assert [i.name for i in counts.indexes] == ["order_counts_tenant_idx"]
    assert "status = 'new'::text" in snap.views[0].definition
    assert [(s.qualified, s.data_type, s.owned_by) for s in snap.sequences] == [
        ("app.customer_id_seq", "bigint", "app.customer.id"),
        ("app.invoice_no", "integer", None),
        ("app.orders_id_seq", "bigint", "app.orders.id"),
    ]
    assert [(f.qualified, f.kind, f.language, f.security_definer, f.volatility, f.returns)
            for f in snap.functions] == [
        ("app.archive(IN days integer)", "procedure", "sql", False, "volatile", ""),
        ("app.secret()", "function", "sql", True, "stable", "integer"),
        ("app.touch()", "function", "plpgsql", False, "volatile", "trigger"),
    ]
    assert [(e.qualified, e.labels) for e in snap.enums] == [
        ("app.mood", ("sad", "ok", "happy"))]
    (domain,) = snap.domains
    assert (domain.qualified, domain.base_type, domain.nullable, domain.default) == (
        "app.positive", "integer", False, "1")
    assert [(c.name, c.expression) for c in domain.checks] == [("positive_check", "(VALUE > 0)")]


def test_extension_members_are_left_out(snap: Snapshot) -> None:
    assert {(e.name, e.schema) for e in snap.extensions} == {
        ("citext", "public"), ("pg_stat_statements", "public"), ("plpgsql", "pg_catalog")}
    # pg_stat_statements' views and functions, citext's functions, live in public.
    assert not [v for v in snap.views if v.schema == "public"]
    assert not [f for f in snap.functions if f.schema == "public"]


_SIZES = """
SELECT n.nspname || '.' || c.relname, pg_total_relation_size(c.oid),
       (c.relpages + COALESCE(t.relpages, 0) + COALESCE((
           SELECT sum(x.relpages) FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
           WHERE i.indrelid IN (c.oid, c.reltoastrelid)), 0))
       * current_setting('block_size')::int
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
"""


def test_sizes_estimated_by_default_exact_on_request(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("""
            CREATE TABLE note (id int PRIMARY KEY, body text);
            CREATE INDEX note_body_idx ON note (body);
            INSERT INTO note SELECT g, repeat('x', 3000) || g FROM generate_series(1, 300) g;
            CREATE TABLE log (at date NOT NULL) PARTITION BY RANGE (at);
            CREATE TABLE log_2024 PARTITION OF log FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        """)
        conn.execute("VACUUM ANALYZE note")
        estimated, exact = snapshot(conn), snapshot(conn, exact_sizes=True)
        sizes = {name: (total, pages) for name, total, pages in conn.execute(_SIZES)}
    assert (estimated.exact_sizes, exact.exact_sizes) == (False, True)
    assert {t.qualified: t.size_bytes for t in exact.tables} == {
        name: total for name, (total, _pages) in sizes.items()}
    assert {t.qualified: t.size_bytes for t in estimated.tables} == {
        name: pages for name, (_total, pages) in sizes.items()}
    note = _table(exact, "note")
    assert note.row_estimate == 300 and note.size_bytes > 100_000  # TOAST and indexes count
    assert _table(estimated, "note").size_bytes > 100_000
    assert _table(exact, "log").size_bytes == _table(estimated, "log").size_bytes == 0


def test_snapshot_inside_the_callers_transaction(pg_database: TestDatabase) -> None:
    with pg_database.connect(autocommit=False) as conn:
        conn.execute("CREATE TABLE uncommitted (id int PRIMARY KEY)")
        snap = snapshot(conn)  # a savepoint in the open transaction: it sees the table
        assert _table(snap, "uncommitted").primary_key is not None
        conn.rollback()
        assert snapshot(conn).table("uncommitted") is None  # its own transaction
        assert conn.info.transaction_status == 0  # and it left none open (IDLE)


def test_snapshots_compare_equal_and_survive_json(built: TestDatabase, snap: Snapshot) -> None:
    with built.connect() as conn:
        again = snapshot(conn)
    assert again == snap
    assert Snapshot.from_dict(json.loads(json.dumps(snap.to_dict()))) == snap


@pytest.mark.pg(">= 18")
def test_postgres_18_virtual_columns_and_not_enforced(pg_database: TestDatabase) -> None:
    with pg_database.connect() as conn:
        conn.execute("""
            CREATE TABLE parent (id integer PRIMARY KEY);
            CREATE TABLE child (
                id integer PRIMARY KEY,
                parent_id integer REFERENCES parent NOT ENFORCED,
                twice integer GENERATED ALWAYS AS (id * 2) VIRTUAL,
                CONSTRAINT small CHECK (id < 10) NOT ENFORCED
            );
        """)
        snap = snapshot(conn)
    child = _table(snap, "child")
    twice = child.column("twice")
    assert twice is not None and (twice.generated_kind, twice.generated) == (
        "virtual", "(id * 2)")
    assert [(c.name, c.enforced) for c in child.check_constraints] == [("small", False)]
    assert [fk.enforced for fk in child.foreign_keys] == [False]
