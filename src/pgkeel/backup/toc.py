"""The table of contents of a custom or directory archive, as ``pg_restore --list`` reads it.

``pg_restore --list`` prints one line per archive entry (dump id, catalog ids, type,
schema, name, owner) after a header of ``;`` comment lines that hold the archive's
creation time and name (PostgreSQL docs, ``pg_restore``, ``-l``). The hash covers the
entry lines only, so the same archive hashes the same wherever it lies, and any entry
added, lost or changed changes it.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

from pgkeel.backup.manifest import BackupDamaged
from pgkeel.backup.tools import last_error

__all__ = ["clean_order", "select_entries", "toc_entries", "toc_sha256"]


def toc_entries(pg_restore: Path, archive: Path) -> list[str]:
    """The entry lines of ``archive``'s table of contents.

    Raises ``BackupDamaged`` (exit 4) naming ``archive`` when pg_restore cannot read it
    (truncated, damaged, not an archive), with pg_restore's own message.
    """
    result = subprocess.run([str(pg_restore), "--list", str(archive)], capture_output=True,
                            text=True, check=False, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        raise BackupDamaged(f"pg_restore cannot read the archive: "
                            f"{last_error(result.stderr)}", path=archive,
                            hint="the archive is damaged; use another backup")
    return [ln for ln in result.stdout.splitlines() if ln.strip() and not ln.startswith(";")]


def toc_sha256(pg_restore: Path, archive: Path) -> str:
    """The SHA-256 (hex) of :func:`toc_entries`, one entry per line."""
    text = "\n".join(toc_entries(pg_restore, archive)) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# Entry types whose tag starts with the table's name (pg_dump's dumpTableSchema,
# dumpConstraint, dumpRule, dumpPolicy...: "CONSTRAINT public account account_pkey").
_TABLE_TYPES = ("TABLE", "TABLE DATA", "ROW SECURITY", "POLICY", "CONSTRAINT",
                "CHECK CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "DEFAULT")
# Entry types whose tag is "schema name" (a partition attached to its parent, a
# partition's index attached to the parent's: pg_dump's dumpTableAttach, dumpIndexAttach).
_ATTACH_TYPES = ("TABLE ATTACH", "INDEX ATTACH")
_SEQUENCE_TYPES = ("SEQUENCE", "SEQUENCE SET", "SEQUENCE OWNED BY")


def select_entries(entries: list[str], facts: dict[str, Any],
                   tables: set[tuple[str, str]], *, extensions: bool = True) -> list[str]:
    """The TOC lines that restore ``tables`` whole, for ``pg_restore --use-list``.

    ``pg_restore --table`` restores a table's definition and rows only (PostgreSQL
    docs, ``pg_restore``): no indexes, constraints, RLS, policies, triggers or
    identity. This picks those entries too, with the sequences feeding the tables'
    columns and their indexes, by the names the manifest's ``facts`` recorded. With
    ``extensions`` the archive's ``CREATE EXTENSION IF NOT EXISTS`` entries come too
    (a column may be of an extension's type); not under ``--clean``, whose ``DROP
    EXTENSION`` would fail on the target's other users of it.
    """
    prefixes: list[str] = ["EXTENSION - "] if extensions else []
    for table in facts["tables"]:
        key = (table["schema"], table["name"])
        if key not in tables:
            continue
        prefixes += [f"{kind} {key[0]} {key[1]} " for kind in _TABLE_TYPES]
        prefixes += [f"INDEX {key[0]} {index} " for index in table.get("indexes", ())]
        prefixes += [f"{kind} {key[0]} {name} " for kind in _ATTACH_TYPES
                     for name in (key[1], *table.get("indexes", ()))]
    for seq in facts["sequences"]:
        if any((c["schema"], c["table"]) in tables for c in seq["columns"]):
            prefixes += [f"{kind} {seq['schema']} {seq['name']} " for kind in _SEQUENCE_TYPES]
    chosen = []
    for line in entries:
        # "215; 1259 16570 TABLE public account postgres": the tag follows three ids.
        parts = line.split(" ", 3)
        if len(parts) == 4 and parts[3].startswith(tuple(prefixes)):
            chosen.append(line)
    return chosen


def clean_order(entries: list[str]) -> list[str]:
    """``entries`` with partitions' constraints placed before their parents', for ``--clean``.

    pg_dump writes a partition's primary key or unique constraint as its own entry,
    sorted after the parent's, and attaches its index to the parent's (``INDEX
    ATTACH``). ``pg_restore --clean`` drops in the reverse of the restore order, so it
    drops the partition's constraint first, which PostgreSQL refuses while the
    parent's holds it ("cannot drop inherited constraint"; PostgreSQL docs, ``ALTER
    TABLE``, ``ATTACH PARTITION``). ``pg_restore --use-list`` restores in the list's
    order (PostgreSQL docs, ``pg_restore``, ``-L``): with the partitions' constraints
    first, the parent's is dropped first and takes theirs along (``IF EXISTS`` then
    skips them), and creation still works (the parent's is added ``ONLY``, then
    attached). Returns the same lines, reordered only inside the ``CONSTRAINT`` block.
    """
    # "3471; 0 0 INDEX ATTACH public p_2022_pkey postgres" -> "public p_2022_pkey"
    attached = {line.split(" INDEX ATTACH ", 1)[1].rsplit(" ", 1)[0]
                for line in entries if " INDEX ATTACH " in line}
    slots, partitions, others = [], [], []
    for at, line in enumerate(entries):
        parts = line.split(" ", 4)  # "3433;", "2606", "16593", "CONSTRAINT", tag + owner
        if len(parts) == 5 and parts[3] == "CONSTRAINT":
            tag = parts[4].rsplit(" ", 1)[0]  # "public payment_p2022_01 payment_p2022_01_pkey"
            schema, name = tag.split(" ", 1)[0], tag.rsplit(" ", 1)[-1]
            slots.append(at)
            (partitions if f"{schema} {name}" in attached else others).append(line)
    ordered = list(entries)
    for at, line in zip(slots, partitions + others, strict=True):
        ordered[at] = line
    return ordered
