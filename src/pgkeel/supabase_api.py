"""The Supabase handshake of ``pgkeel connect``, through the official client.

The skill checks a Supabase project by building supabase-py's client from
``SUPABASE_URL`` and a key kept in ``src/.env`` and running
``client.table(...).select(...)`` (supabase-py docs, "Fetch data"), which goes through
PostgREST like the application does. :func:`handshake` does exactly that and turns
every outcome into a :class:`Handshake`: rows read, PostgREST's error (which still
proves the API answered), a URL that cannot be reached, or a key the client refuses.
The key is never part of a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["KEY_NAMES", "Handshake", "handshake", "supabase_env"]

#: ``src/.env`` keys holding an API key, the first present wins.
KEY_NAMES = ("SUPABASE_ANON_KEY", "SUPABASE_PUBLISHABLE_KEY", "SUPABASE_KEY",
             "SUPABASE_SERVICE_ROLE_KEY")


@dataclass(frozen=True, slots=True)
class Handshake:
    """The result: ``url`` and ``table`` asked, ``reached`` when PostgREST answered,
    ``ok`` when it returned rows (``rows`` of them, at most one asked), ``key_name``
    (never the key) and ``detail``, one sentence."""

    url: str
    table: str
    key_name: str
    reached: bool
    ok: bool
    detail: str
    rows: int | None = None


def supabase_env(root: Path) -> tuple[str, str, str] | None:
    """``(url, key_name, key)`` from ``root/src/.env``, or None when it lacks
    ``SUPABASE_URL`` or every key of :data:`KEY_NAMES`."""
    from dotenv import dotenv_values

    path = root / "src" / ".env"
    if not path.is_file():
        return None
    values = dotenv_values(path)
    url = values.get("SUPABASE_URL")
    name = next((k for k in KEY_NAMES if values.get(k)), None)
    if not url or name is None:
        return None
    return url, name, str(values[name])


def handshake(url: str, key_name: str, key: str, table: str, *,
              timeout_s: float = 5.0) -> Handshake:
    """``create_client(url, key).table(table).select("*").limit(1).execute()``.

    ``timeout_s`` bounds the HTTP request (seconds). Never raises for what the
    network, PostgREST or the client report: each becomes the result's ``detail``.
    """
    try:
        import httpx
        from postgrest.exceptions import APIError
        from supabase import ClientOptions, SupabaseException, create_client
        from supabase_auth.errors import AuthError
    except ImportError:
        return Handshake(url, table, key_name, False, False,
                         "supabase-py is not installed: pip install 'pgkeel[supabase]'")

    def result(reached: bool, ok: bool, detail: str, rows: int | None = None) -> Handshake:
        return Handshake(url, table, key_name, reached, ok, detail, rows)

    try:
        client = create_client(url, key, options=ClientOptions(
            postgrest_client_timeout=timeout_s, postgrest_client_retry=False,
            auto_refresh_token=False, persist_session=False))
    except (SupabaseException, AuthError) as exc:
        return result(False, False, f"the client refused the settings: {exc}")
    try:
        response = client.table(table).select("*").limit(1).execute()
    except APIError as exc:
        return result(True, False, f"PostgREST answered with an error: "
                      f"{exc.code or ''} {exc.message or exc}".strip())
    except httpx.HTTPError as exc:
        return result(False, False, f"{url} could not be reached: "
                      f"{type(exc).__name__}: {exc}")
    return result(True, True, f"select on {table} returned {len(response.data)} row(s)",
                  len(response.data))
