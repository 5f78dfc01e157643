"""Pagila through the evidence-based rules: the false alarms of issue #7 are gone.

Pagila keeps ``last_update`` current with a BEFORE UPDATE trigger (``last_updated()``
sets ``NEW.last_update = CURRENT_TIMESTAMP``) on every table but ``payment``; its
money is ``numeric``, its times ``timestamptz``, every table has a key and none has a
tenant column.
"""

from __future__ import annotations

from pathlib import Path

from evidence_helpers import run_script

from pgkeel.lint import lint_database
from pgkeel.testing import TestDatabase

RULES = ("missing-timestamps", "updated-at-not-maintained", "float-for-money",
         "timestamp-without-time-zone", "rls-disabled-tenant-table", "missing-primary-key")


def test_pagila_judged_on_evidence(pagila: TestDatabase, tmp_path: Path) -> None:
    with pagila.connect() as conn:
        snap, found = lint_database(conn, select=RULES)
    stamped = {t.name for t in snap.tables if t.column("last_update") is not None}
    assert {"actor", "film", "film_actor", "rental", "customer"} <= stamped
    # only payment, which has no last_update and no trigger, lacks a change stamp
    assert {(f.rule, f.object) for f in found} == {("missing-timestamps", "public.payment")}
    (payment,) = found
    assert payment.message == (
        "table public.payment does not record when its rows change: it has payment_date "
        "timestamp with time zone, but no trigger sets any of them on UPDATE")
    # its fix runs on the partitioned table and its partitions; a re-check is clean
    run_script(pagila, payment.fix or "", tmp_path)
    with pagila.connect() as conn:
        assert lint_database(conn, select=RULES)[1] == ()
        assert conn.execute("SELECT count(*) FROM payment WHERE updated_at IS NULL"
                            ).fetchone() == (0,)
