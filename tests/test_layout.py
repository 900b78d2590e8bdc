"""Tests for autograd.layout: one bounded dot run, a time limit, and never an orphaned dot.

The attack of issue 10 item 10: ``x*x*…*x`` with 80 factors (81 values) made Graphviz's
network simplex run for minutes, and a killed caller left ``dot`` running.
"""

from __future__ import annotations

import base64
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from viz_svg import node_texts

from autograd import Value
from autograd.layout import BOUNDS, LayoutTimeout, fit_svg, notebook_html, run_dot
from autograd.viz import to_svg

pytestmark = pytest.mark.skipif(
    shutil.which("dot") is None and os.environ.get("CI") != "true",
    reason="needs Graphviz's dot (apt-get install graphviz)",
)


def slow_source(n: int = 1500) -> str:
    """A random DAG whose layout takes Graphviz far longer than a second even with the bounds."""
    rng = random.Random(1)
    edges = [(rng.randrange(i), i) for i in range(1, n) for _ in range(3)]
    return "digraph {" + ";".join(f"a{a}->a{b}" for a, b in edges) + "}"


def dot_children(pid: int) -> list[int]:
    """The pids of running ``dot`` processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            state, ppid = fields[1].split()[:2]
        except (OSError, IndexError):
            continue
        if comm == "dot" and int(ppid) == pid and state != "Z":
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def power_chain(factors: int, op: str) -> Value:
    x = Value(1.01, label="x")
    y = x
    for _ in range(factors - 1):
        y = y * x if op == "*" else y + x
    y.label = "y"
    return y


@pytest.mark.parametrize("op", ["*", "+"])
def test_one_value_used_80_times_lays_out(op):
    y = power_chain(80, op)
    y.backward()
    svg = to_svg(y, timeout=60)  # unbounded, dot needed minutes here; a regression fails with LayoutTimeout
    nodes = node_texts(svg)
    expected = 80 * 1.01**79 if op == "*" else 80.0  # d(x^80)/dx = 80 x^79; d(80 x)/dx = 80
    assert nodes["x"][2] == f"grad {expected:.4f}"
    assert "-Gnslimit=2" in BOUNDS and "-Gnslimit1=2" in BOUNDS


def test_a_layout_over_the_time_limit_stops_with_one_line_and_no_dot_left():
    with pytest.raises(LayoutTimeout) as info:
        run_dot(slow_source(), timeout=0.5, what="1500 values")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("Graphviz's dot took more than 0.5 s to lay out 1500 values and was stopped")
    assert "timeout=" in message and "depth=" in message
    assert dot_children(os.getpid()) == []


def test_keyboard_interrupt_stops_dot():
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_dot(slow_source(), timeout=None)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert dot_children(os.getpid()) == []


CALLER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from test_layout import slow_source
    from autograd.layout import run_dot
    print("laying out", flush=True)
    run_dot(slow_source(), timeout=None)
    """
)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="dies-with-parent is Linux's PR_SET_PDEATHSIG")
def test_dot_dies_with_a_killed_caller(how):
    tests = os.path.dirname(__file__)
    caller = subprocess.Popen(
        [sys.executable, "-c", CALLER.format(tests=tests)], stdout=subprocess.PIPE, text=True, cwd=tests
    )
    try:
        assert caller.stdout.readline().strip() == "laying out"
        deadline = time.monotonic() + 30
        while not (children := dot_children(caller.pid)):
            assert time.monotonic() < deadline, "dot never started"
            time.sleep(0.05)
        (dot,) = children
        caller.send_signal(how)
        caller.wait(timeout=30)
        deadline = time.monotonic() + 10
        while alive(dot) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(dot), f"dot (pid {dot}) outlived its killed caller"
    finally:
        caller.kill()
        caller.wait()


def test_dot_errors_and_bad_arguments_are_named():
    with pytest.raises(RuntimeError, match=r"Graphviz's dot failed \(exit status 1\): .*syntax error"):
        run_dot("digraph { a -> }")
    with pytest.raises(ValueError, match=r"fmt=\.\.\.\) must be a Graphviz output format such as 'svg', got 'svg; rm'"):
        run_dot("digraph {}", fmt="svg; rm")
    with pytest.raises(ValueError, match=r"timeout=\.\.\. must be None or a positive number of seconds, got 0"):
        run_dot("digraph {}", timeout=0)


def test_notebook_html_never_shows_text_under_10_px_and_never_above_natural_size():
    """A drawing w pt wide whose smallest text is f pt: at least w·10/f px wide (its text ≥ 10 px), at most its
    natural w·4/3 px; between the two it takes the cell's width, and its box scrolls when the cell is narrower."""
    svg = run_dot('digraph { node [fontsize=14]; edge [fontsize=12]; a -> b [label="1.0000"]; b -> c }').decode()
    width_pt = float(re.search(r'<svg width="([\d.]+)pt"', svg)[1])
    shown = notebook_html(svg)
    assert shown.startswith('<div class="stepgrad-drawing" style="overflow: auto;') and shown.endswith("></div>")
    source = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', shown)[1]
    assert base64.b64decode(source).decode("utf-8") == svg  # the drawing itself, as an image
    least = float(re.search(r"min-width: ([\d.]+)px", shown)[1])
    most = float(re.search(r"max-width: ([\d.]+)px", shown)[1])
    assert most == pytest.approx(width_pt * 4 / 3, abs=0.5)
    assert least >= width_pt * 10 / 12 - 0.5  # the edge label's 12 pt decides: 10 px at this width


def test_fit_svg_scales_to_the_width_it_is_shown_in():
    svg = run_dot("digraph { a -> b }").decode()
    fitted = fit_svg(svg)
    assert '<svg width="100%" style="max-width: ' in fitted and "viewBox=" in fitted
    assert 'height="' not in fitted.split("<svg", 1)[1].split(">", 1)[0]  # the height follows the width


# --------------------------------------------------------------------------- a value used all along a chain


def _operands(node):
    return list(enumerate(node.parents))


def test_a_value_used_all_along_a_chain_is_named_again_beyond_its_nearest_use():
    from autograd.graph import topological_order
    from autograd.layout import repeated_uses

    x = Value(2.0, label="x")
    y = x
    for _ in range(99):
        y = y + x
    order = topological_order(y)
    repeated = repeated_uses(order, _operands)
    # x's k-th use spans ~2k ranks: all but the first (the one beside x) and the second (1 rank) repeat x
    assert len(repeated) == 98
    assert all(node.parents[k] is x for node, k in repeated)


def test_ordinary_graphs_draw_every_edge():
    from autograd.examples import tanh_neuron
    from autograd.graph import topological_order
    from autograd.layout import repeated_uses

    o = tanh_neuron().o
    assert repeated_uses(topological_order(o), _operands) == set()
    inputs = [Value(float(i)) for i in range(2)]  # an input used by 16 neurons of one layer: short edges
    rng = random.Random(0)
    layer = [sum((rng.uniform(-1, 1) * x for x in inputs), Value(0.0)).tanh() for _ in range(16)]
    out = sum(layer, Value(0.0))
    assert repeated_uses(topological_order(out), _operands) == set()
    x = Value(1.0)  # a few long edges (a residual): under the budget
    h = x
    for _ in range(12):
        h = (h * 0.5).tanh()
    assert repeated_uses(topological_order(h + x), _operands) == set()
