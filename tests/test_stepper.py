"""Tests for autograd.stepper: the backward pass one node at a time.

Oracles: ``Value.backward()`` on an identical twin graph (bit for bit), and hand-derived
derivatives of the tanh neuron (see tests/test_viz.py: ∂o/∂n = 1 − o² = 0.5,
∂o/∂x1 = 0.5·w1 = −1.5, ∂o/∂w1 = 0.5·x1 = 1.0, ∂o/∂x2 = 0.5·w2 = 0.5, ∂o/∂w2 = 0.5·x2 = 0).
"""

from __future__ import annotations

import math
import re
import struct

import pytest
from browser import run_chromium
from hypothesis import given, settings
from hypothesis import strategies as st
from viz_svg import node_fill, node_texts, parse_svg

from autograd import Op, Value, topological_order
from autograd.examples import tanh_neuron
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
    assert len(steps) == 5  # the non-leaf values o, n, x1*w1 + x2*w2, x1*w1, x2*w2


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
    c = a * b + a  # topological order: a, b, a*b (v2), c (v3)
    lines = backward_steps(c).explain().splitlines()
    assert lines[0] == "backward pass of L: seed ∂L/∂L = 1.0000"
    assert lines[1] == "step 1/2: v3 = v2 + a, ∂L/∂v3 = 1.0000"
    assert lines[2].startswith("  ∂L/∂v2 += ∂L/∂v3 · ∂v3/∂v2 = 1.0000 × 1.0000 = 1.0000")
    assert lines[5].startswith("  ∂L/∂a += ∂L/∂v2 · ∂v2/∂a = 1.0000 × -3.0000 = -3.0000")
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
    assert lines[0] == "step 1/2: y = softsign(v2), ∂y/∂y = 1.0000"
    assert lines[1].startswith("  ∂y/∂v2 += ∂y/∂y · ∂y/∂v2 = 1.0000 × 0.0625 = 0.0625")  # 1/(1+3)² = 1/16
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


# --------------------------------------------------------------------------- widget


@needs_dot
def test_widget_scrubs_frames_with_the_slider():
    import ipywidgets

    v = tanh_neuron()
    box = backward_steps(v.o).widget()
    assert isinstance(box, ipywidgets.VBox)
    controls, frame, text = box.children
    assert controls.children == (box.play, box.slider) and frame is box.frame and text is box.text
    assert isinstance(box.play, ipywidgets.Play) and (box.slider.min, box.slider.max) == (0, 4)
    assert box.play.max == 4
    first = box.frame.value
    assert node_texts(first)["x1"][2] == "grad ?" and "step 1/5: o = tanh(n)" in box.text.value
    box.slider.value = 3  # the step of x1w1
    assert box.frame.value != first
    nodes = node_texts(box.frame.value)
    assert nodes["x1"][2] == "grad -1.5000" and nodes["w1"][2] == "grad 1.0000" and nodes["x2"][2] == "grad ?"
    assert node_fill(box.frame.value, "x1*w1") == "#ffd54f"
    assert "step 4/5: (x1*w1) = x1 * w1" in box.text.value
    assert "0.5000 × 2.0000 = 1.0000" in box.text.value
    box.slider.value = 0
    assert box.frame.value == first


# --------------------------------------------------------------------------- HTML export

XMLNS = re.compile(r'xmlns(?::\w+)?="http://www\.w3\.org/(?:2000/svg|1999/xlink)"')


def frame_sections(page: str) -> list[str]:
    return re.findall(r'<section class="frame" id="step-\d+"[^>]*>.*?</section>', page, flags=re.S)


@needs_dot
def test_html_page_is_self_contained_with_every_frame_inline(tmp_path):
    v = tanh_neuron()
    steps = backward_steps(v.o)
    page = steps.to_html()
    sections = frame_sections(page)
    assert len(sections) == 5
    assert "hidden" not in sections[0].split(">")[0] and all("hidden" in s.split(">")[0] for s in sections[1:])
    for step, section in zip(steps, sections):
        svg = re.search(r"<svg.*?</svg>", section, flags=re.S).group(0)
        parse_svg(svg)
        assert step.explain().splitlines()[0] in section
    assert "0.5000 × 2.0000 = 1.0000" in sections[3]
    assert 'type="range"' in page and "ArrowLeft" in page and "ArrowRight" in page
    without_namespaces = XMLNS.sub("", page)
    assert "http://" not in without_namespaces and "https://" not in without_namespaces
    assert not re.search(r"<(?:link|img|iframe)\b|<script[^>]*\bsrc=|@import|url\(", page)
    path = steps.save_html(tmp_path / "steps.html")
    assert path.read_text(encoding="utf-8") == page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.html"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        steps.save_html(tmp_path / "missing" / "steps.html")


@needs_dot
@pytest.mark.needs("dot", "chromium")
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
    colors = np.unique((pixels * 255).round().astype(int).reshape(-1, 3), axis=0)
    assert len(colors) > 30  # text, boxes and fills, not a blank page
    rgb = (pixels * 255).round().astype(int)
    yellow = np.all(np.abs(rgb - [0xFF, 0xD5, 0x4F]) <= 2, axis=2).sum()  # highlighted node (and legend)
    green = np.all(np.abs(rgb - [0xA5, 0xD6, 0xA7]) <= 2, axis=2).sum()  # just-updated node (and legend)
    dark = np.all(rgb < 80, axis=2).sum()  # text and lines
    assert yellow > 100 and green > 100 and dark > 1000
    dom = run_chromium(tmp_path / "profile2", "--window-size=1200,900", "--dump-dom", url + "#step-4").stdout
    sections = frame_sections(dom)
    assert len(sections) == 5
    visible = [s for s in sections if "hidden" not in s.split(">")[0]]
    assert len(visible) == 1 and 'id="step-4"' in visible[0]  # the script showed the step named in the URL
    assert "<svg" in visible[0] and "data -3.0000" in visible[0]
    assert "step 4/5: (x1*w1) = x1 * w1" in visible[0] and "0.5000 × 2.0000 = 1.0000" in visible[0]
    assert 'id="counter">step 4 / 5<' in dom


def test_backward_steps_class_is_exported():
    assert isinstance(backward_steps(Value(1.0) * 2), BackwardSteps)


def test_explanation_formulas_for_unary_ops_and_constant_powers():
    x = Value(3.0, label="x")
    y = (x**2).relu()
    lines = backward_steps(y).explain().splitlines()
    assert lines[1] == "step 1/2: v2 = ReLU(v1), ∂L/∂v2 = 1.0000"
    assert lines[3] == "step 2/2: v1 = x**2, ∂L/∂v1 = 1.0000"
    assert lines[4].startswith("  ∂L/∂x += ∂L/∂v1 · ∂v1/∂x = 1.0000 × 6.0000 = 6.0000")  # d(x²)/dx = 2x = 6


@needs_dot
def test_html_page_escapes_labels():
    x = Value(1.0, label="<script>alert(1)</script>")
    y = x * 2
    y.label = "</pre><img src=x>"
    page = backward_steps(y).to_html()
    assert page.count("<script") == 1  # only the page's own script
    assert "<img" not in page and "&lt;/pre&gt;&lt;img src=x&gt;" in page


@needs_dot
@pytest.mark.needs("dot", "chromium")
def test_html_page_keys_slider_and_play_work_in_headless_chromium(tmp_path):
    v = tanh_neuron()
    page = backward_steps(v.o).to_html()

    def visible_step_after(actions: str, budget_ms: int = 0) -> tuple[str, str]:
        """Run ``actions`` (JavaScript) after the page's own script in a test copy; the visible frame's id."""
        copy = tmp_path / f"page{len(list(tmp_path.iterdir()))}.html"
        copy.write_text(page.replace("</body>", f"<script>{actions}</script>\n</body>"), encoding="utf-8")
        flags = [f"--virtual-time-budget={budget_ms}"] if budget_ms else []
        dom = run_chromium(tmp_path / "profile", "--window-size=1200,900", *flags, "--dump-dom", copy.as_uri()).stdout
        visible = [s for s in frame_sections(dom) if "hidden" not in s.split(">")[0]]
        assert len(visible) == 1
        counter = re.search(r'id="counter">([^<]*)<', dom).group(1)
        return re.search(r'id="(step-\d+)"', visible[0]).group(1), counter

    def key(name: str) -> str:
        return f'document.dispatchEvent(new KeyboardEvent("keydown", {{key: "{name}", bubbles: true}}));'

    assert visible_step_after("") == ("step-1", "step 1 / 5")
    assert visible_step_after(key("ArrowRight") * 3) == ("step-4", "step 4 / 5")
    assert visible_step_after(key("ArrowRight") * 3 + key("ArrowLeft")) == ("step-3", "step 3 / 5")
    assert visible_step_after(key("ArrowLeft") * 2) == ("step-1", "step 1 / 5")  # stays in range
    assert visible_step_after(key("ArrowRight") * 9) == ("step-5", "step 5 / 5")
    slide = 'var s = document.getElementById("slider"); s.value = "2"; s.dispatchEvent(new Event("input"));'
    assert visible_step_after(slide) == ("step-2", "step 2 / 5")
    play = 'document.getElementById("play").click();'
    assert visible_step_after(play, budget_ms=10000) == ("step-5", "step 5 / 5")  # played to the end


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
