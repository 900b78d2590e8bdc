"""Grouped views of big graphs (autograd.groups): micrograd's demo step and a microgpt step as boxes.

The expected pictures follow from how the graphs are built (tests/scoped.py): 100 calls of
MLP(2, [16, 16, 1]) side by side, each running 3 layers in turn; 16 positions of a GPT, each
reading the keys and values of the positions before it.
"""

from __future__ import annotations

import re
import shutil

import pytest
import scoped
from viz_svg import groups as svg_groups
from viz_svg import texts

from autograd import Value, auto_scope, scope, topological_order
from autograd.viz import draw_dot, to_svg

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz's dot program")

TOKENS = [0] + [(7 * i) % 26 + 1 for i in range(15)] + [0]  # 16 positions, as a 15-letter name


@pytest.fixture(scope="module")
def demo():
    loss, model = scoped.micrograd_demo_step()
    loss.backward()
    return loss, model


@pytest.fixture(scope="module")
def gpt():
    loss = scoped.gpt_step(TOKENS)
    loss.backward()
    return loss


def boxes(digraph) -> dict[str, str]:
    """The boxes of a drawing: DOT name -> label."""
    import re

    found = re.findall(r'^\s+(g\d+) \[label=(?:"([^"]*)"|([^\s\]]+))', digraph.source, re.M)
    return {name: quoted or bare for name, quoted, bare in found}


def box_edges(digraph) -> set[tuple[str, str]]:
    import re

    return set(re.findall(r"^\s+(g\d+) -> (g\d+)", digraph.source, re.M))


def test_micrograd_demo_step_draws_as_three_layer_stacks_hinge_and_l2(demo):
    loss, model = demo
    assert len(topological_order(loss)) > 38_000  # far above max_nodes: grouped, not refused
    g = draw_dot(loss)
    labels = boxes(g)
    assert sorted(labels.values()) == ["Layer 1 ×100", "Layer 2 ×100", "Layer 3 ×100", "hinge", "l2_penalty"]
    layers = [next(k for k, v in labels.items() if v == f"Layer {n} ×100") for n in (1, 2, 3)]
    hinge = next(k for k, v in labels.items() if v == "hinge")
    assert box_edges(g) == {(layers[0], layers[1]), (layers[1], layers[2]), (layers[2], hinge)}
    assert 'tooltip="MLP/Layer: ' in g.source and "open=['MLP/Layer']" in g.source
    # the loss, made outside every scope and unlabelled, is the one value drawn: named L, as in ∂L/∂... (was v41717)
    assert re.findall(r'\[label="\{ (\S+) \| data', g.source) == ["L"]
    assert len(model.parameters()) == 337 and "data 0.0000" not in g.source  # parameters live in the boxes


def test_open_names_which_scopes_to_show_inside(demo):
    loss, _ = demo
    labels = boxes(draw_dot(loss, open=["MLP", "Layer"]))
    # the boxes of the neurons of each layer's 100 calls: named by their layer, not read as "the third neuron"
    neurons = ["Neuron in Layer 1 ×1600", "Neuron in Layer 2 ×1600", "Neuron in Layer 3 ×100"]
    assert sorted(labels.values()) == [*neurons, "hinge", "l2_penalty"]
    closed = boxes(draw_dot(loss, open=[]))  # everything closed: one stack of MLP calls
    assert sorted(closed.values()) == ["MLP ×100", "hinge", "l2_penalty"]
    with pytest.raises(ValueError, match=r"even grouped, the drawing has \d+ items, more than max_nodes=1000"):
        draw_dot(loss, open=True)
    with pytest.raises(TypeError, match=r"open=\.\.\.\) takes scope names or paths \(str\), Scope objects or True"):
        draw_dot(loss, open=[3])


def test_boxes_of_one_name_in_different_enclosing_calls_say_which_call():
    x = Value(0.5, label="x")
    v = x
    for _ in range(2):
        with scope("outer"):
            for _ in range(2):
                with scope("inner"):
                    v = (v * 2).tanh()
    closed = sorted(boxes(draw_dot(v, open=[])).values())
    assert closed == ["outer 1", "outer 2"]  # calls in turn: numbered
    inside = sorted(boxes(draw_dot(v, open=["outer"])).values())
    assert inside == ["inner 1 in outer 1", "inner 1 in outer 2", "inner 2 in outer 1", "inner 2 in outer 2"]


def test_a_gpt_step_draws_as_its_positions_in_turn(gpt):
    assert 120_000 < len(topological_order(gpt)) < 140_000
    g = draw_dot(gpt)
    labels = boxes(g)
    calls = [f"gpt {k}" for k in range(1, 17)]
    assert sorted(labels.values(), key=str) == sorted([*calls, "softmax ×16", "outside scopes"], key=str)
    ident = {label: k for k, label in labels.items()}
    chain = {(ident[f"gpt {k}"], ident[f"gpt {k + 1}"]) for k in range(1, 16)}
    # gpt k reads the keys of every earlier position; the picture keeps the nearest edge of each
    assert chain <= box_edges(g) and (ident["gpt 1"], ident["gpt 3"]) not in box_edges(g)
    one_call = next(n.scope for n in topological_order(gpt) if n.scope and str(n.scope) == "gpt")
    inside = boxes(draw_dot(gpt, open=[one_call]))  # a Scope object opens that one call
    assert {"rmsnorm", "linear", "attn"} <= {label.split(" ")[0] for label in inside.values()}


@needs_dot
def test_grouped_drawings_render_and_are_the_same_every_time(demo, gpt):
    loss, _ = demo
    first = to_svg(loss)
    assert first == to_svg(loss)
    drawn = {texts(g)[0] for g in svg_groups(first, "node").values() if texts(g)}
    assert {"Layer 1 ×100", "Layer 3 ×100", "hinge", "l2_penalty", "+"} <= drawn
    assert "gpt 16" in to_svg(gpt)


def test_small_graphs_with_scopes_are_drawn_whole_unless_asked():
    x = Value(2.0, label="x")
    y = scoped.call("square", lambda v: v * v, x)
    y.label = "y"
    assert "g0" not in draw_dot(y).source  # under max_nodes: every value drawn
    assert boxes(draw_dot(y, open=[])) == {"g0": "square"}


@needs_dot
def test_the_stepper_goes_box_by_box_and_a_box_opens_to_step_inside_it():
    import json

    from autograd.stepper import backward_steps

    loss, model = scoped.micrograd_demo_step()
    steps = backward_steps(loss)
    drawing = steps.drawing()
    firsts = [frame.explain().splitlines()[0] for frame in drawing.frames]
    assert firsts[0].startswith("step 1/6: ")  # the output's + node
    assert [line.split(": ")[1] for line in firsts[1:]] == [
        "backward through hinge",
        "backward through Layer 3 ×100",
        "backward through Layer 2 ×100",
        "backward through Layer 1 ×100",
        "backward through l2_penalty",
    ]
    assert sum(len(frame.steps) for frame in drawing.frames) == len(steps)  # every step, once
    assert [frame.last for frame in drawing.frames] == sorted(frame.last for frame in drawing.frames)
    twin, twin_model = scoped.micrograd_demo_step()
    twin.backward()
    assert [p.grad for p in model.parameters()] == [q.grad for q in twin_model.parameters()]  # the same pass

    w = steps.widget()
    assert w.count == 6
    w.step = 3
    assert w.text.startswith("step 3/6: backward through Layer 3 ×100: 1700 steps")
    assert "into Layer 2 ×100: 1600 gradient updates" in w.text  # 16 hidden units × 100 points
    layer3 = next(k for k, v in boxes_of(w).items() if v == "Layer 3 ×100")
    w.expand(layer3)  # what a click on the box sends: every Layer call opens, showing its neurons
    assert "MLP/Layer" in w.options["open"]
    neurons = ["Neuron in Layer 1 ×1600", "Neuron in Layer 2 ×1600", "Neuron in Layer 3 ×100"]
    assert sorted(boxes_of(w).values()) == [*neurons, "hinge", "l2_penalty"]
    assert "step 3/6: backward through Neuron in Layer 3 ×100: 1700 steps" in w.drawing.frames[2].explain()
    assert json.loads(w.data)["count"] == w.count and 1 <= w.step <= w.count


def boxes_of(widget) -> dict[str, str]:
    """The boxes a stepper widget shows: DOT name -> label."""
    drawing = widget.drawing
    return {group.ident: drawing.scene.group_label(group) for group in drawing.scene.groups}


def test_unchanged_code_under_auto_scope_gets_the_same_pictures():
    from nn import MLP
    from nn.losses import hinge, l2_penalty

    X, y = scoped.moons()
    model = MLP(2, [16, 16, 1], seed=1337)
    with auto_scope():  # stepgrad's own nn code, unchanged: scopes MLP/Layer/Neuron, hinge, l2_penalty
        loss = hinge([model(x) for x in X], y) + l2_penalty(model.parameters(), 1e-4)
    assert sorted(boxes(draw_dot(loss)).values()) == [
        "Layer 1 ×100", "Layer 2 ×100", "Layer 3 ×100", "hinge", "l2_penalty"
    ]  # fmt: skip
    gpt = scoped.gpt_step(TOKENS, auto=True)  # plain calls of gpt, rmsnorm, linear, attn, softmax
    labels = set(boxes(draw_dot(gpt)).values())
    assert {f"gpt {k}" for k in range(1, 17)} <= labels and "softmax ×16" in labels
    inside = set(boxes(draw_dot(gpt, open=["gpt"], max_nodes=5000)).values())
    assert {"rmsnorm", "linear", "attn", "softmax"} <= {label.split(" ")[0] for label in inside}


def test_nn_gpt_step_under_auto_scope_draws_its_positions_and_the_loss():
    from nn.gpt import step_graph

    with auto_scope():  # nn.gpt's own step (microgpt's model), unchanged
        loss = step_graph(16)
    assert len(topological_order(loss)) > 70_000
    labels = sorted(boxes(draw_dot(loss)).values())
    assert [label for label in labels if label.startswith("GPT ")] == sorted(f"GPT {k}" for k in range(1, 17))
    assert {"GPT", "softmax ×16", "document_loss (own)"} <= set(labels)  # parameters, probabilities, −log p
