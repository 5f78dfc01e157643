"""The fix script of ``check --fix-sql``: statements by the parser, one transaction, then
what PostgreSQL refuses inside one; helpers once; it runs with psql ON_ERROR_STOP."""

from __future__ import annotations

import pytest
from pglast import parse_sql

from pgkeel.report.findings import Finding, Severity
from pgkeel.report.fix_script import fix_sql, plan_fixes, statements

FUNCTION = ("CREATE OR REPLACE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN NEW.changed := now(); RETURN NEW; END $$;")


def _finding(obj: str, fix: str, down: str | None = None, rule: str = "r-x",
             severity: Severity = Severity.WARNING) -> Finding:
    return Finding(rule, severity, f"message about {obj}", object=obj, fix=fix, fix_down=down)


def test_statements_keep_their_comments_and_semicolons() -> None:
    found = statements("-- before\nSELECT ';' AS a; -- after a\n"
                       "SELECT $$x;y$$ /* c */\n-- trailing")
    assert [s.sql for s in found] == [
        "-- before\nSELECT ';' AS a; -- after a",
        "SELECT $$x;y$$; /* c */\n-- trailing"]
    assert [s.key for s in found] == ["SELECT ';' AS a", "SELECT $$x;y$$"]
    assert [s.non_transactional for s in found] == [None, None]


def test_statements_refuse_transaction_control_and_bad_sql() -> None:
    with pytest.raises(ValueError, match="controls the transaction"):
        statements("BEGIN; SELECT 1; COMMIT;")
    with pytest.raises(ValueError, match="does not parse"):
        statements("SELEC 1;")


def test_script_order_one_transaction_then_concurrent_and_helpers_once() -> None:
    index = _finding("public.a.a_fk", 'CREATE INDEX CONCURRENTLY "a_idx" ON "public"."a" ("x");',
                     'DROP INDEX CONCURRENTLY IF EXISTS "public"."a_idx";')
    first = _finding("public.t", FUNCTION + "\nCREATE TRIGGER s BEFORE UPDATE ON public.t "
                     "FOR EACH ROW EXECUTE FUNCTION public.stamp();",
                     "DROP TRIGGER s ON public.t;\nDROP FUNCTION public.stamp();")
    second = _finding("public.u", FUNCTION + "\nCREATE TRIGGER s BEFORE UPDATE ON public.u "
                      "FOR EACH ROW EXECUTE FUNCTION public.stamp();",
                      "DROP TRIGGER s ON public.u;\nDROP FUNCTION public.stamp();")
    error = _finding("public.v", "ALTER TABLE public.v ENABLE ROW LEVEL SECURITY;",
                     severity=Severity.ERROR, rule="r-y")
    script = fix_sql([index, second, first, error])
    lines = script.splitlines()
    begin, commit = lines.index("BEGIN;"), lines.index("COMMIT;")
    assert begin < commit < lines.index('CREATE INDEX CONCURRENTLY "a_idx" ON "public"."a" ("x");')
    # worst first, then by object: the error's fix leads the transaction
    assert lines[begin + 1:begin + 3] == ["-- public.v (r-y)",
                                          "ALTER TABLE public.v ENABLE ROW LEVEL SECURITY;"]
    assert sum(ln.startswith("CREATE OR REPLACE FUNCTION") for ln in lines) == 1
    assert "-- (run once for all fixes: CREATE OR REPLACE FUNCTION" in script
    assert "-- public.a.a_fk (r-x): CREATE INDEX CONCURRENTLY cannot run inside a " \
           "transaction block" in script
    parse_sql(script)  # one parse: the whole script is SQL and comments
    plan = plan_fixes([index, second, first, error])
    assert plan.irreversible == (error,)
    # undo: newest first, a shared helper dropped once, after every trigger using it
    downs = [s.sql for _f, steps in plan.down_inside for s in steps]
    assert downs == ["DROP TRIGGER s ON public.u;",
                     "-- (run once for all fixes: DROP FUNCTION public.stamp())",
                     "DROP TRIGGER s ON public.t;", "DROP FUNCTION public.stamp();"]


def test_a_fix_after_a_concurrent_build_stays_after_it() -> None:
    # A partitioned table: the parent's index in the transaction, then the partition's
    # concurrent build and the ATTACH that needs it, in that order, outside.
    fix = ('CREATE INDEX "p_idx" ON ONLY "public"."p" ("x");\n'
           'CREATE INDEX CONCURRENTLY "p1_idx" ON "public"."p1" ("x");\n'
           'ALTER INDEX "public"."p_idx" ATTACH PARTITION "public"."p1_idx";')
    plan = plan_fixes([_finding("public.p.fk", fix, 'DROP INDEX IF EXISTS "public"."p_idx";')])
    assert [s.key for _f, steps in plan.inside for s in steps] == [
        'CREATE INDEX "p_idx" ON ONLY "public"."p" ("x")']
    assert [s.key for _f, steps in plan.outside for s in steps] == [
        'CREATE INDEX CONCURRENTLY "p1_idx" ON "public"."p1" ("x")',
        'ALTER INDEX "public"."p_idx" ATTACH PARTITION "public"."p1_idx"']
    assert not plan.down_inside and len(plan.down_outside) == 1


def test_no_fix_no_script() -> None:
    assert fix_sql([Finding("r-x", Severity.INFO, "m", object="public.t")]) == ""
