"""The fast tree builder gives exactly pglast's tree: every node, slot and location."""

from __future__ import annotations

from typing import Any

import pytest
from pglast import ast, parse_sql
from pglast.parser import ParseError

from pgkeel._shared_data import shared_data_dir
from pgkeel.lint import registry
from pgkeel.lint.migration._tree import build, parse


def _same(mine: Any, theirs: Any, where: str) -> None:
    assert type(mine) is type(theirs), f"{where}: {type(mine)} != {type(theirs)}"
    if isinstance(theirs, ast.Node):
        for slot in type(theirs).__slots__:  # type: ignore[attr-defined]
            _same(getattr(mine, slot), getattr(theirs, slot), f"{where}.{slot}")
    elif isinstance(theirs, tuple):
        assert len(mine) == len(theirs), f"{where}: {len(mine)} != {len(theirs)} items"
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            _same(a, b, f"{where}[{i}]")
    else:
        assert mine == theirs, f"{where}: {mine!r} != {theirs!r}"


def _check(sql: str) -> None:
    try:
        theirs = [(r.stmt_location, r.stmt_len, r.stmt) for r in parse_sql(sql)]
    except ParseError:
        with pytest.raises(ParseError):
            parse(sql)
        return
    _same(tuple(parse(sql)), tuple(theirs), "tree")
    if sql.isascii():  # and the fast builder made it, not the fallback
        _same(tuple(build(sql)), tuple(theirs), "tree")


def _examples() -> list[str]:
    return [block for rule in registry.all_rules() for section in ("Bad", "Good")
            for block in rule.examples(section)]


def test_every_rule_example_parses_to_pglast_s_tree() -> None:
    for sql in _examples():
        _check(sql.replace("-- migrate:up", "").replace("-- migrate:down", ""))


def test_harness_corpus_parses_to_pglast_s_tree() -> None:
    corpus = shared_data_dir() / "harness-migrations" / "postgres"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} is absent")
    for path in sorted(corpus.glob("*.sql")):
        _check(path.read_text())


@pytest.mark.parametrize("sql", [
    "SELECT 0, -1, 1.5, 'a', true, B'101', NULL, ARRAY[1]::int[]",
    "DROP TABLE a.b, c CASCADE; DROP FUNCTION f(int, text)",
    "CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
    "a text COLLATE \"C\" CHECK (a <> ''), r int4range, EXCLUDE USING gist (r WITH &&))",
    "CREATE FOREIGN TABLE ft (x int) SERVER s",
    "ALTER TABLE t ALTER COLUMN a TYPE bigint USING a::bigint, ADD CONSTRAINT c "
    "FOREIGN KEY (a) REFERENCES u (id) ON DELETE SET NULL (a) NOT VALID",
    "WITH x AS MATERIALIZED (SELECT 1) INSERT INTO t SELECT * FROM x "
    "ON CONFLICT (id) DO UPDATE SET a = excluded.a RETURNING *",
    "CREATE POLICY p ON t USING (tenant_id = current_setting('app.t')::bigint)",
    "GRANT SELECT ON ALL TABLES IN SCHEMA app TO anon; COPY t FROM STDIN",
    "CREATE OR REPLACE FUNCTION f() RETURNS trigger LANGUAGE plpgsql "
    "SECURITY DEFINER SET search_path = '' AS $$ BEGIN RETURN NEW; END $$",
    "SELECT 'Grüße' AS x; CREATE INDEX i ON t (lower(b)) WHERE a > 0",
    "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN UPDATE SET a = 1",
    "SELECT JSON_OBJECT('a': 1), xmlelement(name a), t.* FROM t TABLESAMPLE SYSTEM (1)",
])
def test_shapes_parse_to_pglast_s_tree(sql: str) -> None:
    _check(sql)
