"""The stepper page of a 1,000-node graph and a saved SVG, opened in headless Chromium (Playwright).

The page's size and node positions are checked here; its load time is measured by
tests/benchmarks/bench_viz.py (speed is a benchmark's job, not a test's).
"""

from __future__ import annotations

import random
import shutil

import pytest
from browser import BROKEN_NUMBERS, DRAWING_TEXT, chromium_page, needs_playwright

from autograd import Value, topological_order
from autograd.examples import tanh_neuron
from autograd.stepper import backward_steps
from autograd.viz import draw_dot, save_svg
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


EVERY_NODE = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const player = document.getElementById("player");
  const svg = player.querySelector(".sg-viewport svg");
  return {
    step: player.getAttribute("data-step"),
    viewport: box(player.querySelector(".sg-viewport")),
    nodes: [...player.querySelectorAll("g.node")].map((g) => [g.querySelector("title").textContent, box(g)]),
    fontPx: parseFloat(getComputedStyle(svg.querySelector("g.node text")).fontSize) * svg.getScreenCTM().a,
  };
}"""


@needs_dot
@needs_playwright
def test_the_neurons_page_opens_whole_at_1280_by_800_in_every_frame(tmp_path):
    """The demo's backprop_steps.html (the tanh neuron): a small graph opens whole, readable (node text ≥ 10 px),
    and stays whole at every frame — no leaf cut off on the left, no `o` cut off on the right."""
    steps = backward_steps(tanh_neuron().o)  # as nn/demo.py writes it
    path = steps.save_html(tmp_path / "backprop_steps.html")
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        page.goto(path.as_uri())
        for k in range(1, len(steps) + 1):
            page.evaluate(f"() => {{ location.hash = '#step-{k}'; }}")
            page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{k}'")
            shown = page.evaluate(EVERY_NODE)
            assert len(shown["nodes"]) == 15  # 10 values and 5 op nodes
            cut = [name for name, box in shown["nodes"] if not inside(box, shown["viewport"])]
            assert not cut, (k, cut, shown["viewport"])
            assert shown["fontPx"] >= 10, shown["fontPx"]
            if k in (1, 3):
                page.screenshot(path=str(tmp_path / f"neuron-frame-{k}.png"))


# As JupyterLab shows an output: HTML when the bundle has it (its rule for SVG in HTML output below), else the SVG
# fitted to the cell (JupyterLab's image/svg+xml renderer: max-width 100 %). The cell is 960 px wide.
CELL_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
body {{ margin: 0; }} .cell {{ width: 960px; }} .cell svg {{ max-width: 100%; height: auto; }}
</style></head><body>{cells}</body></html>"""

SHOWN_IN_CELLS = """() => [...document.querySelectorAll(".cell")].map((cell) => {
  const c = cell.getBoundingClientRect(), shown = cell.firstElementChild.getBoundingClientRect();
  return {cell: [c.left, c.right], shown: [shown.left, shown.right]};  // the cell, the scrolling box (or the SVG)
})"""


def as_jupyter_shows(picture) -> str:
    """One output cell: the HTML of ``picture``'s bundle, or its SVG fitted to the cell as JupyterLab shows SVG."""
    bundle = picture._repr_mimebundle_()
    if "text/html" in bundle:
        return f'<div class="cell">{bundle["text/html"]}</div>'
    svg = bundle["image/svg+xml"]
    return f'<div class="cell">{svg[svg.index("<svg") :]}</div>'


@needs_dot
@needs_playwright
def test_static_drawings_in_a_960_px_cell_show_text_of_at_least_10_px(tmp_path):
    """Notebook 02's ``steps[0].draw()``, ``steps[3].draw()`` and the neuron's ``draw_dot``, and notebook 06's
    ``step.draw_head()`` (tall, top to bottom): in a 960-px cell no text is under 10 px; what does not fit at
    that size scrolls inside the cell instead of running off it."""
    from nn import GPT, CharTokenizer, GPTConfig
    from nn.gpt import named_step

    steps = backward_steps(tanh_neuron().o)
    neuron = tanh_neuron()
    neuron.o.backward()
    tokenizer = CharTokenizer.from_documents(["emma", "olivia", "ava"])
    step = named_step(GPT(GPTConfig(vocab_size=tokenizer.vocab_size), seed=42), tokenizer.encode("emma"), head=2)
    step.loss.backward()
    pictures = [steps[0].draw(), steps[3].draw(), draw_dot(neuron.o, edge_labels=True), step.draw_head()]
    page_path = tmp_path / "cells.html"
    page_path.write_text(CELL_PAGE.format(cells="\n".join(as_jupyter_shows(p) for p in pictures)), encoding="utf-8")
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        page.goto(page_path.as_uri())
        texts = [cell.evaluate(DRAWING_TEXT) for cell in page.locator(".cell").all()]
        boxes = page.evaluate(SHOWN_IN_CELLS)
        page.screenshot(path=str(tmp_path / "cells.png"), full_page=True)
    assert len(texts) == len(pictures)
    for k, (text, box) in enumerate(zip(texts, boxes)):
        assert text["count"] > 10 and text["smallest"] >= 10, (k, text)
        assert box["cell"][0] - 1 <= box["shown"][0] and box["shown"][1] <= box["cell"][1] + 1, (k, box)


# JupyterLab's rule for <pre> in an output area (@jupyterlab/outputarea), which the widget's explanation sits in
JUPYTER_PRE = "<style>pre { word-break: break-all; word-wrap: break-word; white-space: pre-wrap; }</style>"


@needs_dot
@needs_playwright
def test_the_explanation_wraps_between_tokens_never_inside_a_number(tmp_path):
    """At a narrow width, under JupyterLab's ``word-break: break-all`` for <pre>, no number of any step's
    explanation is split across lines (notebook 02 showed ``0.00⏎00 → 0.5000``)."""
    steps = backward_steps(tanh_neuron().o)
    path = tmp_path / "narrow.html"
    path.write_text(steps.to_html().replace("</head>", JUPYTER_PRE + "</head>"), encoding="utf-8")
    with chromium_page(tmp_path / "profile", 420, 800) as page:
        page.goto(path.as_uri())
        for k in range(1, len(steps) + 1):
            page.evaluate(f"() => {{ location.hash = '#step-{k}'; }}")
            page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{k}'")
            seen = page.locator(".sg-explain").evaluate(BROKEN_NUMBERS)
            assert seen["text"].startswith(f"step {k}/{len(steps)}: ")
            assert seen["lines"] > 2, seen  # the text did wrap: the width is narrow enough to test
            assert not seen["broken"], (k, seen["broken"], seen["text"])
            if k == 2:
                page.screenshot(path=str(tmp_path / "narrow-step-2.png"))


# The notebook widget's own module (StepperWidget._esm: player.js + its render()) on a page, with a stand-in for
# anywidget's model: what the model sends (a click on a box) is read by the test, which lets Python lay the graph
# out again (StepperWidget.expand, as the kernel does) and sets the new data, as the kernel's message does.
WIDGET_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>{css}
body {{ margin: 0; }} .cell {{ width: {width}px; }}</style></head><body><div class="cell" id="cell"></div>
<script type="module">
const state = {{data: {data}, step: {step}}}, handlers = {{}};
const model = {{
  get: (k) => state[k], set: (k, v) => {{ state[k] = v; }}, save_changes: () => {{}},
  on: (event, f) => {{ (handlers[event] = handlers[event] || []).push(f); }},
  send: (message) => {{ window.sent = message; }},
}};
window.kernelSets = (k, v) => {{ state[k] = v; (handlers["change:" + k] || []).forEach((f) => f()); }};
const url = URL.createObjectURL(new Blob([{esm}], {{type: "text/javascript"}}));
import(url).then((m) => {{ m.default.render({{model, el: document.getElementById("cell")}}); window.ready = true; }});
</script></body></html>"""

WIDGET_VIEW = """() => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const el = document.getElementById("cell"), svg = el.querySelector(".sg-viewport svg");
  const shapes = [...el.querySelectorAll("g.node polygon, g.node path")];
  const current = shapes.find((p) => p.getAttribute("fill") === "#ffd54f");
  return {
    viewport: box(el.querySelector(".sg-viewport")),
    current: current ? box(current) : null,
    nodes: [...el.querySelectorAll("g.node")].map((g) => [g.querySelector("title").textContent, box(g)]),
    fontPx: 14 * svg.getScreenCTM().a,
    wholeFontPx: (() => {  // the node text's size were the whole drawing shown in the window (at most 520 px high)
      const drawn = svg.querySelector("g.graph").getBBox(), v = el.querySelector(".sg-viewport");
      return 14 * Math.min(v.clientWidth / (drawn.width + 8), 516 / (drawn.height + 8));
    })(),
    labels: [...el.querySelectorAll("g.node text")].map((t) => t.textContent),
    counter: el.querySelector(".sg-counter").textContent,
  };
}"""


@needs_dot
@needs_playwright
@pytest.mark.parametrize("width", [960, 800])
def test_the_grouped_widget_refits_after_a_box_is_opened(tmp_path, width):
    """Notebook 02's grouped widget (micrograd's demo step) in a notebook cell at step 3: a click on "Layer 3 ×100"
    opens it (Python lays the graph out again); the new drawing opens whole when it fits with text ≥ 10 px,
    else at a readable size with the current box in view — not cut at both sides."""
    import json

    import scoped

    from autograd.player import asset, widget_class

    loss, _ = scoped.micrograd_demo_step()
    w = backward_steps(loss).widget()
    w.step = 3
    esm = widget_class()._esm
    page_path = tmp_path / "widget.html"
    page_path.write_text(
        WIDGET_PAGE.format(css=asset("player.css"), width=width, data=json.dumps(w.data), step=3, esm=json.dumps(esm)),
        encoding="utf-8",
    )
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        page.goto(page_path.as_uri())
        page.wait_for_function("() => window.ready === true")
        before = page.evaluate(WIDGET_VIEW)
        assert before["counter"] == "step 3 / 6" and "Layer 3 ×100" in before["labels"]
        page.locator("g.node", has_text="Layer 3 ×100").click()
        sent = page.evaluate("() => window.sent")
        w.expand(sent["open"])  # what the kernel does with the message
        page.evaluate(f"() => window.kernelSets('data', {json.dumps(w.data)})")
        page.wait_for_timeout(300)  # the ResizeObserver's first call
        after = page.evaluate(WIDGET_VIEW)
        page.screenshot(path=str(tmp_path / f"grouped-opened-{width}.png"))
    assert not any("Layer 3 ×100" == label for label in after["labels"])  # the box opened into its neurons
    assert after["current"] is not None and inside(after["current"], after["viewport"]), after
    if after["wholeFontPx"] >= 10:  # it fits readable: shown whole
        cut = [name for name, box in after["nodes"] if not inside(box, after["viewport"])]
        assert not cut, (cut, after["viewport"])
        assert after["fontPx"] >= 10
    else:
        assert after["fontPx"] >= 12
