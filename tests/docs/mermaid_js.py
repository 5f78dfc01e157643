"""mermaid.js, vendored at test time from the npm registry (``npm pack``), cached.

Mermaid's own parser and renderer are the only honest test of the Mermaid pgkeel
writes; the package is not a pgkeel dependency, so the test fetches it once with
the ordinary npm client into pytest's cache and skips, saying why, when npm or the
registry is out of reach.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

#: The major version GitHub renders with at the time of writing (mermaid 11).
SPEC = "mermaid@11"


def mermaid_js(cache: pytest.Cache) -> Path:
    """Path of ``mermaid.min.js`` (UMD build), fetched on first use; skip if impossible."""
    folder = cache.mkdir("pgkeel-mermaid-11")
    script = folder / "mermaid.min.js"
    if script.exists():
        return script
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: cannot fetch mermaid.js to render the diagrams")
    try:
        done = subprocess.run([npm, "pack", SPEC, "--silent", "--pack-destination",
                               str(folder)], capture_output=True, text=True, timeout=300,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.skip("npm pack mermaid timed out (no registry access?)")
    tarballs = sorted(folder.glob("mermaid-*.tgz"))
    if done.returncode != 0 or not tarballs:
        pytest.skip(f"npm pack {SPEC} failed (no registry access?): {done.stderr.strip()[:200]}")
    with tarfile.open(tarballs[-1]) as tar:
        member = tar.getmember("package/dist/mermaid.min.js")
        extracted = tar.extractfile(member)
        assert extracted is not None
        script.write_bytes(extracted.read())
    tarballs[-1].unlink()
    return script
