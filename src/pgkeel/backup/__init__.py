"""Backups you can trust: pg_dump with a manifest, verified by restoring, retained.

``create`` dumps with a manifest (:mod:`~pgkeel.backup.manifest`), ``verify`` checks it
at three depths, ``restore`` restores after a preflight, ``store`` lists, pins and
prunes, ``schedule`` prints the cron line and systemd units that automate it all.
"""

from __future__ import annotations

__all__: list[str] = []
