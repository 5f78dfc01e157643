"""The slowest statements for a report, or why they cannot be read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgkeel.connect import connect

if TYPE_CHECKING:
    from pgkeel.advisor.statements import Statement

__all__ = ["slowest_statements"]


def slowest_statements(url: str, limit: int = 10) -> tuple[tuple[Statement, ...], str | None]:
    """Return ``(statements, None)``: the ``limit`` slowest by mean time, slowest first.

    Read from pg_stat_statements (:func:`pgkeel.advisor.statements.read_statements`).
    When the extension cannot be read here, returns ``((), why)``, ``why`` saying
    what makes it readable. Raises ``ConnectError`` when ``url`` does not connect.
    """
    from pgkeel.advisor.statements import StatementsUnavailable, read_statements

    with connect(url) as conn:
        try:
            return read_statements(conn, order="mean", limit=limit), None
        except StatementsUnavailable as exc:
            return (), f"{exc}: {exc.hint}"
