"""Headless Chromium for the tests of pages and widgets (Debian's chromium package).

Two ways to drive it, with the same flags and a fresh profile each time:
- ``run_chromium(profile, ...)``: the command line (``--screenshot``, ``--dump-dom``);
- ``chromium_page(profile)``: a Playwright page (Python package ``playwright``) driving the same
  ``/usr/bin/chromium`` through ``executable_path`` — ``playwright install`` cannot download a browser here.

In CI (``CI=true``) a missing chromium, Playwright or JupyterLab fails the tests that need it;
elsewhere they skip, saying what to install (``conftest.require_tool`` and ``pytest.importorskip``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
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


# Marks for the tests that need these (tests/conftest.py: a skip saying what to install, a failure in CI).
needs_chromium = pytest.mark.needs("chromium")
needs_playwright = pytest.mark.needs("chromium")  # chromium_page() also imports playwright (importorskip)
needs_jupyterlab = pytest.mark.needs("chromium", "jupyter-lab")


# Run on an element (Playwright's locator.evaluate): the numbers of its text that a line break splits, the
# number of lines its numbers sit on, and the text. A number is split when its characters lie on two lines.
BROKEN_NUMBERS = r"""(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const pieces = [];
  let text = "";
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { pieces.push([n, text.length]); text += n.data; }
  const at = (k) => {  // the text node and offset of character k
    let i = pieces.length - 1;
    while (pieces[i][1] > k) { i--; }
    return [pieces[i][0], k - pieces[i][1]];
  };
  const broken = [];
  let lines = new Set();
  for (const m of text.matchAll(/-?\d+\.\d+(?:e[-+]?\d+)?/g)) {
    const range = document.createRange();
    range.setStart(...at(m.index));
    range.setEnd(...at(m.index + m[0].length - 1));
    range.setEnd(range.endContainer, range.endOffset + 1);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    tops.forEach((t) => lines.add(t));
    if (tops.size > 1) { broken.push(m[0]); }
  }
  return {broken, lines: lines.size, text};
}"""


# Run on an element holding a drawing, as an <img> of SVG (a data URL) or as inline <svg>: the number of its
# texts and the smallest as displayed, in CSS px (font size in user units × displayed px per user unit).
DRAWING_TEXT = r"""(el) => {
  const img = el.querySelector("img"), svg = el.querySelector("svg");
  if (img) {
    const bytes = Uint8Array.from(atob(img.src.split(",")[1]), (c) => c.charCodeAt(0));
    const text = new TextDecoder().decode(bytes);
    const width = parseFloat(/viewBox="[-\d.]+ [-\d.]+ ([\d.]+)/.exec(text)[1]);
    const sizes = [...text.matchAll(/<text[^>]*font-size="([\d.]+)"/g)].map((m) => parseFloat(m[1]));
    return {count: sizes.length, smallest: Math.min(...sizes) * img.getBoundingClientRect().width / width};
  }
  const sizes = [...svg.querySelectorAll("text")].map((t) => parseFloat(getComputedStyle(t).fontSize));
  return {count: sizes.length, smallest: Math.min(...sizes) * svg.getScreenCTM().a};
}"""


def run_chromium(profile: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run headless Chromium with its own profile directory; stdout (e.g. --dump-dom) as text."""
    return subprocess.run(
        [require_tool("chromium"), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


@contextmanager
def chromium_page(profile: Path, width: int = 1400, height: int = 900) -> Iterator[Any]:
    """A Playwright page in headless Debian chromium, with a fresh profile at ``profile``."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright  # in CI: a failure
    chromium = require_tool("chromium")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def jupyterlab(root_dir: Path, state_dir: Path) -> Iterator[str]:
    """A JupyterLab server on 127.0.0.1 serving ``root_dir``; yields its base URL with the token as query.

    Its configuration, runtime files and workspaces live in ``state_dir`` (nothing of the user's is read);
    ``--expose-app-in-browser`` lets a test run commands such as Run All (``window.jupyterapp``).
    The server is stopped (its process group killed) when the block ends.
    """
    import secrets
    import signal
    import sys
    import time
    import urllib.request

    port, token = _free_port(), secrets.token_hex(16)
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(state_dir / "config"),
        JUPYTER_RUNTIME_DIR=str(state_dir / "runtime"),
        IPYTHONDIR=str(state_dir / "ipython"),
    )
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root_dir}", "--expose-app-in-browser",
        f"--LabApp.workspaces_dir={state_dir / 'workspaces'}", f"--LabApp.user_settings_dir={state_dir / 'user'}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    notification = state_dir / "user" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no news pop-up over the cells
    log = open(state_dir / "jupyterlab.log", "wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start: see {state_dir / 'jupyterlab.log'}")
            time.sleep(0.3)
        yield f"{base}/lab/tree/{{path}}?token={token}"
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
