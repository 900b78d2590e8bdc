"""Headless Chromium for the tests of the stepper's HTML page (Debian's chromium package)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import require_tool

# Quiet and self-contained: no sandbox (tests run as root), no GPU, no network chatter.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def run_chromium(profile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run headless Chromium with its own profile directory; stdout (e.g. --dump-dom) as text."""
    return subprocess.run(
        [require_tool("chromium"), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )
