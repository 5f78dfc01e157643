"""The local cluster: lifecycle, and each bad start named with its fix."""

from __future__ import annotations

import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from pgkeel._sysuser import digest
from pgkeel.cluster import Binaries, Cluster, available_binaries, find_binaries
from pgkeel.errors import ClusterError, Refused, UsageError

BINARIES = available_binaries()


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A directory the server user can enter even when the suite runs as root."""
    path = Path(tempfile.mkdtemp(prefix="pgkeel-cluster-test-"))
    path.chmod(0o755)
    yield path
    for cluster_dir in path.iterdir():
        if (cluster_dir / "cluster.json").exists():
            Cluster(cluster_dir).destroy()
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.mark.parametrize("binaries", BINARIES, ids=[f"pg{b.major}" for b in BINARIES])
def test_lifecycle(workdir: Path, binaries: Binaries) -> None:
    cluster = Cluster(workdir / "c", binaries=binaries)
    assert cluster.status().state == "absent"
    running = cluster.start()
    assert running.state == "running"
    assert running.major == binaries.major
    assert cluster.start().pid == running.pid  # starting twice is a no-op
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    with psycopg.connect(cluster.url(tcp=True)) as conn:  # scram with the generated password
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert cluster.stop().state == "stopped"
    assert cluster.start().port == running.port  # the recorded port is reused
    cluster.destroy()
    assert not (workdir / "c").exists()


def test_find_binaries_rejects_bad_postgres_bin(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="holds no runnable 'postgres'"):
        find_binaries(tmp_path)


def test_port_in_use(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cluster = Cluster(workdir / "c")
        with pytest.raises(ClusterError, match=f"port {port} on 127.0.0.1 is in use") as caught:
            cluster.start(port=port)
    assert "--port" in (caught.value.hint or "")
    assert cluster.status().state == "stopped"


def test_recorded_port_taken_picks_another(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    first = cluster.start()
    cluster.stop()
    notes: list[str] = []
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", first.port or 0))
        taken.listen()
        again = cluster.start(notify=notes.append)
    assert again.port != first.port
    assert notes == [f"port {first.port} is taken; choosing another"]


def test_crashed_server_recovers(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    pid = cluster.start().pid
    assert pid is not None
    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (id int)")
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):  # the children notice the postmaster died and exit
        if cluster.status().state == "stale":
            break
        time.sleep(0.05)
    assert cluster.status().state == "stale"
    notes: list[str] = []
    assert cluster.start(notify=notes.append).state == "running"
    assert any("crashed" in n for n in notes)
    with psycopg.connect(cluster.url()) as conn:
        assert conn.execute("SELECT count(*) FROM kept").fetchone() == (0,)


def test_stale_pid_of_another_program_is_refused(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    cluster.init()
    other = subprocess.Popen(["sleep", "30"])
    try:
        pidfile = cluster.data_dir / "postmaster.pid"
        pidfile.write_text(f"{other.pid}\n{cluster.data_dir}\n")
        with pytest.raises(ClusterError, match=f"names process {other.pid}") as caught:
            cluster.start()
        assert "delete" in (caught.value.hint or "")
        assert pidfile.exists()  # pgkeel deletes nothing it did not create
        assert other.poll() is None  # and signals nothing it did not start
    finally:
        other.kill()
        other.wait()


def test_data_dir_owned_by_someone_else(workdir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the directory to another user")
    cluster = Cluster(workdir / "c")
    cluster.init()
    stranger = pwd.getpwnam("nobody") if cluster._user.name != "nobody" else pwd.getpwnam("root")
    os.chown(cluster.data_dir, stranger.pw_uid, stranger.pw_gid)
    with pytest.raises(ClusterError, match=f"is owned by {stranger.pw_name}") as caught:
        cluster.start()
    assert "chown -R" in (caught.value.hint or "")


def test_foreign_directory_is_neither_used_nor_deleted(workdir: Path) -> None:
    foreign = workdir / "c"
    (foreign / "pgdata").mkdir(parents=True)
    (foreign / "pgdata" / "notes.txt").write_text("mine")
    cluster = Cluster(foreign)
    with pytest.raises(Refused, match="did not create") as caught:
        cluster.start()
    assert caught.value.exit_code == 4
    with pytest.raises(Refused, match="not deleting it"):
        cluster.destroy()
    assert (foreign / "pgdata" / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in foreign.iterdir()) == ["pgdata"]


@pytest.mark.skipif(len(BINARIES) < 2, reason="needs two PostgreSQL major versions")
def test_other_major_version_is_refused(workdir: Path) -> None:
    old, new = BINARIES[0], BINARIES[-1]
    Cluster(workdir / "c", binaries=old).init()
    with pytest.raises(ClusterError, match=f"created by PostgreSQL {old.major}") as caught:
        Cluster(workdir / "c", binaries=new).start()
    assert "postgres_bin" in (caught.value.hint or "")


def test_destroy_keeps_files_pgkeel_did_not_create(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    cluster.start()
    (workdir / "c" / "notes.txt").write_text("mine")
    (workdir / "c" / "src").mkdir()
    left = cluster.destroy()
    assert [p.name for p in left] == ["notes.txt", "src"]
    assert sorted(p.name for p in (workdir / "c").iterdir()) == ["notes.txt", "src"]
    assert cluster.status().state == "absent"


@pytest.mark.parametrize("port", [0, 80, 70000, -1])
def test_port_out_of_range_is_a_usage_error(workdir: Path, port: int) -> None:
    cluster = Cluster(workdir / "c")
    with pytest.raises(UsageError, match=f"port {port} cannot be used"):
        cluster.start(port=port)
    assert not (workdir / "c").exists()


def test_no_binaries_leaves_nothing_behind(workdir: Path) -> None:
    cluster = Cluster(workdir / "c", postgres_bin=workdir / "nowhere")
    with pytest.raises(ClusterError, match="holds no runnable 'postgres'"):
        cluster.start()
    assert not (workdir / "c").exists()


def test_parallel_starts_take_turns(workdir: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from pgkeel.cluster import Cluster; "
        "print(Cluster(Path(sys.argv[1])).start().pid)"
    )
    runs = [subprocess.Popen([sys.executable, "-c", script, str(workdir / "c")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)]
    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert [code for code, _out, _err in results] == [0, 0, 0, 0], results
    assert len({out.strip() for _code, out, _err in results}) == 1  # one server


@pytest.mark.skipif(os.geteuid() != 0, reason="the shared-directory checks guard root")
def test_planted_relocated_directory_is_refused(tmp_path: Path) -> None:
    project = Path("/root") / f"pgkeel-planted-{os.getpid()}"  # the server user cannot enter
    project.mkdir(mode=0o700)
    try:
        planted = Path("/var/tmp") / f"pgkeel-cluster-{digest((project / '.pgkeel').absolute())}"
        planted.mkdir()
        nobody = pwd.getpwnam("nobody")
        os.chown(planted, nobody.pw_uid, nobody.pw_gid)
        try:
            with pytest.raises(ClusterError, match="another user may have planted it"):
                Cluster(project / ".pgkeel")
        finally:
            planted.rmdir()
    finally:
        project.rmdir()


# --- a postmaster.pid pgkeel must not trust ------------------------------------------


def pgkeel_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "PGPASSWORD", "PGPASSFILE")}
    return subprocess.run([sys.executable, "-m", "pgkeel", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120, check=False)


def _state_of(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_a_dead_pid_is_stale_and_start_recovers(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    cluster.init()
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: the pid names no process now
    (cluster.data_dir / "postmaster.pid").write_text(f"{gone.pid}\n{cluster.data_dir}\n")
    status = cluster.status()
    assert (status.state, status.pid) == ("stale", None)
    assert status.stale_reason == f"process {gone.pid} no longer exists"
    assert "pgkeel db start" in (status.stale_fix or "")
    assert cluster.stop().state == "stale"  # nothing to signal, no error
    assert cluster.start().state == "running"


def test_a_zombie_is_not_running_and_is_not_signalled(workdir: Path) -> None:
    cluster = Cluster(workdir / "c")
    cluster.init()
    zombie = subprocess.Popen(["true"])  # exits at once; nobody reaps it until wait()
    try:
        for _ in range(200):
            if _state_of(zombie.pid) == "Z":
                break
            time.sleep(0.01)
        assert _state_of(zombie.pid) == "Z"
        pidfile = cluster.data_dir / "postmaster.pid"
        pidfile.write_text(f"{zombie.pid}\n{cluster.data_dir}\n")
        status = cluster.status()
        assert status.state == "stale" and "zombie" in (status.stale_reason or "")
        assert "reaps it" in (status.stale_fix or "")
        assert cluster.stop().state == "stale"
        # PostgreSQL would refuse too (kill(pid, 0) succeeds on a zombie): after giving
        # the parent a moment to reap it, pgkeel says why.
        with pytest.raises(ClusterError, match="zombie") as caught:
            cluster.start()
        assert "reaps it" in (caught.value.hint or "") and pidfile.exists()
    finally:
        zombie.wait()


def test_another_program_is_neither_running_nor_signalled_by_the_cli(workdir: Path) -> None:
    project = workdir / "project"
    project.mkdir()
    cluster = Cluster(project / ".pgkeel")
    cluster.init()
    other = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = cluster.data_dir / "postmaster.pid"
        pidfile.write_text(f"{other.pid}\n{cluster.data_dir}\n")
        status = pgkeel_cli("db", "status", cwd=project)
        assert status.returncode == 1, status.stderr
        assert "running" not in status.stdout.replace("not running", "")
        assert f"process {other.pid} is 'sleep', not a PostgreSQL server" in status.stdout
        assert "— fix: delete" in status.stdout
        stop = pgkeel_cli("db", "stop", cwd=project)
        assert stop.returncode == 0, stop.stderr
        assert "postmaster.pid is stale" in stop.stdout
        assert "nothing was signalled" in stop.stdout and "fix: delete" in stop.stderr
        time.sleep(0.2)
        assert other.poll() is None  # still alive: pgkeel signalled nothing
        assert _state_of(other.pid) in ("S", "R")  # not even stopped (SIGSTOP)
        assert pidfile.exists()
    finally:
        other.kill()
        other.wait()


def test_another_data_directorys_server_is_not_ours(workdir: Path) -> None:
    mine, theirs = Cluster(workdir / "mine"), Cluster(workdir / "theirs")
    mine.init()
    their_pid = theirs.start().pid
    assert their_pid is not None
    (mine.data_dir / "postmaster.pid").write_text(f"{their_pid}\n{theirs.data_dir}\n")
    status = mine.status()
    assert status.state == "stale"
    assert status.stale_reason == (f"process {their_pid} is the PostgreSQL server of "
                                   f"{theirs.data_dir}")
    mine.stop()
    assert theirs.status().state == "running" and theirs.status().pid == their_pid
    with pytest.raises(ClusterError, match=f"names process {their_pid}"):
        mine.start()
    assert theirs.stop().state == "stopped"


def test_tcp_url_works_as_printed_without_printing_the_password(workdir: Path) -> None:
    project = workdir / "project"
    project.mkdir()
    first = pgkeel_cli("db", "start", cwd=project)
    assert first.returncode == 0, first.stderr
    # The first start says the server outlives the command, and how to stop it.
    assert "keeps running after pgkeel exits" in first.stderr
    assert "pgkeel db stop" in first.stderr
    again = pgkeel_cli("db", "start", cwd=project)
    assert again.returncode == 0 and "keeps running" not in again.stderr
    cluster = Cluster(project / ".pgkeel")
    password = cluster.password()
    assert password
    printed = pgkeel_cli("db", "url", "--tcp", cwd=project)
    assert printed.returncode == 0, printed.stderr
    url = printed.stdout.strip()
    assert password not in printed.stdout + printed.stderr
    assert url.startswith(f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres?passfile=")
    passfile = project / ".pgkeel" / "pgpass"
    assert passfile.stat().st_mode & 0o077 == 0  # libpq ignores a readable passfile
    env = {k: v for k, v in os.environ.items() if k not in ("PGPASSWORD", "PGPASSFILE")}
    psql = subprocess.run([str(cluster.binaries.tool("psql")), "-X", "-At", "-w", url, "-c",
                           "SELECT 'over ' || host(inet_client_addr())"], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert (psql.returncode, psql.stdout.strip()) == (0, "over 127.0.0.1"), psql.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    shown = pgkeel_cli("db", "url", "--tcp", "--show-password", cwd=project)
    assert shown.stdout.strip() == (f"postgresql://postgres:{password}@127.0.0.1:"
                                    f"{cluster.port}/postgres")
    with psycopg.connect(shown.stdout.strip()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    alone = pgkeel_cli("db", "url", "--show-password", cwd=project)
    assert alone.returncode == 2 and "--show-password needs --tcp" in alone.stderr
    assert "not running" not in printed.stderr
    assert pgkeel_cli("db", "stop", cwd=project).returncode == 0
    # Stopped: the URL is still printed (it is right once started), and stderr says why
    # it does not connect now.
    stopped = pgkeel_cli("db", "url", "--tcp", cwd=project)
    assert (stopped.returncode, stopped.stdout.strip()) == (0, url)
    assert "the server is not running, so this URL does not connect yet" in stopped.stderr
    assert "pgkeel db start" in stopped.stderr
    cluster.destroy()
    assert not (project / ".pgkeel").exists()  # destroy removes the passfile too


def test_an_exiting_process_is_waited_for_not_called_another_program(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Between SIGKILL and becoming a zombie a process has PF_EXITING set and has already
    # released its memory: empty cmdline, no exe link. CI once caught the postmaster
    # there and start() refused it as "process N is '?', not a PostgreSQL server".
    from pgkeel import _postmaster

    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "4242").mkdir()
    (proc / "4242" / "stat").write_text("4242 (postgres) R 1 4242 4242 0 -1 4194564 0 0")
    (proc / "4242" / "cmdline").write_bytes(b"")
    monkeypatch.setattr(_postmaster, "_PROC", proc)
    verdict = _postmaster.check_postmaster(4242, tmp_path / "pgdata")
    assert verdict is not None and verdict.kind == "zombie" and "exiting" in verdict.detail
