"""The web client's browser suite (web/e2e, Playwright driving Debian's Chromium) as one test.

`npx playwright test` starts its own Rapport server (web/e2e/global-setup.ts: a free port, a
temp SQLite file, RAPPORT_ENV=test, relaxed limits) serving web/dist, and runs two people
through sign-up, matching, real-time chat, an offline spell, AI assist and safety, in English
and in Chinese. Skipped with a reason when node or Chromium is missing, unless
RAPPORT_REQUIRE_BROWSER=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
CHROMIUM = Path(os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium"))
REQUIRED = os.environ.get("RAPPORT_REQUIRE_BROWSER") == "1"
SOURCES = ["src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts"]

pytestmark = pytest.mark.slow


def _missing() -> str | None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node/npm is not on PATH"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


def _newest(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        files = path.rglob("*") if path.is_dir() else [path]
        for f in files:
            if f.is_file():
                newest = max(newest, f.stat().st_mtime)
    return newest


def _run(args: list[str], env: dict[str, str], timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=WEB, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ready(env: dict[str, str]) -> None:
    """Install web/node_modules and build web/dist when missing or older than the sources."""
    if not (WEB / "node_modules" / "@playwright" / "test").is_dir():
        done = _run(["npm", "ci", "--no-audit", "--no-fund"], env, 600)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    index = WEB / "dist" / "index.html"
    if not index.is_file() or _newest([WEB / s for s in SOURCES]) > index.stat().st_mtime:
        done = _run(["npm", "run", "build"], env, 300)
        assert done.returncode == 0, f"npm run build failed:\n{done.stdout}\n{done.stderr}"


def test_browser_suite() -> None:
    reason = _missing()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"RAPPORT_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    env = {
        **os.environ,
        "RAPPORT_PYTHON": sys.executable,
        "RAPPORT_CHROMIUM": str(CHROMIUM),
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    _ready(env)
    proc = _run(["npx", "playwright", "test"], env, 600)
    output = f"{proc.stdout}\n{proc.stderr}".strip()
    if proc.returncode != 0:
        print(output)
    assert proc.returncode == 0, f"npx playwright test exited {proc.returncode}:\n{output[-8000:]}"
