"""What every test file shares: ``require_tool`` for the programs some tests need, and micrograd's oracle run.

A test that needs Graphviz's ``dot``, Debian's ``chromium`` or JupyterLab calls ``require_tool(name)``
(or carries ``@pytest.mark.needs("dot", ...)``, which calls it before the test). Where the tool is
missing the test is skipped with what to install; in CI (environment ``CI=true``) it fails instead,
so a run that silently tested less cannot pass. The same holds for the Python packages of the ``dev``
extra that tests import with ``pytest.importorskip`` (torch, micrograd, sympy, ...): in CI a missing
one fails.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import NoReturn

import pytest

# name → (what it is, how to get it)
TOOLS = {
    "dot": ("Graphviz's dot program", "apt-get install graphviz"),
    "chromium": ("Debian's chromium browser", "apt-get install chromium"),
    "jupyter-lab": ("JupyterLab", ".venv/bin/pip install -e '.[dev]'"),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(message: str) -> NoReturn:
    """What a test does when something it needs is missing: ``pytest.fail`` in CI, else ``pytest.skip``.

    ``message`` says what the test needs and how to get it ("needs root ...", "needs ... : apt-get install ...").
    """
    if in_ci():
        pytest.fail(f"CI=true and this test {message}", pytrace=False)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """The path of program ``name`` (on PATH, or beside this Python for the virtual environment's own tools).

    Missing: ``missing(...)`` says what to install (a skip, or a failure in CI).
    """
    what, install = TOOLS[name]
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        missing(f"needs {what} ({name}), which is not installed: {install}")
    return path


def _import_or_fail_in_ci(original):  # type: ignore[no-untyped-def]
    def importorskip(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original(*args, **kwargs)
        except pytest.skip.Exception as skipped:
            missing(f"needs a package that is missing, {skipped.msg}: install the dev extra (pip install -e '.[dev]')")

    return importorskip


if in_ci():  # before any test module runs its importorskip, at collection or in a test
    pytest.importorskip = _import_or_fail_in_ci(pytest.importorskip)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*tools): the test needs these programs (see tests/conftest.py)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        for name in marker.args:
            require_tool(name)


@pytest.fixture(scope="session")
def micrograd_moons() -> tuple[list[float], list[float]]:
    """micrograd 0.1.0's own demo loop for 100 steps on the demo's 100 points: ``(losses, accuracies)`` per step.

    The oracle for ``stepgrad demo``'s numbers (test_demo.py) and for the training trajectory
    (test_micrograd_compat.py): micrograd's engine and ``MLP``, seeded as its notebook seeds them.
    Computed once per session (about 15 s with the collector off).
    """
    micrograd_engine = pytest.importorskip("micrograd.engine")
    micrograd_nn = pytest.importorskip("micrograd.nn")
    from oracles import micrograd_demo_loop

    from nn import make_moons
    from nn.demo import DEFAULT_SEED, DEFAULT_STEPS

    X, y = make_moons(100, noise=0.1, seed=DEFAULT_SEED, signed=True)
    losses, accuracies, _ = micrograd_demo_loop(micrograd_engine.Value, micrograd_nn.MLP, X, y, DEFAULT_STEPS)
    return losses, accuracies
