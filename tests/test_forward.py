"""``forward_steps``: the forward pass, one operation per frame, on the backward stepper's drawing and player.

The invariant (the backward stepper's, for values): a value's data appears only in the frame that computes
it — drawn there as computed now (yellow, or inside the yellow box) — and what appears is the node's
``data``; frames follow a topological order; the page renders in Chromium with the current node in view.
"""

from __future__ import annotations

import math
import re

import pytest
import scoped
from browser import chromium_page, needs_playwright
from hypothesis import given, settings
from test_stepper import build, expression_dags

from autograd import Value, backward_steps, forward_steps, step_through, topological_order
from autograd.examples import tanh_neuron
from autograd.groups import Group
from autograd.viz import HIGHLIGHT_FILL, format_number


def shown_data(drawing) -> list[dict]:  # type: ignore[no-untyped-def]
    """The data text of every drawn value, frame by frame, replayed from the states the player applies."""
    seen: dict = {}
    frames = []
    for changes in drawing.states():
        for item, (_, _, text) in changes.items():
            if not isinstance(item, Group):
                seen[item] = text
        frames.append(dict(seen))
    return frames


def check_forward_invariant(steps, **options) -> None:  # type: ignore[no-untyped-def]
    drawing = steps.drawing(**options)
    order = [step.node for frame in drawing.frames for step in frame.steps]
    position = {node: k for k, node in enumerate(order)}
    for node in order:  # a topological order: every value after what it is computed from
        assert all(position.get(p, -1) < position[node] for p in node._parents)
    assert sorted(map(id, order)) == sorted(id(n) for n in topological_order(steps.root) if n._parents)
    before: dict = {}
    for k, (frame, now) in enumerate(zip(drawing.frames, shown_data(drawing), strict=True)):
        computed = {step.node for step in frame.steps}
        state = drawing.state(k)
        for node, text in now.items():
            known = not node._parents or any(node in {s.node for s in f.steps} for f in drawing.frames[: k + 1])
            assert text == (f"data {format_number(node.data)}" if known else "data ?"), (k, text)
            if before and before.get(node) != text:  # changed in this frame: computed here, drawn as current
                assert node in computed, (k, node, text)
                assert drawing.item_of(node) is frame.item and state[frame.item][0] == HIGHLIGHT_FILL
        before = now


def test_the_neuron_forward_reads_as_the_lecture_writes_it():
    neuron = tanh_neuron()
    steps = forward_steps(neuron.o)
    lines = [step.explain() for step in steps]
    assert len(steps) == 5
    assert lines[-2] == "step 4/5: n = x1*w1 + x2*w2 + b = -6.0000 + 6.8814 = 0.8814"
    assert lines[-1] == "step 5/5: o = tanh(n) = tanh(0.8814) = 0.7071"
    # the numbers against Python's own floats and math.tanh (not the engine)
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    assert lines[-1].endswith(f"= {math.tanh(n):.4f}")
    check_forward_invariant(steps)


def test_values_appear_only_in_the_frame_that_computes_them_on_the_neuron():
    neuron = tanh_neuron()
    drawing = forward_steps(neuron.o).drawing()
    first = drawing.state(0)
    assert first[neuron.o][2] == "data ?" and first[neuron.x1][2] == "data 2.0000"  # a leaf from the start
    check_forward_invariant(forward_steps(neuron.o))


@settings(max_examples=60, deadline=None)
@given(expression_dags())
def test_forward_frames_on_random_graphs_keep_the_invariant(recipe):
    nodes = build(recipe)
    root = nodes[-1]
    if not root._parents:
        return
    check_forward_invariant(forward_steps(root))


def test_micrograd_demo_grouped_goes_box_by_box_and_keeps_the_invariant():
    loss, _ = scoped.micrograd_demo_step()
    steps = forward_steps(loss)
    drawing = steps.drawing()
    texts = [frame.explain() for frame in drawing.frames]
    assert len(drawing.frames) < 20, texts  # box by box, not 38,000 steps or 300 interleaved runs
    heads = [t.splitlines()[0].split(": ", 1)[1] for t in texts]
    assert heads[1:4] == [
        "forward through Layer 1 ×100: 6400 values computed",  # 100 points × 16 neurons × (2 products + sum + relu)
        "forward through Layer 2 ×100: 28800 values computed",
        "forward through Layer 3 ×100: 1700 values computed",
    ], heads
    assert not any("part 2" in t for t in texts)
    check_forward_invariant(steps)
    check_forward_invariant(steps, open=["Layer"])  # another grouping of the same graph


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"forward_steps\(\) needs an autograd.Value as root, got float"):
        forward_steps(3.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"forward_steps\(x\): the root is a leaf, there are no steps to show"):
        forward_steps(Value(1.0, label="x")).to_html()
    with pytest.raises(IndexError, match="this forward pass has 5 steps"):
        forward_steps(tanh_neuron().o)[5]


def test_the_widget_shows_the_frame_its_text_names():
    widget = forward_steps(tanh_neuron().o).widget()
    widget.step = 4
    assert widget.text.startswith("step 4/5: n = ")
    assert "data ?" in widget.svg and ">grad " not in widget.svg  # o not computed yet; no gradients in a forward pass


@needs_playwright
def test_the_page_renders_every_frame_with_the_current_node_in_view(tmp_path):
    page_path = forward_steps(tanh_neuron().o).save_html(tmp_path / "forward.html")
    html = page_path.read_text()
    assert "computed now" in html and "its inputs" in html and "data ? = not computed yet" in html
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        page.goto(page_path.as_uri() + "#step-1")
        for k in range(1, 6):
            page.goto(f"{page_path.as_uri()}#step-{k}")
            page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{k}'")
            seen = page.evaluate(
                "() => { const r = (e) => e.getBoundingClientRect();"
                " const cur = [...document.querySelectorAll('g.node polygon, g.node path')]"
                ".find((p) => p.getAttribute('fill') === '#ffd54f');"
                " const v = r(document.querySelector('.sg-viewport')); const c = r(cur);"
                " return {inside: c.left >= v.left - 1 && c.right <= v.right + 1 && c.top >= v.top - 1"
                " && c.bottom <= v.bottom + 1, text: document.querySelector('.sg-explain').textContent,"
                " data: [...document.querySelectorAll('g.node text')].map((t) => t.textContent)}; }"
            )
            assert seen["inside"], k
            assert seen["text"].startswith(f"step {k}/5: ")
            assert ("data ?" in seen["data"]) == (k < 5)
        page.screenshot(path=str(tmp_path / "forward-step-5.png"))
        numbers = re.findall(r"data (-?\d+\.\d+)", " ".join(seen["data"]))
        assert "0.7071" in numbers


# --------------------------------------------------------------------------- both passes: step_through


def test_one_whole_step_plays_forward_then_backward_on_one_drawing():
    neuron, fresh = tanh_neuron(), tanh_neuron()
    whole = step_through(neuron.o)
    drawing = whole.drawing()
    assert drawing.backward_starts == 6 and len(drawing.frames) == 10
    texts = [frame.explain() for frame in drawing.frames]
    assert texts[3] == "step 4/10 (forward): n = x1*w1 + x2*w2 + b = -6.0000 + 6.8814 = 0.8814"
    assert texts[5].startswith("step 6/10 (backward): o = tanh(n), ∂o/∂o = 1.0000")
    shown: dict = {}
    for k, changes in enumerate(drawing.states()):
        shown.update(changes)
        assert shown == drawing.state(k)  # the player's diffs replay to each frame's whole state
        for item, (_, _, grad, data) in shown.items():
            if isinstance(item, Group):
                continue
            if k < 5:  # forward: no gradient yet; values as they are computed
                assert grad == "grad ?"
                computed = {s.node for f in drawing.frames[: k + 1] for s in f.steps}
                assert data == (
                    f"data {format_number(item.data)}" if not item._parents or item in computed else "data ?"
                )
            else:  # backward: every value known, gradients as the backward stepper shows them
                assert data == f"data {format_number(item.data)}"
    backward_drawing = backward_steps(fresh.o).drawing()
    for k in range(5):
        assert [s[:3] for s in drawing.state(5 + k).values()] == list(backward_drawing.state(k).values())
    fresh_leaves = [fresh.x1, fresh.w1, fresh.x2, fresh.w2, fresh.b]
    assert [n.grad for n in (neuron.x1, neuron.w1, neuron.x2, neuron.w2, neuron.b)] == [n.grad for n in fresh_leaves]
    svg = drawing.frame_svg(3)
    assert svg.count(">data ?<") == 1 and svg.count(">grad ?<") == 10  # o unknown; no gradient yet


@needs_playwright
def test_the_whole_step_page_marks_where_backward_starts(tmp_path):
    path = step_through(tanh_neuron().o).save_html(tmp_path / "whole.html")
    with chromium_page(tmp_path / "profile", 1280, 800) as page:
        for k, direction in ((5, "forward"), (6, "backward")):
            page.goto(f"{path.as_uri()}#step-{k}")
            page.wait_for_function(f"() => document.getElementById('player').getAttribute('data-step') === '{k}'")
            assert page.locator(".sg-counter").text_content() == f"step {k} / 10 · {direction}"
        tick = page.evaluate(
            "() => { const s = document.querySelector('.sg-slider'); return s.list ? s.list.options[0].value : null; }"
        )
        assert tick == "6"
        texts = page.evaluate("() => [...document.querySelectorAll('g.node text')].map((t) => t.textContent)")
        assert "data 0.7071" in texts and "grad 1.0000" in texts  # step 6: o computed, and seeded
        page.screenshot(path=str(tmp_path / "whole-step-6.png"))
