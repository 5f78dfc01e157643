"""The pg_dump / pg_restore / psql programs a backup runs, and what each build supports.

Which installation: pg_dump must be at least the server's major version (an older one
aborts with "server version mismatch"; PostgreSQL docs, ``pg_dump``, Notes), and
pg_restore at least the major of the pg_dump that wrote the archive (an archive made
by a newer pg_dump carries a format version older readers reject, "unsupported version
in file header"). Of the installations found, the lowest major that satisfies both is
used, so a backup stays readable by the oldest pg_restore that can read it.

Which compression: ``--compress`` takes ``gzip``, ``lz4``, ``zstd`` or ``none`` from
pg_dump 16 on (postgres commits 5e73a60 and 84adc8e); before 16 it takes a level 0-9,
gzip only. lz4 and zstd exist only when the binary was built with those libraries (the
PyPI PostgreSQL 18 wheel is not), which :func:`supports` learns by asking pg_dump
itself.

Passwords never reach a command line (``ps`` shows it) or output: :func:`command_env`
takes the password out of the DSN and hands it over as ``PGPASSWORD``.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from psycopg.conninfo import make_conninfo

from pgkeel._binaries import Binaries, available_binaries, find_binaries
from pgkeel.dsn import parse_dsn
from pgkeel.errors import ClusterError, UsageError

__all__ = ["COMPRESSIONS", "command_env", "compress_args", "default_compression",
           "last_error", "pick", "supports", "version_of"]

#: Compression methods ``backup create --compress`` accepts.
COMPRESSIONS = ("zstd", "lz4", "gzip", "none")


def pick(at_least: int, postgres_bin: Path | None = None, *, program: str = "pg_dump",
         why: str = "") -> Binaries:
    """Return the installation whose ``program`` has major >= ``at_least``.

    The lowest such major wins. With ``postgres_bin`` only that installation counts.
    ``why`` ends the error message (``"to dump a PostgreSQL 18 server"``).

    Raises ``ClusterError`` (exit 3) naming the versions found when none qualifies.
    """
    found = [find_binaries(postgres_bin)] if postgres_bin else available_binaries()
    usable = [b for b in found if b.major >= at_least and b.tool(program).exists()]
    if not usable:
        have = ", ".join(f"{b.major} ({b.bindir})" for b in found) or "none"
        raise ClusterError(
            f"no {program} of PostgreSQL {at_least} or newer found {why}".rstrip()
            + f" (found: {have}); pgkeel will not run an older one",
            hint=f"install postgresql-client-{at_least} (or newer), or set postgres_bin "
            "to its bin directory")
    return min(usable, key=lambda b: b.major)


@functools.cache
def version_of(program: Path) -> str:
    """The version ``program --version`` prints (``"15.18"``, ``"18.6"``)."""
    out = subprocess.run([str(program), "--version"], capture_output=True, text=True,
                         check=True, timeout=20).stdout
    # "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    return out.split(")", 1)[-1].split()[0]


@functools.cache
def supports(pg_dump: Path, major: int, method: str) -> bool:
    """True when this ``pg_dump`` build can compress with ``method``.

    ``none`` and ``gzip`` always can; ``lz4``/``zstd`` need major >= 16 and a build
    with the library. pg_dump checks the compression specification while parsing its
    options, before connecting, so a probe against a socket that cannot exist answers
    in milliseconds and touches no server.
    """
    if method in ("none", "gzip"):
        return True
    if major < 16:
        return False
    probe = subprocess.run(
        [str(pg_dump), f"--compress={method}", "--format=custom", "--file", os.devnull,
         "--no-password", "--dbname", "host=/nonexistent-pgkeel-probe port=1"],
        capture_output=True, text=True, timeout=20, check=False,
        stdin=subprocess.DEVNULL)
    return "compression specification" not in probe.stderr


def default_compression(pg_dump: Path, major: int, archive_format: str) -> str:
    """The method used when none is asked for: zstd where the build has it, else gzip.

    Plain format defaults to ``none`` (readable SQL is its point).
    """
    if archive_format == "plain":
        return "none"
    return "zstd" if supports(pg_dump, major, "zstd") else "gzip"


def compress_args(pg_dump: Path, major: int, archive_format: str, method: str) -> list[str]:
    """The ``--compress`` arguments for ``method``, in the syntax this pg_dump reads.

    Raises ``UsageError`` (exit 2) when the build cannot do ``method``, or when plain
    format is asked for lz4/zstd (pgkeel restores plain dumps through psql and can only
    decompress gzip on the way).
    """
    if archive_format == "plain" and method in ("lz4", "zstd"):
        raise UsageError(f"plain format with {method} compression cannot be restored by "
                         "pgkeel", hint="use --compress gzip or none with plain, or "
                         "--format custom")
    if not supports(pg_dump, major, method):
        raise UsageError(
            f"{pg_dump} (PostgreSQL {major}) cannot compress with {method}"
            + (" (it arrived in pg_dump 16)" if major < 16 else " (built without it)"),
            hint="use --compress gzip, or a pg_dump built with it (postgres_bin)")
    if major < 16:
        return [f"--compress={0 if method == 'none' else 6}"]
    return [f"--compress={method}"]


def command_env(url: str) -> tuple[str, dict[str, str]]:
    """Split ``url`` into a password-free conninfo and an environment holding it.

    Returns ``(conninfo, env)``: ``env`` is ``os.environ`` plus ``PGPASSWORD`` when the
    URL held a password. Raises ``ConfigError`` when ``url`` does not parse.
    """
    params = parse_dsn(url)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    return make_conninfo("", **params), env


def last_error(stderr: str) -> str:
    """The last non-empty line pg_dump/pg_restore/psql wrote, for a one-line error."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error:" in ln.lower() or ln.startswith("ERROR")]
    return (errors or lines or ["no message"])[-1]
