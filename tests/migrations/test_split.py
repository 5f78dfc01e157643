"""Statement splitting with pglast, and which statements PostgreSQL refuses in a transaction.

The refusal list is proved, not assumed: every statement flagged non-transactional is run
inside BEGIN on real servers (PostgreSQL 15 and 18) and must fail with SQLSTATE 25001, and
every look-alike that is not flagged must succeed there.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from pglast import parse_sql
from psycopg import errors, sql

from pgkeel.errors import MigrationFileError
from pgkeel.migrations import read_migration
from pgkeel.migrations._split import SplitError, split_sql
from pgkeel.migrations._txrules import is_transaction_control, non_transactional_reason
from pgkeel.testing import TestDatabase

TRICKY = """\
create table t (id int, note text default 'semi; colon -- not a comment');
/* a block comment; with a semicolon */
create function f() returns text language plpgsql as $outer$
begin
  perform $inner$ ; nested $inner$;
  return 'done; 100% sure %s';
end
$outer$;
create function g() returns int language sql
begin atomic
  select 1;
  select 2;
end;
insert into t values (1, 'café'), (2, E'tab\\there; %');
select 'last' -- no semicolon, trailing comment
"""


def texts(source: str) -> list[str]:
    return [source[s.start:s.end] for s in split_sql(source)]


def test_tricky_statements_survive_byte_for_byte() -> None:
    got = texts(TRICKY)
    assert got == [
        "create table t (id int, note text default 'semi; colon -- not a comment')",
        "create function f() returns text language plpgsql as $outer$\nbegin\n"
        "  perform $inner$ ; nested $inner$;\n  return 'done; 100% sure %s';\nend\n$outer$",
        "create function g() returns int language sql\nbegin atomic\n  select 1;\n"
        "  select 2;\nend",
        "insert into t values (1, 'café'), (2, E'tab\\there; %')",
        "select 'last'",
    ]
    # Every slice is a substring of the source: nothing was re-rendered.
    assert all(text in TRICKY for text in got)


def test_offsets_are_characters_not_utf8_bytes() -> None:
    # 'é€𝄞' is 2 + 3 + 4 bytes in UTF-8 but 3 characters: a byte offset would cut the
    # next statement in the wrong place.
    source = "select 'é€𝄞';\nselect 2;\nselect 'ü';select 3"
    assert texts(source) == ["select 'é€𝄞'", "select 2", "select 'ü'", "select 3"]


def test_comments_around_non_ascii_statements_are_trimmed() -> None:
    # The byte offsets of the parser become str indices; comments after the last token
    # (with non-ASCII in them) stay out of the slice, and a no-break space, which
    # PostgreSQL's scanner reads as part of an identifier, not as blank, stays in.
    source = "/* ü */ select 'é' -- ö\n;select 2 /* ä */;\nselect 1 \u00a0;select 3 -- x"
    assert texts(source) == ["select 'é'", "select 2", "select 1 \u00a0", "select 3"]


def test_comments_and_blanks_only_give_no_statements() -> None:
    assert split_sql("") == []
    assert split_sql("\n  -- just a comment; really\n/* and; another */\n") == []
    assert texts(";;select 1;;") == ["select 1"]


def test_lines_are_file_lines_after_non_ascii(tmp_path: Path) -> None:
    path = tmp_path / "20240119_lines.sql"
    path.write_text(
        "-- über header\n-- migrate:up\ninsert into t values ('café');\n\n"
        "-- ünïcödé comment\ncreate table u (\n  id int\n);\n-- migrate:down\n"
        "drop table u; drop table t;\n",
        encoding="utf-8",
    )
    migration = read_migration(path)
    assert [(s.line, s.sql) for s in migration.up.statements] == [
        (3, "insert into t values ('café')"),
        (6, "create table u (\n  id int\n)"),
    ]
    assert [(s.index, s.line) for s in migration.down.statements] == [(0, 10), (1, 10)]


def test_syntax_error_names_the_line_and_postgres_message(tmp_path: Path) -> None:
    path = tmp_path / "20240119_broken.sql"
    path.write_text("-- migrate:up\nselect 'é';\ncreate tabel x (id int);\n-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert caught.value.path == path
    assert caught.value.line == 3
    assert 'syntax error at or near "tabel"' in caught.value.message


def test_syntax_error_at_end_of_input_points_at_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "20240119_unfinished.sql"
    path.write_text("-- migrate:up\nselect 1;\nselect (1 +\n\n-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert caught.value.line == 3
    assert "end of input" in caught.value.message


def test_psql_meta_command_gets_a_hint() -> None:
    with pytest.raises(SplitError) as caught:
        split_sql("select 1;\n\\connect other\nselect 2;")
    assert caught.value.index == len("select 1;\n")
    assert "meta-commands" in (caught.value.hint or "")


def test_copy_from_stdin_reads_its_rows_as_psql_does() -> None:
    text = ("select 1;\ncopy t (a, b) from stdin; -- rows follow\n1\tx\n2\tO'Brien\n"
            "select 3\n\\.\nselect 2;\ncopy u from stdin;\n\\.\n")
    found = split_sql(text)
    assert [text[s.start:s.end] for s in found] == [
        "select 1", "copy t (a, b) from stdin", "select 2", "copy u from stdin"]
    # Rows that are not SQL (an unbalanced quote) or that look like SQL stay rows.
    assert [text[s.data[0]:s.data[1]] if s.data else None for s in found] == [
        None, "1\tx\n2\tO'Brien\nselect 3\n", None, ""]


@pytest.mark.parametrize(
    "body, line, message",
    [
        # Without rows (psql would read them from its own stdin).
        ("copy t from stdin;\n", 2, "without its rows"),
        ("copy t from STDIN with (format csv);\nselect 1;\n", 2, "without its rows"),
        ("select 1;\ncopy t from stdin;\n1\tx\n", 3, "do not end with a line"),
        ("copy t from stdin; select 1;\n1\tx\n\\.\n", 2, "rows start on the next line"),
    ],
)
def test_copy_from_stdin_without_rows_is_refused_with_the_fix(
        tmp_path: Path, body: str, line: int, message: str) -> None:
    path = tmp_path / "20240119_copy.sql"
    path.write_text(f"-- migrate:up\n{body}-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert caught.value.line == line
    assert "COPY ... FROM STDIN" in caught.value.message and message in caught.value.message
    assert "\\." in (caught.value.hint or "") or "';'" in (caught.value.hint or "")


def test_copy_to_stdout_is_refused_but_server_files_are_fine() -> None:
    with pytest.raises(SplitError, match="TO STDOUT"):
        split_sql("copy t to stdout")
    assert len(split_sql("copy t from '/srv/t.csv'; copy t to '/tmp/t.csv'; "
                         "copy t from program 'cat /srv/t.csv'")) == 3


def node(statement: str):
    return parse_sql(statement)[0].stmt


# Statements PostgreSQL refuses inside a transaction block, with the setup each needs
# (run outside the transaction) so that the refusal, not a missing object, is what fails.
REFUSED = [
    ("create index concurrently t_a on t (a)", "CREATE INDEX CONCURRENTLY"),
    ("drop index concurrently t_b", "DROP INDEX CONCURRENTLY"),
    ("reindex (concurrently) table t", "REINDEX CONCURRENTLY"),
    ("reindex table concurrently t", "REINDEX CONCURRENTLY"),
    ("reindex index concurrently t_b", "REINDEX CONCURRENTLY"),
    ("reindex schema public", "REINDEX SCHEMA"),
    ("reindex system {db}", "REINDEX SYSTEM"),
    ("reindex database {db}", "REINDEX DATABASE"),
    ("vacuum", "VACUUM"),
    ("vacuum (analyze) t", "VACUUM"),
    ("vacuum full t", "VACUUM"),
    ("cluster", "CLUSTER without a table name"),
    ("alter database {db} set tablespace pg_default", "ALTER DATABASE ... SET TABLESPACE"),
    ("alter system set work_mem = '8MB'", "ALTER SYSTEM"),
    ("create database pgkeel_never", "CREATE DATABASE"),
    ("drop database pgkeel_never", "DROP DATABASE"),
    ("create tablespace pgkeel_ts location '/nonexistent'", "CREATE TABLESPACE"),
    ("drop tablespace pgkeel_ts", "DROP TABLESPACE"),
    ("create subscription pgkeel_sub connection 'dbname=postgres' publication p",
     "CREATE SUBSCRIPTION"),
    ("create subscription pgkeel_sub connection 'dbname=postgres' publication p "
     "with (create_slot = on, enabled = off)", "CREATE SUBSCRIPTION"),
    ("drop subscription sub_offline", "DROP SUBSCRIPTION"),
    ("alter table parted detach partition parted_1 concurrently",
     "ALTER TABLE ... DETACH PARTITION CONCURRENTLY"),
    ("discard all", "DISCARD ALL"),
    ("commit prepared 'nothing'", "COMMIT PREPARED"),
    ("rollback prepared 'nothing'", "ROLLBACK PREPARED"),
]

# Look-alikes PostgreSQL runs inside a transaction block.
ALLOWED = [
    "create index t_c on t (a)",
    "drop index t_b",
    "reindex table t",
    "reindex index t_b",
    "analyze t",
    "analyze",
    "cluster t using t_b",
    "alter database {db} set work_mem = '8MB'",
    "alter type mood add value 'meh'",  # allowed since PostgreSQL 12 (not usable until commit)
    "create subscription pgkeel_sub connection 'dbname=postgres' publication p "
    "with (connect = false)",
    "create subscription pgkeel_sub connection 'dbname=postgres' publication p "
    "with (connect = off, create_slot = false)",
    "alter table parted detach partition parted_1",
    "discard plans",
    "refresh materialized view concurrently mv",
]

# Known only from the ALTER SUBSCRIPTION reference page: proving them needs a live
# publisher and an enabled subscription.
DOCUMENTED_ONLY = [
    ("alter subscription s refresh publication", "ALTER SUBSCRIPTION ... REFRESH"),
    ("alter subscription s set publication p", "ALTER SUBSCRIPTION ... PUBLICATION"),
    ("alter subscription s add publication p with (refresh = on)",
     "ALTER SUBSCRIPTION ... PUBLICATION"),
]

SETUP = """
create table t (a int, b int);
create index t_b on t (b);
create type mood as enum ('sad', 'happy');
create table parted (a int) partition by list (a);
create table parted_1 partition of parted for values in (1);
create materialized view mv as select 1 as one;
create unique index mv_one on mv (one);
create subscription sub_offline connection 'dbname=postgres' publication p
  with (connect = false);
"""


@pytest.mark.parametrize("statement, command", REFUSED + DOCUMENTED_ONLY)
def test_refused_statements_are_flagged(statement: str, command: str) -> None:
    reason = non_transactional_reason(node(statement.format(db="x")))
    assert reason is not None and reason.startswith(command)
    assert reason.endswith("cannot run inside a transaction block")


@pytest.mark.parametrize("statement", [
    *(s for s, _ in REFUSED + DOCUMENTED_ONLY), *ALLOWED,
    "begin", "commit", "create index t_c on t (a)", "alter table t add column c int",
])
def test_split_builds_a_tree_wherever_a_rule_needs_one(statement: str) -> None:
    # split_sql skips the Python tree where the JSON shows no rule can apply
    # (_txrules.needs_tree): the verdicts must be those of the full tree.
    text = statement.format(db="x")
    (found,) = split_sql(text)
    assert found.kind == type(node(text)).__name__
    assert non_transactional_reason(found.node) == non_transactional_reason(node(text))
    assert is_transaction_control(found.node) == is_transaction_control(node(text))


def test_split_skips_the_tree_of_statements_no_rule_needs() -> None:
    kinds = [(s.kind, s.node is None) for s in split_sql(
        "create table t (a int); create index i on t (a); "
        "create index concurrently j on t (a)")]
    assert kinds == [("CreateStmt", True), ("IndexStmt", True), ("IndexStmt", False)]


@pytest.mark.parametrize("statement", [
    *ALLOWED,
    "alter subscription s set publication p with (refresh = false)",
    "alter subscription s enable",
    "create table x (a int)",
    "select pg_sleep(0)",
])
def test_allowed_statements_are_not_flagged(statement: str) -> None:
    assert non_transactional_reason(node(statement.format(db="x"))) is None


@pytest.mark.parametrize("statement", [
    "begin", "begin isolation level serializable", "start transaction", "commit", "end",
    "rollback", "abort", "savepoint a", "release savepoint a", "rollback to savepoint a",
    "prepare transaction 'x'", "commit prepared 'x'", "rollback prepared 'x'",
])
def test_transaction_control_is_recognised(statement: str) -> None:
    assert is_transaction_control(node(statement))


@pytest.mark.parametrize("statement", ["set local lock_timeout = '1s'", "select 1",
                                       "do $$ begin perform 1; end $$"])
def test_other_statements_are_not_transaction_control(statement: str) -> None:
    assert not is_transaction_control(node(statement))


def test_flags_match_what_postgres_refuses(pg_database: TestDatabase) -> None:
    db = sql.Identifier(pg_database.name).as_string()
    wrong: list[str] = []
    with pg_database.connect() as conn:
        conn.execute(SETUP)
        try:
            for template, _ in REFUSED:
                statement = template.format(db=db)
                if _sqlstate_in_transaction(conn, statement) != "25001":
                    wrong.append(f"PostgreSQL allows in a transaction: {statement}")
            for template in ALLOWED:
                statement = template.format(db=db)
                state = _sqlstate_in_transaction(conn, statement)
                if state is not None:
                    wrong.append(f"{statement} failed with {state}")
        finally:
            # A database with a subscription cannot be dropped.
            conn.execute("alter subscription sub_offline set (slot_name = none)")
            conn.execute("drop subscription sub_offline")
    assert wrong == []


def _sqlstate_in_transaction(conn: psycopg.Connection, statement: str) -> str | None:
    """Run ``statement`` inside BEGIN ... ROLLBACK; return the SQLSTATE it failed with."""
    conn.execute("begin")
    try:
        conn.execute(statement)
    except errors.Error as exc:
        return exc.sqlstate
    finally:
        conn.execute("rollback")
    return None


def test_syntax_error_has_a_fix_and_an_unterminated_quote_stays_on_one_line(
        tmp_path: Path) -> None:
    path = tmp_path / "20240119_x.sql"
    path.write_text("-- migrate:up\nselect 1;\n\nCREATE TABL t (x int);\n-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    assert str(caught.value).endswith(':4: PostgreSQL\'s parser says: syntax error at or '
                                      'near "TABL"')
    assert caught.value.hint == ("fix the SQL at line 4; pgkeel runs nothing from this file "
                                 "until it parses")
    body = "".join(f"insert into t values ({n}); -- row {n}\n" for n in range(50))
    path.write_text(f"-- migrate:up\nselect 1;\nselect 'oops;\n{body}-- migrate:down\n")
    with pytest.raises(MigrationFileError) as caught:
        read_migration(path)
    message = str(caught.value)
    assert "\n" not in message and "row 49" not in message and len(message) < 200
    assert "unterminated quoted string" in message and caught.value.line == 3
    assert "fix the SQL at line 3" in (caught.value.hint or "")
