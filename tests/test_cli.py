from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def rapport(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


@pytest.mark.slow
def test_demo_seeds_a_living_system(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    first = rapport(["demo"], env)
    assert first.returncode == 0, first.stderr
    assert "mei@demo.rapport.test" in first.stdout and "alex@demo.rapport.test" in first.stdout
    assert "24 profiles created" in first.stdout and "1 match" in first.stdout
    again = rapport(["demo"], env)
    assert again.returncode == 0, again.stderr
    assert "24 already there" in again.stdout
    assert (tmp_path / "rapport.db").exists()


@pytest.mark.slow
def test_admin_grant_sets_a_role_on_an_existing_account(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_DATABASE_URL": "",
        "COLUMNS": "200",
    }
    missing = rapport(["admin", "grant", "nobody@example.test"], env)
    assert missing.returncode == 1 and "No account" in missing.stdout
    assert rapport(["demo"], env).returncode == 0
    granted = rapport(["admin", "grant", "Mei@demo.rapport.test", "--role", "moderator"], env)
    assert granted.returncode == 0, granted.stderr
    assert "moderator role" in granted.stdout
    bad = rapport(["admin", "grant", "mei@demo.rapport.test", "--role", "root"], env)
    assert bad.returncode != 0
