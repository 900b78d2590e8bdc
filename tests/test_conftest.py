"""tests/conftest.py: a missing tool or dev package skips with what to install, and fails under CI=true."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CASES = """
import pytest
from conftest import TOOLS, require_tool

TOOLS["no-such-program"] = ("a program that is not there", "apt-get install no-such-program")


def test_needs_a_missing_program():
    require_tool("no-such-program")


@pytest.mark.needs("no-such-program")
def test_marked():
    pass


def test_needs_a_missing_package():
    pytest.importorskip("no_such_package_for_stepgrad")
"""


def run_cases(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_cases.py").write_text(CASES)
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rsf", "-p", "no:cacheprovider", "-p", "no:nbmake", "test_cases.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_outside_ci_a_missing_tool_skips_and_says_what_to_install(tmp_path):
    result = run_cases(tmp_path, ci=False)
    assert "3 skipped" in result.stdout and "failed" not in result.stdout, result.stdout
    assert (
        "needs a program that is not there (no-such-program), which is not installed: apt-get install" in result.stdout
    )
    assert "could not import 'no_such_package_for_stepgrad'" in result.stdout


def test_in_ci_a_missing_tool_or_dev_package_fails(tmp_path):
    result = run_cases(tmp_path, ci=True)
    # the marked test fails in its setup, which pytest counts as an error: either way the run fails
    assert result.returncode == 1 and "2 failed, 1 error" in result.stdout, result.stdout
    assert "skipped" not in result.stdout
    assert "CI=true and this test needs a program that is not there" in result.stdout
    assert "CI=true and this test needs a package that is missing, could not import 'no_such_package" in result.stdout
