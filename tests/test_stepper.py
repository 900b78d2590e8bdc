"""Tests for autograd.stepper: the backward pass one node at a time.

Oracles: ``Value.backward()`` on an identical twin graph (bit for bit), and hand-derived
derivatives of the tanh neuron (see tests/test_viz.py: ∂o/∂n = 1 − o² = 0.5,
∂o/∂x1 = 0.5·w1 = −1.5, ∂o/∂w1 = 0.5·x1 = 1.0, ∂o/∂x2 = 0.5·w2 = 0.5, ∂o/∂w2 = 0.5·x2 = 0).
"""

from __future__ import annotations

import html
import json
import math
import re
import struct

import pytest
from browser import needs_chromium, run_chromium
from hypothesis import given, settings
from hypothesis import strategies as st
from viz_svg import node_fill, node_texts, parse_svg

from autograd import Op, Value, topological_order
from autograd.examples import tanh_neuron
from autograd.layout import node_boxes
from autograd.stepper import BackwardSteps, Step, backward_steps

needs_dot = pytest.mark.needs("dot")


def bits(x) -> bytes:
    """The exact IEEE-754 bytes of a gradient (so -0.0 != 0.0 and NaN compares by payload)."""
    return struct.pack("<d", x.data if isinstance(x, Value) else x)


# --------------------------------------------------------------------------- the hand-computed neuron


def test_neuron_gradients_after_the_last_step_match_the_hand_derivation():
    v = tanh_neuron()
    steps = backward_steps(v.o).run()
    assert v.o.data == pytest.approx(1 / math.sqrt(2)) and f"{v.o.data:.4f}" == "0.7071"
    assert v.n.grad == pytest.approx(0.5)
    assert v.x1.grad == pytest.approx(-1.5)
    assert v.w1.grad == pytest.approx(1.0)
    assert v.x2.grad == pytest.approx(0.5)
    assert v.w2.grad == 0.0
    assert v.b.grad == pytest.approx(0.5)
    assert len(steps) == 5  # the non-leaf values o, n, s, x1w1, x2w2


def test_steps_follow_backward_order_and_record_the_chain_rule():
    v = tanh_neuron()
    steps = backward_steps(v.o)
    expected = [node for node in reversed(topological_order(v.o)) if node._parents]
    assert [step.node for step in steps] == expected
    assert [step.index for step in steps] == list(range(5))
    assert all(isinstance(step, Step) for step in steps)
    first = steps[0]
    assert first.node is v.o and first.upstream == 1.0
    (update,) = first.updates
    assert update.parent is v.n and update.local == pytest.approx(0.5)  # ∂tanh(n)/∂n = 1 − o²
    assert update.contribution == pytest.approx(0.5) and update.before == 0.0 and update.after == update.contribution
    w1_step = next(step for step in steps if step.node is v.x1w1)
    assert w1_step.upstream == pytest.approx(0.5)
    x1_update, w1_update = w1_step.updates
    assert (x1_update.parent, x1_update.local, x1_update.contribution) == (v.x1, -3.0, pytest.approx(-1.5))
    assert (w1_update.parent, w1_update.local, w1_update.contribution) == (v.w1, 2.0, pytest.approx(1.0))
    assert w1_update.before == 0.0 and w1_update.after == pytest.approx(1.0)


def test_explanation_of_the_step_that_updates_w1():
    v = tanh_neuron()
    steps = backward_steps(v.o)
    w1_step = next(step for step in steps if any(u.parent is v.w1 for u in step.updates))
    lines = w1_step.explain().splitlines()
    assert lines[0] == "step 4/5: (x1*w1) = x1 * w1, ∂o/∂(x1*w1) = 0.5000"
    (w1_line,) = [line for line in lines if line.strip().startswith("∂o/∂w1 +=")]
    assert "0.5000" in w1_line and "2.0000" in w1_line and "1.0000" in w1_line
    assert w1_line.strip().startswith("∂o/∂w1 += ∂o/∂(x1*w1) · ∂(x1*w1)/∂w1 = 0.5000 × 2.0000 = 1.0000")
    assert w1_line.strip().endswith("(∂o/∂w1: 0.0000 → 1.0000)")
    (x1_line,) = [line for line in lines if line.strip().startswith("∂o/∂x1 +=")]
    assert "0.5000 × -3.0000 = -1.5000" in x1_line
    everything = steps.explain()
    assert everything.splitlines()[0] == "backward pass of o: seed ∂o/∂o = 1.0000"
    assert all(step.explain() in everything for step in steps)


def test_unlabeled_nodes_get_the_drawing_names_and_an_unlabeled_root_is_L():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = a * b + a  # a*b is v1; the unlabelled root is L in the formula as in ∂L/∂... (was v3 = v2 + a, ∂L/∂v3)
    lines = backward_steps(c).explain().splitlines()
    assert lines[0] == "backward pass of L: seed ∂L/∂L = 1.0000"
    assert lines[1] == "step 1/2: L = v1 + a, ∂L/∂L = 1.0000"
    assert lines[2].startswith("  ∂L/∂v1 += ∂L/∂L · ∂L/∂v1 = 1.0000 × 1.0000 = 1.0000")
    assert lines[5].startswith("  ∂L/∂a += ∂L/∂v1 · ∂v1/∂a = 1.0000 × -3.0000 = -3.0000")
    assert lines[5].endswith("(∂L/∂a: 1.0000 → -2.0000)")  # a already had 1 from c = ... + a


# --------------------------------------------------------------------------- laziness and replay


def test_nothing_changes_until_a_step_is_asked_for():
    v = tanh_neuron()
    v.n.grad, v.o.grad, v.w1.grad = 3.0, 7.0, 10.0
    steps = backward_steps(v.o)
    assert (v.n.grad, v.o.grad, v.w1.grad, len(steps)) == (3.0, 7.0, 10.0, 5)
    steps[0]
    assert v.o.grad == 1.0  # intermediate: reset, then seeded
    assert v.n.grad == pytest.approx(0.5)
    assert v.x1w1.grad == 0.0 and v.w1.grad == 10.0  # not reached yet
    steps.run()
    assert v.w1.grad == pytest.approx(11.0)  # a leaf accumulates, as with backward()
    assert repr(steps) == "BackwardSteps(root='o', steps=5, done=5)"


@needs_dot
def test_frames_are_drawn_from_the_recorded_moment_in_any_order():
    v = tanh_neuron()
    steps = backward_steps(v.o)
    first_before_run = steps[0].to_svg()
    frame4 = steps[3].to_svg()
    steps.run()
    assert steps[0].to_svg() == first_before_run  # a snapshot, not the live .grad
    assert steps[3].to_svg() == frame4
    nodes = node_texts(first_before_run)
    assert nodes["o"][2] == "grad 1.0000" and nodes["n"][2] == "grad 0.5000"
    assert all(nodes[name][2] == "grad ?" for name in ("x1*w1 + x2*w2", "b", "x1*w1", "x1", "w1", "x2", "w2"))
    assert node_fill(first_before_run, "o") == "#ffd54f" and node_fill(first_before_run, "n") == "#a5d6a7"
    nodes = node_texts(frame4)  # the step of x1w1: x1 and w1 just updated, x2w2 not processed yet
    assert nodes["x1"][2] == "grad -1.5000" and nodes["w1"][2] == "grad 1.0000"
    assert nodes["x2*w2"][2] == "grad 0.5000" and nodes["x2"][2] == "grad ?" and nodes["w2"][2] == "grad ?"
    assert node_fill(frame4, "x1*w1") == "#ffd54f"
    assert node_fill(frame4, "x1") == node_fill(frame4, "w1") == "#a5d6a7"
    assert node_fill(frame4, "n") == "#ffffff"
    last = node_texts(steps[-1].to_svg())
    assert not any(t[2] == "grad ?" for t in last.values() if len(t) == 3)  # every gradient known at the end
    assert steps[1:3] == [steps[1], steps[2]]
    assert node_texts(steps[3].to_svg(show_grad=False, rankdir="TB"))["x1"] == ["x1", "data 2.0000"]


# --------------------------------------------------------------------------- stepper == backward, bit for bit

LEAF_VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 2.0, -3.0]),
    st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False),
)
OPS = ["+", "*", "-", "square", "tanh", "relu", "scale", "sigmoid", "diff_self", "exp", "leaf_mul", "leaf_mul"]


@st.composite
def expression_dags(draw):
    """A recipe for a random expression DAG: leaves, prior leaf gradients, op list, seed gradient."""
    n_leaves = draw(st.integers(1, 4))
    leaves = draw(st.lists(LEAF_VALUES, min_size=n_leaves, max_size=n_leaves))
    prior = draw(st.lists(st.sampled_from([0.0, 0.0, 1.5, -2.0]), min_size=n_leaves, max_size=n_leaves))
    ops = draw(
        st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 1000), st.integers(0, 1000)), min_size=1, max_size=40)
    )
    gradient = draw(st.sampled_from([1.0, 1.0, -0.5, 2.0, 0.0]))
    return leaves, prior, ops, gradient


def build(recipe):
    """Every node of the recipe's graph (reused operands, diamonds, relu at 0 included); the last is the root."""
    leaves, prior, ops, _ = recipe
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(leaves)]
    for node, g in zip(nodes, prior):
        node.grad = g
    for op, i, j in ops:
        a = nodes[i % len(nodes)]
        b = nodes[j % len(nodes)]
        if op == "leaf_mul":  # many contributions pile up on the leaves (the order of += matters in floats)
            out = a * nodes[j % len(leaves)] + nodes[i % len(leaves)]
            out.grad = -1.25
            nodes.append(out)
            continue
        if op == "+":
            out = a + b
        elif op == "*":
            out = a * b
        elif op == "-":
            out = a - b
        elif op == "square":
            out = a * a  # one operand used twice
        elif op == "tanh":
            out = a.tanh()
        elif op == "relu":
            out = a.relu()
        elif op == "scale":
            out = a * 0.75
        elif op == "sigmoid":
            out = a.sigmoid()
        elif op == "diff_self":
            out = (a - a).relu()  # relu exactly at its kink 0
        else:
            out = (a.tanh()).exp()
        out.grad = -1.25  # a stale gradient from an earlier pass: both must recompute it
        nodes.append(out)
    return nodes


@settings(max_examples=150, deadline=None)
@given(expression_dags())
def test_stepper_equals_backward_bit_for_bit_on_random_dags(recipe):
    gradient = recipe[3]
    by_backward = build(recipe)
    by_steps = build(recipe)
    by_backward[-1].backward(gradient)
    steps = backward_steps(by_steps[-1], gradient)
    for _ in steps:  # iterate one step at a time
        pass
    assert [bits(a.grad) for a in by_backward] == [bits(b.grad) for b in by_steps]
    assert len(steps) == sum(1 for node in topological_order(by_steps[-1]) if node._parents)


def test_twice_in_a_row_like_backward_intermediates_recomputed_leaves_accumulate():
    a1, a2 = Value(3.0), Value(3.0)
    y1, y2 = a1 * a1 * a1, a2 * a2 * a2
    y1.backward()
    y1.backward()
    backward_steps(y2).run()
    backward_steps(y2).run()
    assert a2.grad == 54.0 == a1.grad  # 2 · 3a² = 54


# --------------------------------------------------------------------------- higher order and user ops


def test_stepping_a_gradient_built_with_create_graph():
    def second_derivative(use_stepper: bool, x0: float) -> tuple[Value, Value]:
        x = Value(x0, label="x")
        y = x.tanh() * x  # y = x tanh x
        y.backward(create_graph=True)
        dy = x.grad  # dy/dx = tanh x + x (1 − tanh² x), itself a graph
        assert isinstance(dy, Value)
        x.grad = 0.0
        if use_stepper:
            steps = backward_steps(dy).run()
            assert len(steps) > 3
        else:
            dy.backward()
        return x, dy

    for x0 in (0.3, -1.2, 2.0):
        x_steps, dy = second_derivative(True, x0)
        x_backward, _ = second_derivative(False, x0)
        assert bits(x_steps.grad) == bits(x_backward.grad)
        t = math.tanh(x0)  # d²/dx² (x tanh x) = 2(1 − t²) − 2x t (1 − t²), by hand
        assert x_steps.grad == pytest.approx(2 * (1 - t * t) - 2 * x0 * t * (1 - t * t), rel=1e-12)
        assert dy.data == pytest.approx(t + x0 * (1 - t * t), rel=1e-12)


def test_user_defined_op_steps_and_explains():
    softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
    x = Value(1.0, label="x")
    y = softsign(x * 3)
    y.label = "y"
    steps = backward_steps(y)
    lines = steps[0].explain().splitlines()
    assert lines[0] == "step 1/2: y = softsign(v1), ∂y/∂y = 1.0000"
    assert lines[1].startswith("  ∂y/∂v1 += ∂y/∂y · ∂y/∂v1 = 1.0000 × 0.0625 = 0.0625")  # 1/(1+3)² = 1/16
    steps.run()
    assert x.grad == pytest.approx(3 / 16)  # chain rule: 3 · 1/16
    twin = Value(1.0)
    softsign(twin * 3).backward()
    assert bits(twin.grad) == bits(x.grad)


def test_hand_built_node_without_a_rule_fails_like_backward():
    a, b = Value(1.0), Value(2.0)
    made = Value(3.0, (a, b), "+")  # micrograd's constructor: no derivative rule recorded
    with pytest.raises(RuntimeError, match="has no derivative rule") as by_backward:
        made.backward()
    with pytest.raises(RuntimeError, match="has no derivative rule") as by_steps:
        backward_steps(made).run()
    assert str(by_steps.value) == str(by_backward.value)


# --------------------------------------------------------------------------- edge cases and errors


def test_a_leaf_root_has_no_steps_but_is_seeded_like_backward():
    leaf = Value(4.0, label="w")
    leaf.grad = 1.0
    steps = backward_steps(leaf, 2.0)
    assert len(steps) == 0 and list(steps) == []
    assert leaf.grad == 3.0  # iterating started the pass: root.grad += gradient, a leaf accumulates
    assert steps.explain().splitlines() == [
        "backward pass of w: seed ∂w/∂w = 2.0000",
        "(w is a leaf: there are no steps)",
    ]
    with pytest.raises(ValueError, match=r"backward_steps\(w\): the root is a leaf, there are no steps to show"):
        steps.widget()


def test_bad_arguments_are_named():
    v = tanh_neuron()
    with pytest.raises(TypeError, match=r"backward_steps\(\) needs an autograd.Value as root, got float"):
        backward_steps(1.0)
    with pytest.raises(TypeError, match=r"backward_steps\(gradient=\.\.\.\) needs a real number, got str '1'"):
        backward_steps(v.o, "1")
    steps = backward_steps(v.o)
    with pytest.raises(IndexError, match="step index 5 out of range: this backward pass has 5 steps"):
        steps[5]
    with pytest.raises(TypeError, match="step index must be an int, got str"):
        steps["0"]
    assert steps[-1] is steps[4]


# --------------------------------------------------------------------------- one layout, many states


@needs_dot
def test_every_step_is_a_state_of_one_layout_so_nothing_moves(monkeypatch):
    import autograd.views.drawing

    runs = []
    real = autograd.views.drawing.run_dot
    monkeypatch.setattr(autograd.views.drawing, "run_dot", lambda *a, **k: runs.append(1) or real(*a, **k))
    v = tanh_neuron()
    steps = backward_steps(v.o)
    frames = [step.to_svg() for step in steps] + [steps[0].to_svg()]
    steps.to_html()
    steps.widget()
    assert len(runs) == 1  # one dot run for every frame, the page and the widget
    boxes = [node_boxes(frame) for frame in frames]
    assert len(boxes[0]) == 10 + 5 and all(b == boxes[0] for b in boxes)  # 10 values, 5 op nodes: never move
    first, last = node_texts(frames[0]), node_texts(frames[4])
    assert first["x1"][2] == "grad ?" and last["x1"][2] == "grad -1.5000"  # same box, both texts
    assert frames[-1] == frames[0]
    steps[0].to_svg(rankdir="TB")
    assert len(runs) == 2  # other options, another drawing


@needs_dot
def test_a_drawing_too_big_is_refused_before_the_pass_runs_or_dot_starts(monkeypatch):
    import autograd.views.drawing

    monkeypatch.setattr(autograd.views.drawing, "run_dot", lambda *a, **k: pytest.fail("no layout may start"))
    x = Value(0.5, label="x")
    y = x
    for _ in range(2000):
        y = y * 1.0001
    x.grad = 7.0
    steps = backward_steps(y)
    for call in (steps.to_html, steps.widget):
        with pytest.raises(ValueError, match="more than max_nodes=1000 nodes"):
            call()
    assert x.grad == 7.0 and y.grad == 0.0  # the pass did not start
    with pytest.raises(ValueError, match="more than max_nodes=1000 nodes"):
        steps[0].to_svg()  # asking for step 0 runs step 0 (one node), the drawing is refused before the rest
    assert x.grad == 7.0


# --------------------------------------------------------------------------- widget


@needs_dot
def test_widget_is_one_based_and_shows_the_step_its_text_names():
    import traitlets

    v = tanh_neuron()
    steps = backward_steps(v.o)
    w = steps.widget()
    assert (w.step, w.count) == (1, 5) and w.text.startswith("step 1/5: o = tanh(n)")
    assert node_texts(w.svg)["x1"][2] == "grad ?" and node_fill(w.svg, "o") == "#ffd54f"
    w.step = 4  # the step of x1w1
    assert w.text.startswith("step 4/5: (x1*w1) = x1 * w1") and "0.5000 × 2.0000 = 1.0000" in w.text
    nodes = node_texts(w.svg)
    assert nodes["x1"][2] == "grad -1.5000" and nodes["w1"][2] == "grad 1.0000" and nodes["x2"][2] == "grad ?"
    assert node_fill(w.svg, "x1*w1") == "#ffd54f" and node_fill(w.svg, "x1") == "#a5d6a7"
    data = json.loads(w.data)
    assert data["count"] == 5 and data["texts"] == [step.explain() for step in steps]
    assert "stepgradPlayer" in w._esm and "export default" in w._esm
    for bad in (0, 6):
        with pytest.raises(traitlets.TraitError, match=rf"step must be between 1 and 5 .*numbered from 1.*got {bad}"):
            w.step = bad
    assert w.step == 4


# --------------------------------------------------------------------------- HTML export

XMLNS = re.compile(r'xmlns(?::\w+)?=\\?"http://www\.w3\.org/(?:2000/svg|1999/xlink)\\?"')  # in HTML or in JSON


def page_data(page: str) -> dict:
    """The player's data inside a stepper page, with the drawing (kept as markup in a <template>)."""
    data = json.loads(re.search(r'<script type="application/json" id="stepgrad-data">(.*?)</script>', page, re.S)[1])
    data["svg"] = re.search(r'<template id="stepgrad-drawing">(.*?)</template>', page, re.S)[1]
    return data


@needs_dot
def test_html_page_is_self_contained_one_drawing_and_every_step(tmp_path):
    v = tanh_neuron()
    steps = backward_steps(v.o)
    page = steps.to_html()
    data = page_data(page)
    parse_svg(data["svg"])
    assert data["count"] == 5 and data["texts"] == [step.explain() for step in steps]
    assert data["texts"][3].startswith("step 4/5: (x1*w1) = x1 * w1") and "0.5000 × 2.0000 = 1.0000" in data["texts"][3]
    assert len(data["diffs"]) == 5 and len(data["initial"]) == len(data["records"]) == 10
    assert page.count("<svg") == 1 and page.count("<script") == 2  # one drawing; the data and the player
    assert "ArrowLeft" in page and "#step-" in page
    without_namespaces = XMLNS.sub("", page)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert not re.search(r"<(?:link|img|iframe)\b|<script[^>]*\bsrc=|@import|url\(", page)
    path = steps.save_html(tmp_path / "steps.html")
    assert path.read_text(encoding="utf-8") == page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.html"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        steps.save_html(tmp_path / "missing" / "steps.html")


def shown_state(dom: str) -> tuple[str, str, str, dict[str, list[str]]]:
    """From a page's DOM after its script ran: the player's step, the counter, the explanation, the node texts."""
    step = re.search(r'<div id="player"[^>]*data-step="(\d+)"', dom)[1]
    counter = re.search(r'class="sg-counter">([^<]*)<', dom)[1]
    explain_markup = re.search(r'class="sg-explain">(.*?)</pre>', dom, re.S)[1]  # numbers sit in nowrap <span>s
    explain = html.unescape(re.sub(r"<[^>]*>", "", explain_markup))
    svg = re.search(r"<svg.*?</svg>", dom, re.S)[0]
    return step, counter, explain, node_texts(svg)


@needs_dot
@needs_chromium
def test_html_page_renders_in_headless_chromium(tmp_path):
    import numpy as np
    from matplotlib import image

    v = tanh_neuron()
    page = backward_steps(v.o).save_html(tmp_path / "steps.html")
    url = page.resolve().as_uri()
    shot = tmp_path / "shot.png"
    run_chromium(tmp_path / "profile1", "--window-size=1200,900", f"--screenshot={shot}", url)
    pixels = image.imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (900, 1200)
    rgb = (pixels * 255).round().astype(int)
    yellow = np.all(np.abs(rgb - [0xFF, 0xD5, 0x4F]) <= 2, axis=2).sum()  # the current node o (and legend)
    green = np.all(np.abs(rgb - [0xA5, 0xD6, 0xA7]) <= 2, axis=2).sum()  # n, just updated (and legend)
    dark = np.all(rgb < 80, axis=2).sum()  # text and lines
    assert yellow > 2000 and green > 2000 and dark > 1000
    dom = run_chromium(tmp_path / "profile2", "--window-size=1200,900", "--dump-dom", url + "#step-4").stdout
    step, counter, explain, nodes = shown_state(dom)
    assert (step, counter) == ("4", "step 4 / 5")  # the script showed the step named in the URL
    assert explain.startswith("step 4/5: (x1*w1) = x1 * w1") and "0.5000 × 2.0000 = 1.0000" in explain
    assert nodes["x1"][2] == "grad -1.5000" and nodes["x2"][2] == "grad ?" and nodes["w1"][1] == "data -3.0000"


@needs_dot
def test_html_page_escapes_labels():
    x = Value(1.0, label="<script>alert(1)</script>")
    y = x * 2
    y.label = "</pre><img src=x>"
    page = backward_steps(y).to_html()
    assert page.count("<script") == 2  # the page's data and its player
    assert "<img" not in page and "</pre>" not in page and "alert(1)" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page_data(page)["svg"]  # the drawing, escaped by Graphviz
    assert "&lt;/pre&gt;&lt;img src=x&gt;" in page  # the title
    data = page_data(page)
    assert "</pre><img src=x>" in data["texts"][0]  # the JSON carries the text; the player sets it as text


@needs_dot
@needs_chromium
def test_html_page_keys_slider_and_play_work_in_headless_chromium(tmp_path):
    v = tanh_neuron()
    page = backward_steps(v.o).to_html()

    def shown_after(actions: str, budget_ms: int = 0) -> tuple[str, str]:
        """Run ``actions`` (JavaScript) after the page's own script in a test copy; the step and counter shown."""
        copy = tmp_path / f"page{len(list(tmp_path.iterdir()))}.html"
        copy.write_text(page.replace("</body>", f"<script>{actions}</script>\n</body>"), encoding="utf-8")
        flags = [f"--virtual-time-budget={budget_ms}"] if budget_ms else []
        dom = run_chromium(tmp_path / "profile", "--window-size=1200,900", *flags, "--dump-dom", copy.as_uri()).stdout
        step, counter, explain, _ = shown_state(dom)
        assert explain.startswith(f"step {step}/5:")
        return step, counter

    def key(name: str) -> str:
        return f'document.dispatchEvent(new KeyboardEvent("keydown", {{key: "{name}", bubbles: true}}));'

    assert shown_after("") == ("1", "step 1 / 5")
    assert shown_after(key("ArrowRight") * 3) == ("4", "step 4 / 5")
    assert shown_after(key("ArrowRight") * 3 + key("ArrowLeft")) == ("3", "step 3 / 5")
    assert shown_after(key("ArrowLeft") * 2) == ("1", "step 1 / 5")  # stays in range
    assert shown_after(key("ArrowRight") * 9) == ("5", "step 5 / 5")
    slide = 'var s = document.querySelector(".sg-slider"); s.value = "2"; s.dispatchEvent(new Event("input"));'
    assert shown_after(slide) == ("2", "step 2 / 5")
    play = 'document.querySelectorAll(".sg-button")[2].click();'
    assert shown_after(play, budget_ms=10000) == ("5", "step 5 / 5")  # played to the end


def test_backward_steps_class_is_exported():
    assert isinstance(backward_steps(Value(1.0) * 2), BackwardSteps)


def test_explanation_formulas_for_unary_ops_and_constant_powers():
    x = Value(3.0, label="x")
    y = (x**2).relu()
    lines = backward_steps(y).explain().splitlines()
    assert lines[1] == "step 1/2: L = ReLU(v1), ∂L/∂L = 1.0000"
    assert lines[3] == "step 2/2: v1 = x**2, ∂L/∂v1 = 1.0000"
    assert lines[4].startswith("  ∂L/∂x += ∂L/∂v1 · ∂v1/∂x = 1.0000 × 6.0000 = 6.0000")  # d(x²)/dx = 2x = 6


def test_a_node_with_its_own_backward_method_steps_like_backward():
    class Doubler(Value):  # a node type whose _backward pushes 2 · grad to its operand (no recorded partials)
        __slots__ = ()

        def _backward(self):
            for parent in self._parents:
                parent.grad += self.grad * 2.0

    def build():
        x = Value(3.0, label="x")
        d = Doubler(6.0, (x,), "double")
        d.label = "d"
        return x, d * 5.0

    x1, y1 = build()
    y1.backward()
    x2, y2 = build()
    steps = backward_steps(y2).run()
    assert x1.grad == x2.grad == 10.0  # 5 · 2
    (update,) = steps[1].updates
    assert update.local is None and update.contribution == 10.0
    assert "∂L/∂x += (hand-written _backward of d) = 10.0000   (∂L/∂x: 0.0000 → 10.0000)" in steps[1].explain()


# --------------------------------------------------------------------------- names a student can read


def test_constants_are_named_by_their_value_and_minus_x_reads_minus_x():
    x = Value(3.0, label="x")
    f = x * 2
    f.label = "f"
    lines = backward_steps(f).explain().splitlines()
    assert lines[1] == "step 1/1: f = x * 2, ∂f/∂f = 1.0000"
    assert lines[2].startswith("  ∂f/∂x += ∂f/∂f · ∂f/∂x = 1.0000 × 2.0000 = 2.0000")
    assert len(lines) == 3  # no line for the constant's gradient
    x = Value(3.0, label="x")
    w = Value(-2.0, label="w")
    y = -x * w  # -x is x * -1 in the graph
    y.label = "y"
    steps = backward_steps(y)
    assert steps[1].formula().endswith(" = -x")
    assert steps[0].formula() == f"y = {steps[1].name} * w"
    steps.run()
    assert x.grad == 2.0 and w.grad == -3.0  # ∂(-x·w)/∂x = -w, ∂/∂w = -x


def test_the_command_line_names_constants_by_their_value():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "nn.cli", "steps", "x*2", "--at", "x=1"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "step 1/1: f = x * 2, ∂f/∂f = 1.0000" in out.stdout
    assert "v0" not in out.stdout and "v1" not in out.stdout


def test_a_closure_assigned_to_a_node_made_by_an_operation_steps_like_backward():
    def build():
        x = Value(-2.0, label="x")
        y = x.relu()

        def _backward():  # micrograd style: pass y's gradient straight through, whatever relu says
            x.grad += y.grad

        y._backward = _backward
        return x, y * 3

    x1, y1 = build()
    y1.backward()
    x2, y2 = build()
    steps = backward_steps(y2).run()
    assert x1.grad == x2.grad == 3.0  # micrograd gives 3
    assert steps[1].updates[0].local is None and "hand-written _backward" in steps[1].explain()


@pytest.mark.parametrize(
    "make, x",
    [
        (lambda v: v.relu().sqrt(), -1.0),  # ∞ upstream through relu's zero local derivative
        (lambda v: 0.0 * v.sqrt(), 0.0),  # a zero upstream into sqrt's ∞ local derivative
        (lambda v: (v * 1e308 * 10).tanh() + v.relu(), -2.0),
        (lambda v: v ** v.relu(), -0.5),
    ],
)
@pytest.mark.parametrize("seed", [1.0, math.inf, math.nan, -0.0])
def test_stepper_equals_backward_at_zero_and_infinite_factors(make, x, seed):
    a, b = Value(x), Value(x)
    make(a).backward(seed)
    backward_steps(make(b), seed).run()
    assert bits(a.grad) == bits(b.grad)
