"""The notebooks exist and are committed clean: no outputs, no execution counts, kernel python3.

(Running them is the README's test command's job: pytest collects notebooks/ with --nbmake.)
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
EXPECTED = [
    "01_trace_graph.ipynb",
    "02_step_through_backprop.ipynb",
    "03_train_mlp.ipynb",
    "04_backprop_derivation.ipynb",
    "05_second_order.ipynb",
    "06_gpt_on_scalars.ipynb",
    "07_find_the_bug.ipynb",
]


def test_the_notebooks_exist():
    found = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert found == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_has_no_outputs_and_no_execution_counts(name):
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    assert notebook["nbformat"] == 4
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    code_cells = [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code_cells, f"{name} has no code"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"{name}: cell {index} has outputs"
            assert cell.get("execution_count") is None, f"{name}: cell {index} has an execution count"
        assert "attachments" not in cell or not cell["attachments"], f"{name}: cell {index} has attachments"
    assert "widgets" not in notebook["metadata"], f"{name}: saved widget state in the metadata"


@pytest.mark.parametrize("name", EXPECTED)
def test_notebook_tells_a_story_and_checks_its_numbers(name):
    notebook = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    sources = {"markdown": "", "code": ""}
    for cell in notebook["cells"]:
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        sources[cell["cell_type"]] = sources.get(cell["cell_type"], "") + text + "\n"
    assert notebook["cells"][0]["cell_type"] == "markdown"  # opens with its story
    assert len(sources["markdown"].split()) > 200, f"{name}: too little prose"
    assert re.search(r"^\s*assert ", sources["code"], re.M), f"{name}: no assert cells"
    # outputs go to temporary folders, never into the repository
    assert "tempfile" in sources["code"] or not re.search(r"save|write|open\(", sources["code"])


def test_nbstripout_verify_passes():
    nbstripout = Path(sys.executable).parent / "nbstripout"
    command = [str(nbstripout)] if nbstripout.exists() else [shutil.which("nbstripout") or "nbstripout"]
    result = subprocess.run(
        [*command, "--verify", *[str(NOTEBOOKS / name) for name in EXPECTED]],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
