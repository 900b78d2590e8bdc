"""The README's examples run and print exactly what the README says they print.

Every ```python block followed by "prints" and a ``` block is run in a fresh interpreter (in a
temporary folder, so nothing lands in the repository) and its stdout compared line by line.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE_FREE = r"(?:(?!```).)*?"  # text that does not cross a code fence
EXAMPLE = re.compile(rf"```python\n(?P<code>{FENCE_FREE})```\s*\nprints\s*\n\s*```\n(?P<output>{FENCE_FREE})```", re.S)


def examples() -> list[tuple[str, str]]:
    return [(m["code"], m["output"]) for m in EXAMPLE.finditer(README.read_text(encoding="utf-8"))]


def test_the_readme_has_runnable_examples_with_their_output():
    assert len(examples()) >= 3


@pytest.mark.parametrize("index", range(len(examples())))
def test_readme_example_prints_what_the_readme_says(index, tmp_path):
    code, expected = examples()[index]
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == expected.splitlines()


def test_readme_names_the_two_commands_and_leaves_the_performance_section_to_the_benchmark():
    text = README.read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/stepgrad demo" in text
    assert "\n.venv/bin/python -m pytest\n" in text
    assert "## Performance" in text
