"""The type hints are checked: ``mypy --strict`` on ``autograd`` and plain ``mypy`` on ``nn`` (issue 9).

Both packages ship ``py.typed`` (tests/test_packaging.py checks the wheel), so users' type checkers read
these hints; this test keeps them true. mypy comes with the ``dev`` extra.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("args", [["--strict", "autograd"], ["nn"]], ids=["strict autograd", "nn"])
def test_mypy_finds_no_errors(args):
    pytest.importorskip("mypy")  # in the dev extra: a failure in CI when missing
    result = subprocess.run(
        [sys.executable, "-m", "mypy", *args], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout
