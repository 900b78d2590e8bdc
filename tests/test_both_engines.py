"""The oracle and property suites run against the reference engine too (``STEPGRAD_PURE=1``).

The default run tests the engine as installed: the reference (autograd/engine.py) with the
accelerator (autograd/_fast.py) over it. This test runs the same suites once more in a fresh
interpreter with the accelerator off, so both engines pass one test suite.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from autograd import engine

TESTS = pathlib.Path(__file__).parent
ORACLE_SUITES = [
    "test_engine.py",
    "test_numbers.py",
    "test_custom_op.py",
    "test_functional.py",
    "test_graph.py",
    "test_no_grad.py",
    "test_micrograd_compat.py",
    "test_microgpt_compat.py",
    "test_second_order.py",  # Hessians and Newton steps against sympy
    "test_losses.py",  # against PyTorch float64
    "test_optim.py",
    "test_stepper.py",  # the stepper equals backward() bit for bit
    "test_gpt_views.py",  # closed forms of the softmax backward
    "test_stepper_causal.py",  # the stepper shows no effect before its cause, with backward()'s numbers
    "test_export_gpt.py",  # the GPT's loss and gradients against its PyTorch export, float64
    "test_compile.py",  # compiled == eager, with the reference engine tracing
    "test_max.py",  # the max primitive: sympy, PyTorch, compiled == eager
    "test_compile_fuzz.py",  # compiled == eager at the edges of the floats
    "test_fast.py",  # skipped there, and says why
    "test_check.py",  # a learner's graph mirrored as Values, checked against PyTorch float64
    "test_engine_layout.py",  # old pickles load; every pass takes the one chain-rule step
    "test_registry.py",  # a primitive added in one table line, used everywhere; array forwards == float forwards
]


def test_the_default_run_uses_the_accelerator():
    assert engine.ACCELERATED == (os.environ.get("STEPGRAD_PURE", "") in ("", "0"))


def test_oracle_and_property_suites_pass_on_the_reference_engine():
    suites = [str(TESTS / name) for name in ORACLE_SUITES if (TESTS / name).exists()]
    env = dict(os.environ, STEPGRAD_PURE="1")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *suites],
        cwd=TESTS.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary, summary
    assert int(summary.split(" passed")[0].split()[-1]) > 500, summary  # the suites really ran
