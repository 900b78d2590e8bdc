"""The stepper never shows an effect before its cause (issue 18), on the drawings a learner steps through.

The check (``tests/causal.py``): a value's displayed gradient changes only in a frame that draws it as
just updated and whose text names the change, and each frame shows a true moment of the pass. It is
applied to a GPT step's head view, micrograd's demo grouped and with one call opened, and random
graphs with random scopes (hypothesis); the saved ``stepgrad demo gpt`` page is checked in
tests/test_demo_gpt.py. The numbers stay ``backward()``'s, bit for bit (the steps are never reordered).
"""

from __future__ import annotations

import contextlib
import struct

import pytest
import scoped
from causal import assert_causal, drawing_frames, violations
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import Value
from autograd.groups import Group
from autograd.stepper import Drawing, Frame, backward_steps
from nn.gpt import GPT, named_step
from nn.text import CharTokenizer, load_names

pytestmark = pytest.mark.needs("dot")


@pytest.fixture(scope="module")
def tokenizer() -> CharTokenizer:
    return CharTokenizer.from_documents(load_names())


def frames_by_last_step(drawing: Drawing) -> list[Frame]:
    """The frames as they were before issue 18: every step through one box in one frame, sorted by its last step."""
    through: dict = {}
    for step in drawing.steps:
        item = drawing.item_of(step.node)
        through.setdefault(item if isinstance(item, Group) else step, []).append(step)
    frames = [
        Frame(drawing, key if isinstance(key, Group) else drawing.item_of(key.node), s) for key, s in through.items()
    ]
    return sorted(frames, key=lambda frame: frame.last)


def test_the_issue_case_is_caught_by_the_check(tokenizer, monkeypatch):
    """GPT(seed=42) on "emma", head 0: a box's frame sorted by its last step showed ∂L/∂p0 at p0's own
    step (the current node, "explaining nothing") before the frame "backward through Σ a·v" said where it
    came from. The check sees it: it is not vacuous."""
    monkeypatch.setattr(Drawing, "_frames", frames_by_last_step)
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=0)
    found = violations(*drawing_frames(step.steps().drawing(**step.head_view)))
    assert any("∂L/∂p0 shown 'grad ?'" in line and "not drawn as just updated" in line for line in found)
    assert any("∂L/∂p3 shown 'grad ?'" in line and "does not say so" in line for line in found)


@pytest.mark.parametrize(("name", "head", "position"), [("emma", 0, -1), ("emma", 2, 2), ("isabella", 1, -1)])
def test_the_gpt_head_view_reads_in_causal_order(tokenizer, name, head, position):
    model = GPT(seed=42)
    step = named_step(model, tokenizer.encode(name), head=head, position=position)
    steps = step.steps()
    drawing = steps.drawing(**step.head_view)
    assert_causal(drawing)
    texts = [frame.explain() for frame in drawing.frames]
    for t in range(len(step.head.weights)):  # pₜ gets its gradient from Σ a·v, said there, then pₜ's own step
        said = min(k for k, text in enumerate(texts) if f"∂L/∂p{t}: " in text)
        own = next(k for k, frame in enumerate(drawing.frames) if frame.item is step.head.weights[t])
        assert said < own and "backward through Σ a·v" in texts[said], (t, texts[said])
    twin_model = GPT(seed=42)
    named_step(twin_model, tokenizer.encode(name), head=head, position=position).loss.backward()
    assert [p.grad for p in twin_model.parameters()] == [p.grad for p in model.parameters()]  # bit for bit


def test_a_box_split_by_an_opened_value_says_which_part_it_is(tokenizer):
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=0)
    drawing = step.steps().drawing(**step.head_view)
    heads = [frame.explain().splitlines()[0] for frame in drawing.frames if frame.part is not None]
    split = [line for line in heads if "backward through Σ a·v, part" in line]
    assert len(split) >= 2 and len(split) == len(heads)  # only the box whose steps interleave with p₀ … p₄'s
    assert all(f"Σ a·v, part {k + 1} of {len(split)}: " in line for k, line in enumerate(split))
    assert len(drawing.frames) < 100  # still a frame per box, split only where values interleave


@pytest.fixture(scope="module")
def micrograd_demo():
    loss, _ = scoped.micrograd_demo_step()
    return backward_steps(loss)


def call_opened(steps, k: int) -> list:
    """Every scope inside the ``k``-th MLP call: opening them draws that point's network node by node, and
    the parameters, which the 99 other calls (one box) update too."""
    outermost = {}
    for node in steps.order:
        s = node.scope
        while s is not None and s.parent is not None:
            s = s.parent
        if s is not None and s.name == "MLP":
            outermost.setdefault(s, None)
    chosen = list(outermost)[k]
    inside = set()
    for node in steps.order:
        chain, s = [], node.scope
        while s is not None:
            chain.append(s)
            s = s.parent
        if chosen in chain:
            inside.update(chain)
    return list(inside)


def test_micrograd_demo_grouped_reads_in_causal_order(micrograd_demo):
    assert_causal(micrograd_demo.drawing())
    assert_causal(micrograd_demo.drawing(open=["MLP", "Layer"]))


@pytest.mark.parametrize("call", [0, 50])
def test_micrograd_demo_with_one_call_opened_reads_in_causal_order(micrograd_demo, call):
    """The opened call's values and every parameter drawn, the 99 other calls one box: that box's steps
    update every parameter, before and after the opened call's steps (frames must split there), and each
    change is named in its frame's text (not cut after 12 lines)."""
    drawing = micrograd_demo.drawing(open=call_opened(micrograd_demo, call))
    assert len(drawing.records) > 400  # the point's network and every parameter, drawn
    assert_causal(drawing)
    box = next(frame for frame in drawing.frames if "backward through MLP" in frame.explain().splitlines()[0])
    assert box.explain().count("∂L/∂") > 300  # the other calls update every parameter: each change named


# --------------------------------------------------------------------------- random graphs, random scopes

SCOPES = [(), (), ("f",), ("g",), ("f", "h"), ("g", "h")]


@st.composite
def scoped_graphs(draw):
    """Leaves (some with gradients from an earlier pass), ops in scopes (consecutive ops in one scope path
    share one activation), a seed gradient and which scopes a drawing opens."""
    n = draw(st.integers(1, 4))
    leaves = draw(st.lists(st.sampled_from([0.0, 1.0, -1.0, 0.5, 2.0, -3.0]), min_size=n, max_size=n))
    prior = draw(st.lists(st.sampled_from([0.0, 0.0, 1.5]), min_size=n, max_size=n))
    ops = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["+", "*", "-", "square", "tanh", "relu", "exp", "leaf_mul", "sum3"]),
                st.integers(0, 999), st.integers(0, 999), st.sampled_from(SCOPES),
            ),
            min_size=1, max_size=30,
        )
    )  # fmt: skip
    gradient = draw(st.sampled_from([1.0, -0.5, 0.0]))
    open_ = draw(st.sampled_from([None, [], ["f"], ["h"], ["f", "h"], True]))
    return leaves, prior, ops, gradient, open_


def build_scoped(recipe) -> list[Value]:
    leaves, prior, ops, _, _ = recipe
    nodes = [Value(x, label=f"x{i}") for i, x in enumerate(leaves)]
    for node, g in zip(nodes, prior):
        node.grad = g
    with contextlib.ExitStack() as stack:
        opened: tuple[str, ...] = ()
        for op, i, j, path in ops:
            if path != opened:  # a new activation: close the scopes, open the path's
                stack.close()
                for name in path:
                    stack.enter_context(autograd.scope(name))
                opened = path
            a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
            if op == "+":
                out = a + b
            elif op == "*":
                out = a * b
            elif op == "-":
                out = a - b
            elif op == "square":
                out = a * a
            elif op == "tanh":
                out = a.tanh()
            elif op == "relu":
                out = (a - b).relu()
            elif op == "exp":
                out = (a * 0.25).exp()
            elif op == "sum3":
                out = a + b + nodes[(i + j) % len(nodes)]
            else:  # many contributions pile up on the leaves, from inside and outside boxes
                out = a * nodes[j % len(leaves)] + nodes[i % len(leaves)]
            nodes.append(out)
        stack.close()
    return nodes


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


@settings(max_examples=60, deadline=None)
@given(scoped_graphs())
def test_random_scoped_graphs_read_in_causal_order(recipe):
    nodes = build_scoped(recipe)
    gradient, open_ = recipe[3], recipe[4]
    steps = backward_steps(nodes[-1], gradient)
    assert_causal(steps.drawing(open=open_))
    twin = build_scoped(recipe)
    twin[-1].backward(gradient)
    assert [bits(a.grad) for a in nodes] == [bits(b.grad) for b in twin]  # backward()'s numbers, bit for bit
