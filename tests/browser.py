"""Headless Chromium for the tests of pages and widgets (Debian's chromium package).

Two ways to drive it, with the same flags and a fresh profile each time:
- ``run_chromium(profile, ...)``: the command line (``--screenshot``, ``--dump-dom``);
- ``chromium_page(profile)``: a Playwright page (Python package ``playwright``) driving the same
  ``/usr/bin/chromium`` through ``executable_path`` — ``playwright install`` cannot download a browser here.

In CI (``CI=true``) a missing chromium, Playwright or JupyterLab fails the tests that need it;
elsewhere they skip, saying what to install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium")
IN_CI = os.environ.get("CI") == "true"

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


def _needs(missing: bool, what: str) -> pytest.MarkDecorator:
    """Skip when ``missing`` outside CI (saying what to install); in CI the test runs and fails."""
    return pytest.mark.skipif(missing and not IN_CI, reason=f"needs {what}")


needs_chromium = _needs(CHROMIUM is None, "Debian's chromium (sudo apt-get install chromium)")
needs_playwright = _needs(
    CHROMIUM is None or importlib.util.find_spec("playwright") is None,
    "Debian's chromium and the playwright package (sudo apt-get install chromium; pip install -e '.[dev]')",
)
needs_jupyterlab = _needs(
    CHROMIUM is None or importlib.util.find_spec("playwright") is None or importlib.util.find_spec("jupyterlab") is None,
    "chromium, playwright and jupyterlab (sudo apt-get install chromium; pip install -e '.[dev]')",
)


def run_chromium(profile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run headless Chromium with its own profile directory; stdout (e.g. --dump-dom) as text."""
    assert CHROMIUM is not None, "chromium is not installed"
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@contextmanager
def chromium_page(profile: Path, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A Playwright page in headless Debian chromium, with a fresh profile at ``profile``."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM is not None, "chromium is not installed"
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
