"""``COPY ... FROM STDIN`` with its rows in the migration file, as pg_dump writes them.

What must hold (issue 6, "psql-compatible files"): the rows are loaded through COPY
inside the migration's transaction and read back the same; the down section undoes
them; a bad row is reported at its own file line and leaves nothing applied; a real
pg_dump data file (Pagila) applies unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import shared_path
from migration_helpers import write

from pgkeel.errors import MigrationFailed
from pgkeel.migrations import history, rollback, up
from pgkeel.testing import TestDatabase

ROWS = "1\tone\t\\N\n2\tdeux é\tline\\nbreak\n3\ttab\\there\t\\\\\n"


def test_copy_rows_apply_read_back_and_roll_back(pg_database: TestDatabase,
                                                 tmp_path: Path) -> None:
    write(tmp_path, "20240101_words.sql",
          "CREATE TABLE words (id int PRIMARY KEY, word text NOT NULL, note text);\n"
          f"COPY words (id, word, note) FROM stdin;\n{ROWS}\\.\n"
          "INSERT INTO words VALUES (4, 'after', NULL);",
          "DROP TABLE words;")
    write(tmp_path, "20240102_more.sql",
          "COPY public.words FROM stdin;\n5\tfive\t\\N\n\\.",
          "DELETE FROM words WHERE id = 5;")
    result = up(pg_database.url, tmp_path)
    assert [d.version for d in result.done] == ["20240101", "20240102"]
    with pg_database.connect() as conn:
        rows = conn.execute("SELECT id, word, note FROM words ORDER BY id").fetchall()
    assert rows == [(1, "one", None), (2, "deux é", "line\nbreak"), (3, "tab\there", "\\"),
                    (4, "after", None), (5, "five", None)]
    rollback(pg_database.url, tmp_path)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT max(id) FROM words").fetchone() == (4,)
    rollback(pg_database.url, tmp_path)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('words')").fetchone() == (None,)
        assert history.read(conn) == []


def test_bad_copy_row_names_its_line_and_nothing_is_applied(pg_database: TestDatabase,
                                                            tmp_path: Path) -> None:
    write(tmp_path, "20240101_first.sql", "CREATE TABLE first (id int);", "DROP TABLE first;")
    # Line 1 is the marker, 2 the CREATE, 3 the COPY, 4-5 good rows, 6 the bad one.
    path = write(tmp_path, "20240102_words.sql",
                 "CREATE TABLE words (id int, word text);\n"
                 "COPY words FROM stdin;\n1\tone\n2\ttwo\nthree\t3\n4\tfour\n\\.",
                 "DROP TABLE words;")
    with pytest.raises(MigrationFailed) as caught:
        up(pg_database.url, tmp_path)
    assert caught.value.line == 6 and caught.value.path == path
    assert "COPY data, line 6" in str(caught.value)
    assert 'invalid input syntax for type integer: "three"' in str(caught.value)
    with pg_database.connect() as conn:
        assert [r.version for r in history.read(conn)] == ["20240101"]
        assert conn.execute("SELECT to_regclass('words')").fetchone() == (None,)


def test_pagila_pg_dump_files_apply_as_a_migration(pg_database: TestDatabase,
                                                   tmp_path: Path) -> None:
    schema = shared_path("pagila", "pagila-schema.sql").read_text()
    data = shared_path("pagila", "pagila-data.sql").read_text()
    write(tmp_path, "20240101_pagila.sql", schema + "\n" + data,
          "DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;")
    up(pg_database.url, tmp_path)
    # Every COPY block's rows are in its table.
    blocks = re.findall(r"^COPY (\S+) .*? FROM stdin;\n(.*?)^\\\.$", data, re.M | re.S)
    assert len(blocks) > 10
    with pg_database.connect() as conn:
        for table, rows in blocks:
            count = conn.execute(f"SELECT count(*) FROM ONLY {table}").fetchone()
            assert count == (rows.count("\n"),), table
    rollback(pg_database.url, tmp_path)
    with pg_database.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.film')").fetchone() == (None,)
