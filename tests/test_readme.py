"""The README's examples run and print what the README says they print.

Every ```python block followed by "prints" and a ``` block is run in a fresh interpreter (in a
temporary folder, so nothing lands in the repository) and its stdout compared line by line: those
outputs follow from hand derivations the README states. A block followed by "prints, for example,"
shows numbers of one run (training): its output is compared line by line with every number left
out, and the training example's numbers are checked for properties, never for their digits.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE_FREE = r"(?:(?!```).)*?"  # text that does not cross a code fence
EXAMPLE = re.compile(
    rf"```python\n(?P<code>{FENCE_FREE})```\s*\n"
    rf"prints(?P<loose>, for example,)?\s*\n\s*```\n(?P<output>{FENCE_FREE})```",
    re.S,
)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def examples(loose: bool = False) -> list[tuple[str, str]]:
    found = EXAMPLE.finditer(README.read_text(encoding="utf-8"))
    return [(m["code"], m["output"]) for m in found if bool(m["loose"]) == loose]


def run_example(code: str, folder: Path) -> str:
    result = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_has_runnable_examples_with_their_output():
    assert len(examples()) >= 2 and len(examples(loose=True)) >= 1


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_prints_what_the_readme_says(index, tmp_path):
    code, expected = examples()[index]
    assert run_example(code, tmp_path).splitlines() == expected.splitlines()


@pytest.mark.parametrize("index", range(len(examples(loose=True))))
def test_readme_training_example_prints_lines_of_the_shown_form(index, tmp_path):
    code, shown = examples(loose=True)[index]
    printed = run_example(code, tmp_path)
    assert [NUMBER.sub("#", line) for line in printed.splitlines()] == [
        NUMBER.sub("#", line) for line in shown.splitlines()
    ]
    # the one such example trains with nn (Adam on 100 moons for 60 epochs), saves and reloads
    trained = re.search(r"^loss (\S+) -> (\S+), accuracy (\d+)%$", printed, re.M)
    assert trained is not None, printed
    first, last, accuracy = float(trained[1]), float(trained[2]), int(trained[3])
    assert last < first / 10 and accuracy >= 90, printed
    assert printed.splitlines()[-1] == "True"  # the reloaded model predicts identically


def test_readme_names_the_two_commands_and_leaves_the_performance_section_to_the_benchmark():
    text = README.read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/stepgrad demo" in text
    assert "\n.venv/bin/python -m pytest\n" in text
    assert "## Performance" in text


def test_the_quick_starts_apt_line_installs_every_program_the_tests_need():
    # a literal follower of the quick start must not get skipped tests: every program tests/conftest.py's
    # require_tool installs with apt-get is on the one apt-get line (before the clone, as root or sudo)
    from conftest import TOOLS

    text = README.read_text(encoding="utf-8")
    quick_start = text[text.index("## Quick start") : text.index("**1. Set up and run the demo**")]
    lines = [line for line in quick_start.splitlines() if "apt-get install -y" in line and "git clone" not in line]
    assert len(lines) == 1, lines
    installed = set(lines[0].split("apt-get install -y", 1)[1].split("#")[0].split())
    wanted = {hint.split("apt-get install ", 1)[1] for _, hint in TOOLS.values() if hint.startswith("apt-get install")}
    assert wanted == {"graphviz", "chromium"}  # what conftest names today; a new tool joins the line too
    assert wanted | {"python3-venv"} <= installed, installed
