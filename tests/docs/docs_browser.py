"""A real headless Chromium (the OS's ``chromium`` package) driven by Playwright.

Playwright's own browser download is never used: ``executable_path`` points at the
system's binary. Tests skip, saying why, when either is missing; CI installs
Chromium through ``tools/install_test_extensions.sh``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def artifacts_dir() -> Path:
    """CI's artefacts folder: ``$PGKEEL_ARTIFACTS``, else ``artifacts/`` at the repo root."""
    path = Path(os.environ.get("PGKEEL_ARTIFACTS") or ROOT / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_path() -> str:
    """The system Chromium's path, or skip."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on PATH: apt-get install chromium "
                "(tools/install_test_extensions.sh does it as root on Debian)")


@contextmanager
def browser_page() -> Iterator[tuple[Any, list[str]]]:
    """Yield ``(page, problems)``: a fresh page, and every console error, page error
    and request that tried to leave ``file://`` (the report must load nothing)."""
    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="pip install playwright (the test extra)")
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: problems.append(f"request: {r.url}")
                    if not r.url.startswith(("file:", "data:", "about:")) else None)
            yield page, problems
        finally:
            browser.close()
