"""The stepper page of a 1,000-node graph and a saved SVG, opened in headless Chromium (Playwright).

The page's size and node positions are checked here; its load time is measured by
tests/benchmarks/bench_viz.py (speed is a benchmark's job, not a test's).
"""

from __future__ import annotations

import random
import shutil

import pytest
from browser import chromium_page, needs_playwright

from autograd import Value, topological_order
from autograd.examples import tanh_neuron
from autograd.stepper import backward_steps
from autograd.viz import save_svg
from nn import MLP

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")

GEOMETRY = """() => [...document.querySelectorAll(".sg-viewport g.node")].map((g) => {
  const shape = g.querySelector("polygon, ellipse, path");  // a path: a constant's rounded box
  return g.querySelector("title").textContent + " " + (shape.getAttribute("points") || shape.getAttribute("d") ||
    shape.getAttribute("cx") + "," + shape.getAttribute("cy"));
})"""

SHOWN = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const player = document.getElementById("player");
  const current = [...player.querySelectorAll("g.node polygon")].find((p) => p.getAttribute("fill") === "#ffd54f");
  const svg = player.querySelector(".sg-viewport svg");
  return {
    step: player.getAttribute("data-step"),
    counter: player.querySelector(".sg-counter").textContent,
    slider: player.querySelector(".sg-slider").value,
    current: box(current),
    viewport: box(player.querySelector(".sg-viewport")),
    explain: box(player.querySelector(".sg-explain")),
    window: [innerWidth, innerHeight],
    fontPx: parseFloat(getComputedStyle(svg.querySelector("g.node text")).fontSize) * svg.getScreenCTM().a,
  };
}"""


def thousand_node_loss() -> Value:
    """The squared error of MLP(2, [8, 8, 1]) on six points: under 1,000 values, over 700 backward steps."""
    model = MLP(2, [8, 8, 1], seed=1)
    rng = random.Random(0)
    points = [(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.choice([-1, 1])) for _ in range(6)]
    return sum(((model([x0, x1]) - y) ** 2 for x0, x1, y in points), Value(0.0))


def inside(inner, outer, slack=1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


@needs_dot
@needs_playwright
def test_the_page_of_a_1000_node_graph_is_small_and_nothing_moves(tmp_path):
    loss = thousand_node_loss()
    assert 900 < len(topological_order(loss)) <= 1000
    steps = backward_steps(loss)
    path = steps.save_html(tmp_path / "big.html")
    assert path.stat().st_size <= 3_000_000  # every step, one drawing
    count = len(steps)
    with chromium_page(tmp_path / "profile", 1400, 900) as page:
        page.goto(path.as_uri())
        first = page.evaluate(GEOMETRY)
        assert len(first) > 1000  # values and op nodes
        for k in (1, 2, count // 2, count - 1, count):
            page.evaluate(f"() => {{ location.hash = '#step-{k}'; }}")
            page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{k}'")
            shown = page.evaluate(SHOWN)
            assert (shown["counter"], shown["slider"]) == (f"step {k} / {count}", str(k))
            assert inside(shown["current"], shown["viewport"]), (k, shown)
            assert inside(shown["explain"], [0, 0, *shown["window"]])  # the explanation stays on screen
            assert shown["fontPx"] >= 12
            assert page.evaluate(GEOMETRY) == first  # no node moved
            page.screenshot(path=str(tmp_path / f"big-step-{k}.png"))
        page.keyboard.press("ArrowLeft")
        assert page.evaluate("() => location.hash") == f"#step-{count - 1}"  # the URL names the step shown


@needs_dot
@needs_playwright
def test_a_saved_svg_opened_alone_fits_the_window(tmp_path):
    v = tanh_neuron()
    v.o.backward()
    path = save_svg(v.o, tmp_path / "neuron_graph.svg")
    with chromium_page(tmp_path / "profile", 700, 500) as page:
        page.goto(path.as_uri())
        right = page.evaluate(
            "() => Math.max(...[...document.querySelectorAll('g.node')].map((g) => g.getBoundingClientRect().right))"
        )
        width = page.evaluate("() => document.documentElement.getBoundingClientRect().width")
        assert right <= 700 and width <= 700  # the output node o is not cut off on the right
        page.screenshot(path=str(tmp_path / "neuron_graph.png"))
