"""``pgkeel connect`` with SUPABASE_URL in src/.env: the supabase-py handshake.

No PostgREST server runs on these machines, so what is exercised is the client side
only: supabase-py's client is built from src/.env, its select goes out over HTTP and
the refusal of an unreachable URL (and the client's own refusal of a bad URL) is
reported, without the key. A successful select is not exercised here.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from pgkeel.testing import TestDatabase

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.c2VjcmV0LXNpZ25hdHVyZQ"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def connect_cli(url: str, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["COLUMNS"] = "200"
    return subprocess.run([sys.executable, "-m", "pgkeel", "connect", "-d", url,
                           "--project", str(project), *args], capture_output=True,
                          text=True, env=env, timeout=120, check=False)


def test_unreachable_supabase_api_is_reported(pg_database: TestDatabase,
                                              tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    api = f"http://127.0.0.1:{closed_port()}"
    (tmp_path / "src" / ".env").write_text(
        f"SUPABASE_URL={api}\nSUPABASE_ANON_KEY={SECRET}\n")
    done = connect_cli(pg_database.url, tmp_path)
    assert done.returncode == 3
    line = next(x for x in done.stdout.splitlines() if x.startswith("supabase"))
    assert line.split(None, 1)[1] == (f"{api} (SUPABASE_ANON_KEY): {api} could not be "
                                      "reached: ConnectError: [Errno 111] Connection refused")
    assert done.stderr.startswith(f"error: Supabase API: {api} could not be reached")
    as_json = connect_cli(pg_database.url, tmp_path, "--json")
    assert as_json.returncode == 3
    data = json.loads(as_json.stdout)["supabase"]
    assert (data["reached"], data["key_name"], data["table"]) == (
        False, "SUPABASE_ANON_KEY", "pgkeel_handshake")
    assert SECRET not in done.stdout + done.stderr + as_json.stdout + as_json.stderr


def test_bad_url_is_refused_by_the_client(pg_database: TestDatabase,
                                          tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / ".env").write_text(
        f"SUPABASE_URL=ftp://example.invalid\nSUPABASE_KEY={SECRET}\n")
    done = connect_cli(pg_database.url, tmp_path)
    assert done.returncode == 3
    assert "the client refused the settings: Invalid URL" in done.stderr


def test_no_supabase_settings_no_handshake(pg_database: TestDatabase,
                                          tmp_path: Path) -> None:
    done = connect_cli(pg_database.url, tmp_path)
    assert done.returncode == 0 and "supabase" not in done.stdout
