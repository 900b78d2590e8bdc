"""Notebooks 02 and 06 run in a real JupyterLab, in headless Chromium, and looked at as a person would.

JupyterLab starts on 127.0.0.1 (tests/browser.py), Playwright drives Debian's chromium at a
1,400 × 900 window, the notebook runs with Run All, and then each stepper widget is stepped
with its own buttons and slider. At every step the test reads the page: the current (yellow)
node lies inside the drawing's window and inside the cell, the slider, the counter and the
explanation name the same 1-based step, node text is at least 12 px, and the controls and
explanation are on screen. Screenshots are kept in the test's temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import BROKEN_NUMBERS, DRAWING_TEXT, chromium_page, jupyterlab, needs_jupyterlab

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOK = NOTEBOOKS / "02_step_through_backprop.ipynb"

READ_PLAYER = """(el) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  const shapes = [...el.querySelectorAll("g.node polygon, g.node path")];  // a path: a rounded box
  const current = shapes.find((p) => p.getAttribute("fill") === "#ffd54f");
  const svg = el.querySelector(".sg-viewport svg");
  const text = el.querySelector("g.node text");
  return {
    current: current ? box(current) : null,
    viewport: box(el.querySelector(".sg-viewport")),
    cell: box(el.closest(".jp-Cell")),
    panel: box(el.closest(".jp-WindowedPanel-outer") || el.closest(".jp-NotebookPanel")),
    controls: box(el.querySelector(".sg-controls")),
    explain: box(el.querySelector(".sg-explain")),
    slider: el.querySelector(".sg-slider").value,
    counter: el.querySelector(".sg-counter").textContent,
    text: el.querySelector(".sg-explain").textContent,
    fontPx: parseFloat(getComputedStyle(text).fontSize) * svg.getScreenCTM().a,  // user units -> screen px
    wholePx: (() => {  // the node text's size were the whole drawing shown in the window (at most 520 px high)
      const drawn = svg.querySelector("g.graph").getBBox(), v = el.querySelector(".sg-viewport");
      return 14 * Math.min(v.clientWidth / (drawn.width + 8), 516 / (drawn.height + 8));
    })(),
    whole: [...el.querySelectorAll("g.node")].every((g) => {  // every node inside the drawing's window
      const r = g.getBoundingClientRect(), v = el.querySelector(".sg-viewport").getBoundingClientRect();
      return r.left >= v.left - 1 && r.top >= v.top - 1 && r.right <= v.right + 1 && r.bottom <= v.bottom + 1;
    }),
  };
}"""

# Each static drawing (step.draw(), draw_dot(...)): its box and the cell's, and the smallest text on screen.
READ_DRAWING = """(el) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
  return {box: box(el), cell: box(el.closest(".jp-OutputArea-output"))};
}"""


def inside(inner: dict, outer: dict, slack: float = 1.0) -> bool:
    return (
        inner["l"] >= outer["l"] - slack
        and inner["t"] >= outer["t"] - slack
        and inner["r"] <= outer["r"] + slack
        and inner["b"] <= outer["b"] + slack
    )


def check_player(player, k: int, count: int) -> dict:
    """The player shows step ``k`` of ``count`` coherently, with the current node in view."""
    top = None
    for _ in range(10):  # as a person scrolls to the widget; JupyterLab re-measures cells as they come into view
        player.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        player.page.wait_for_timeout(200)
        now = player.evaluate("(el) => el.getBoundingClientRect().top")
        if now == top:
            break
        top = now
    seen = player.evaluate(READ_PLAYER)
    assert seen["slider"] == str(k) and seen["counter"] == f"step {k} / {count}", seen
    assert seen["text"].startswith(f"step {k}/{count}: "), seen["text"][:80]
    assert seen["current"] is not None, "no node is highlighted"
    assert inside(seen["current"], seen["viewport"]), (k, seen["current"], seen["viewport"])
    assert inside(seen["current"], seen["cell"]) and inside(seen["current"], seen["panel"]), seen
    assert inside(seen["controls"], seen["panel"]) and inside(seen["explain"], seen["panel"]), seen
    # readable: 12 px, or 10 px when the whole drawing is in view: a drawing that fits at 10 px is shown whole
    assert seen["fontPx"] >= (10 if seen["whole"] else 12), f"node text is {seen['fontPx']:.1f} px"
    assert seen["whole"] or seen["wholePx"] < 10.2, (k, seen["wholePx"])
    split = player.locator(".sg-explain").evaluate(BROKEN_NUMBERS)["broken"]  # lines wrap between tokens
    assert not split, (k, split, seen["text"])
    return seen


def check_drawings(page, count: int) -> None:
    """The notebook's ``count`` static drawings show no text under 10 px and stay inside their cells (a drawing
    too wide at that size scrolls in its box)."""
    drawings = page.locator(".jp-OutputArea-output .stepgrad-drawing")
    assert drawings.count() == count
    for drawing in drawings.all():
        drawing.scroll_into_view_if_needed()
        text, seen = drawing.evaluate(DRAWING_TEXT), drawing.evaluate(READ_DRAWING)
        assert text["count"] > 3 and text["smallest"] >= 10, text
        assert inside(seen["box"], seen["cell"]), seen


def run_all(page, url: str, name: str) -> None:
    """Open notebook ``name`` in JupyterLab, Run All, wait until every cell ran, and find no error output."""
    page.goto(url.format(path=name))
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " return !!(w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel); }",
        timeout=90_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")  # resolves when all ran
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-InputPrompt')].every((p) => !p.textContent.includes('*'))",
        timeout=300_000,
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_text_contents()
    assert not [e for e in errors if "Error" in e or "Traceback" in e], errors


@needs_jupyterlab
@pytest.mark.slow
def test_notebook_02_in_jupyterlab_steps_with_the_current_node_in_view(tmp_path):
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    state = tmp_path / "jupyter"
    state.mkdir()
    with jupyterlab(root, state) as url, chromium_page(tmp_path / "profile", 1400, 900) as page:
        run_all(page, url, NOTEBOOK.name)
        players = page.locator(".sg-player")
        assert players.count() == 4

        forward, neuron, mlp, grouped = players.nth(0), players.nth(1), players.nth(2), players.nth(3)
        # the forward pass first: the notebook went to step 4 (n computed, o still data ?)
        seen = check_player(forward, 4, 5)
        assert seen["text"].startswith("step 4/5: n = x1*w1 + x2*w2 + b = ")
        page.screenshot(path=str(tmp_path / "forward-step-4.png"))
        forward.get_by_role("button", name="next →").click()
        check_player(forward, 5, 5)
        # the notebook set player.step = 4 from Python: the view followed
        check_player(neuron, 4, 5)
        page.screenshot(path=str(tmp_path / "neuron-step-4.png"))
        neuron.get_by_role("button", name="← prev").click()
        check_player(neuron, 3, 5)
        neuron.evaluate(
            "(el) => { const s = el.querySelector('.sg-slider'); s.value = '1'; s.dispatchEvent(new Event('input')); }"
        )
        check_player(neuron, 1, 5)
        page.screenshot(path=str(tmp_path / "neuron-step-1.png"))
        for k in range(2, 6):
            neuron.get_by_role("button", name="next →").click()
            check_player(neuron, k, 5)
            if k == 2:  # the step whose "0.00⏎00 → 0.5000" was split
                page.screenshot(path=str(tmp_path / "neuron-step-2.png"))

        count = int(mlp.evaluate("(el) => el.querySelector('.sg-slider').max"))
        check_player(mlp, count, count)  # the notebook went to the last step
        page.screenshot(path=str(tmp_path / "mlp-last-step.png"))
        mlp.evaluate(
            "(el) => { const s = el.querySelector('.sg-slider'); s.value = '1'; s.dispatchEvent(new Event('input')); }"
        )
        for k in range(1, count + 1, 3):
            if k > 1:
                for _ in range(3):
                    mlp.get_by_role("button", name="next →").click()
            check_player(mlp, k, count)
        page.screenshot(path=str(tmp_path / "mlp-step-16.png"))

        # micrograd's demo step, grouped: the notebook went to frame 3 (backward through Layer 3 ×100)
        check_player(grouped, 3, 6)
        page.screenshot(path=str(tmp_path / "grouped-step-3.png"))
        for k in (4, 5, 6):
            grouped.get_by_role("button", name="next →").click()
            check_player(grouped, k, 6)
        # a click on a box opens it: Python lays the graph out again and the widget shows the neurons
        grouped.locator("g.node", has_text="Layer 3 ×100").click()
        grouped.locator("g.node", has_text="Neuron in Layer 3 ×100").wait_for(timeout=60_000)
        check_player(grouped, 6, 6)
        page.screenshot(path=str(tmp_path / "grouped-opened.png"))

        # the static drawings (steps[0].draw(), steps[3].draw(), the MLP's last step, the grouped demo step):
        # readable, inside their cells
        check_drawings(page, 4)
        page.locator(".stepgrad-drawing").first.evaluate("(el) => el.scrollIntoView({block: 'center'})")
        page.wait_for_timeout(500)  # JupyterLab renders the cells scrolled to
        page.screenshot(path=str(tmp_path / "static-drawing.png"))


@needs_jupyterlab
@pytest.mark.slow
def test_notebook_06_in_jupyterlab_steps_through_one_heads_softmax(tmp_path):
    """The GPT notebook's stepper on one attention head: a few dozen frames over a 20,000-step pass, each
    with the current node (or box) in view, and the head's scores receiving their gradients."""
    name = "06_gpt_on_scalars.ipynb"
    root = tmp_path / "notebooks"
    root.mkdir()
    shutil.copy(NOTEBOOKS / name, root / name)
    state = tmp_path / "jupyter"
    state.mkdir()
    with jupyterlab(root, state) as url, chromium_page(tmp_path / "profile", 1400, 900) as page:
        run_all(page, url, name)
        check_drawings(page, 3)  # every part closed, step.draw() and step.draw_head(): readable, inside the cells
        page.locator(".stepgrad-drawing").last.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "gpt-head-drawing.png"))
        players = page.locator(".sg-player")
        assert players.count() == 1
        head = players.nth(0)
        count = int(head.evaluate("(el) => el.querySelector('.sg-slider').max"))
        assert 20 < count < 100
        seen = check_player(head, 1, count)
        assert "backward through mean" in seen["text"]
        page.screenshot(path=str(tmp_path / "gpt-head-frame-1.png"))
        frames = head.evaluate("(el) => el.querySelector('.sg-slider').max")
        into_z = []
        for k in range(2, int(frames) + 1):
            head.get_by_role("button", name="next →").click()
            seen = check_player(head, k, count)
            if "∂L/∂z" in seen["text"] and "+=" in seen["text"]:
                into_z.append(k)
        assert len(into_z) >= 5  # every score of the head at the last position ("emma": 5 scores)
        head.evaluate(
            f"(el) => {{ const s = el.querySelector('.sg-slider'); s.value = '{into_z[0]}';"
            " s.dispatchEvent(new Event('input')); }"
        )
        check_player(head, into_z[0], count)
        page.screenshot(path=str(tmp_path / "gpt-head-score.png"))
