"""Plan rules about memory: sorts, hashes and aggregates spilled to disk, temp I/O."""

from __future__ import annotations

import math
from collections.abc import Iterator

from pgkeel.advisor.plan import PlanNode
from pgkeel.advisor.plan_rules.base import PlanContext, PlanFinding, PlanRule, human
from pgkeel.report.findings import Severity

__all__ = ["SpillToDisk", "TempIo", "work_mem_for"]

#: Node types whose spills :class:`SpillToDisk` reports (TempIo leaves them alone).
_SPILLERS = ("Sort", "Incremental Sort", "Hash", "Hash Join", "Aggregate", "SetOp")
_BLOCK_KB = 8  # PostgreSQL's default block size


def work_mem_for(kb: float) -> str:
    """A ``work_mem`` value that holds ``kb`` kilobytes of spilled data in memory.

    On disk, a sort or hash takes less room than in memory (tuples are written
    compactly, without per-tuple overhead), so the data size is multiplied by 3 and
    rounded up to a power of two in MB, at least 4MB (the default).
    """
    mb = max(4, 2 ** math.ceil(math.log2(max(kb * 3 / 1024, 1))))
    return f"{mb}MB"


def _spill(node: PlanNode) -> tuple[str, float] | None:
    """(what spilled, kB on disk) when ``node`` spilled, else None."""
    data = node.data
    if node.node_type in ("Sort", "Incremental Sort") and data.get("Sort Space Type") == "Disk":
        return "sort", float(data.get("Sort Space Used", 0) or 0)
    if node.node_type == "Hash" and int(data.get("Hash Batches", 1) or 1) > 1:
        peak = float(data.get("Peak Memory Usage", 0) or 0)
        return "hash", peak * int(data["Hash Batches"])
    if node.node_type == "Aggregate" and (float(data.get("Disk Usage", 0) or 0) > 0
                                          or int(data.get("HashAgg Batches", 0) or 0) > 1):
        return "hash aggregate", float(data.get("Disk Usage", 0) or 0) + float(
            data.get("Peak Memory Usage", 0) or 0)
    return None


class SpillToDisk(PlanRule):
    """A sort, hash or hash aggregate ran out of work_mem and spilled to disk.

    Why
    ---
    A sort that does not fit in `work_mem` becomes an external merge sort on
    temporary files; a hash join splits into batches written to disk; a hash
    aggregate (PostgreSQL 13+) spills groups. Each makes the node several times
    slower. Raise `work_mem` for this query (`SET LOCAL work_mem` in its
    transaction, or per role) to the size the finding suggests, or fix the row
    misestimate that made the planner size it too small.

    Bad
    ---
    ```sql
    CREATE TABLE metric (id int, v int);
    INSERT INTO metric SELECT g, (g * 7919) % 1000 FROM generate_series(1, 100000) g;
    ANALYZE metric;
    SET work_mem = '64kB';
    SELECT * FROM metric ORDER BY v, id;
    ```

    Good
    ----
    ```sql
    CREATE TABLE metric (id int, v int);
    INSERT INTO metric SELECT g, (g * 7919) % 1000 FROM generate_series(1, 100000) g;
    ANALYZE metric;
    SET work_mem = '32MB';
    SELECT * FROM metric ORDER BY v, id;
    ```

    Notes
    -----
    Needs `EXPLAIN ANALYZE`. The examples shrink `work_mem` to spill a small table.
    `work_mem` is per operation and per process: raise it for the query, not for the
    whole server.

    References
    ----------
    - PostgreSQL docs §20.4.1 `work_mem` and `hash_mem_multiplier`; §14.1.2
      "EXPLAIN ANALYZE" (Sort Method, Batches).
    - dalibo/pev2 (Hash Batches > 1); pgMustard's "Operation Spilled to Disk" tip.
    """

    id = "spill-to-disk"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/runtime-config-resource.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            spilled = _spill(node)
            if spilled is None or not ctx.significant(node, inclusive=node.node_type == "Hash"):
                continue
            what, kb = spilled
            size = work_mem_for(kb)
            yield self.at(node, f"{node.label}: the {what} spilled {human(kb)} kB to disk; "
                          f"give this query work_mem = '{size}'",
                          fix=f"SET work_mem = '{size}';", saving_ms=node.exclusive_ms / 2)


class TempIo(PlanRule):
    """A node wrote temporary files (a window, materialize or CTE store spilled).

    Why
    ---
    Besides sorts and hashes, other nodes keep rows in a tuple store that goes to
    temporary files past `work_mem`: window aggregates over large partitions,
    `Materialize`, CTE scans. Temp I/O on a significant node means disk writes and
    reads a larger `work_mem` would avoid. Sorts, hashes and aggregates are left to
    `spill-to-disk`.

    Bad
    ---
    ```sql
    CREATE TABLE sample (id int, v int);
    INSERT INTO sample SELECT g, g % 100 FROM generate_series(1, 100000) g;
    ANALYZE sample;
    SET work_mem = '64kB';
    SELECT id, sum(v) OVER () FROM sample;
    ```

    Good
    ----
    ```sql
    CREATE TABLE sample (id int, v int);
    INSERT INTO sample SELECT g, g % 100 FROM generate_series(1, 100000) g;
    ANALYZE sample;
    SET work_mem = '32MB';
    SELECT id, sum(v) OVER () FROM sample;
    ```

    Notes
    -----
    Needs `EXPLAIN (ANALYZE, BUFFERS)`. Buffer counts include a node's children; the
    rule counts the node's own blocks.

    References
    ----------
    - PostgreSQL docs §14.1.2 "EXPLAIN ANALYZE" (BUFFERS: temp read/written) and
      §20.4.1 `work_mem`.
    """

    id = "temp-io"
    severity = Severity.WARNING
    docs_url = "https://www.postgresql.org/docs/current/sql-explain.html"

    def check(self, ctx: PlanContext) -> Iterator[PlanFinding]:
        if not ctx.plan.analyzed:
            return
        for node in ctx.plan.nodes():
            written = node.blocks("Temp Written")
            read = node.blocks("Temp Read")
            if node.node_type in _SPILLERS or written + read <= 0 or \
                    not ctx.significant(node):
                continue
            size = work_mem_for(max(written, read) * _BLOCK_KB)
            yield self.at(node, f"{node.label} wrote {human(written)} and read {human(read)} "
                          f"temporary blocks; give this query work_mem = '{size}'",
                          fix=f"SET work_mem = '{size}';", saving_ms=node.exclusive_ms / 2)
