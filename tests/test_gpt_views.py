"""A GPT step seen as a person sees it: named parts, the grouped drawing, one head's softmax stepped.

The closed forms are computed from the forward floats with ``math.exp`` (never from the graph):
∂L/∂zᵢ = pᵢ(gᵢ − Σⱼ pⱼgⱼ) for an attention head's softmax, (pᵢ − onehotᵢ)/n at the output.
"""

from __future__ import annotations

import math
import re

import pytest
from oracles import softmax_floats
from test_groups import box_edges, boxes

from autograd import grad, topological_order
from autograd.viz import draw_dot
from nn.gpt import GPT, NamedStep, Recording, document_loss, named_step, step_graph
from nn.text import CharTokenizer, load_names

needs_dot = pytest.mark.needs("dot")

PIPELINE = ["embedding", "rmsnorm", "q k v", "attention", "mlp", "lm_head", "softmax", "−log p"]


@pytest.fixture(scope="module")
def tokenizer() -> CharTokenizer:
    return CharTokenizer.from_documents(load_names())


def test_naming_the_parts_changes_no_number(tokenizer):
    tokens = tokenizer.encode("annabella")
    plain_model, named_model = GPT(seed=3), GPT(seed=3)
    plain = document_loss(plain_model, *plain_model.inputs_and_targets(tokens))
    named = document_loss(named_model, *named_model.inputs_and_targets(tokens), named=True)
    plain.backward()
    named.backward()
    assert named.data == plain.data  # the same floats, bit for bit
    assert [p.grad for p in named_model.parameters()] == [p.grad for p in plain_model.parameters()]
    assert len(topological_order(named)) == len(topological_order(plain))
    assert all(node.scope is None for node in topological_order(plain))  # off by default: nothing recorded
    named_nodes = [node for node in topological_order(named) if node._parents]
    assert all(node.scope is not None for node in named_nodes)  # every operation belongs to a part
    assert {node.scope.path[0] for node in named_nodes} == {*PIPELINE, "mean"}


@needs_dot
def test_a_gpt_step_draws_as_its_pipeline_and_attention_opens_into_heads():
    loss = step_graph(7, named=True)
    assert len(topological_order(loss)) > 30_000  # far above draw_dot's max_nodes: grouped, not refused
    g = draw_dot(loss, open=[])  # every part closed
    labels = boxes(g)
    assert sorted(g.boxes) == sorted(labels.values())  # what the drawing says it drew
    assert sorted(labels.values()) == sorted([f"{name} ×7" for name in PIPELINE] + ["mean"])
    ident = {label: name for name, label in labels.items()}
    chain = [ident[f"{name} ×7"] for name in PIPELINE] + [ident["mean"]]
    assert box_edges(g) == set(zip(chain, chain[1:]))  # one line: embedding → … → −log p → mean

    opened = draw_dot(loss, open=["attention"])
    labels = boxes(opened)
    heads = {f"head {h} ×7" for h in range(4)}
    assert heads | {"attn_wo ×7", "q k v ×7", "mlp ×7"} <= set(labels.values())
    assert not any(label.startswith("attention") for label in labels.values())
    ident = {label: name for name, label in labels.items()}
    edges = box_edges(opened)
    for head in heads:  # each head reads the queries, keys and values and feeds the output projection
        assert (ident["q k v ×7"], ident[head]) in edges and (ident[head], ident["attn_wo ×7"]) in edges

    by_default = boxes(draw_dot(loss))  # opened biggest first while the picture stays small
    assert len(by_default) <= 60 and "embedding ×7" in by_default.values() and "attention ×7" not in by_default.values()


@needs_dot
def test_the_named_steps_picture_opens_the_picked_head(tokenizer):
    step = named_step(GPT(seed=42), tokenizer.encode("isabel"), head=1)
    labels = sorted(boxes(step.draw()).values())
    parts = [f"{name} ×7" for name in PIPELINE if name != "attention"]
    others = [f"head {h} ×7" for h in (0, 2, 3)]
    assert labels == sorted([*parts, *others, "attn_wo ×7", "scores ×7", "Σ a·v ×7", "softmax ×7", "mean"])


@needs_dot
def test_one_head_opened_shows_its_scores_and_softmax_node_by_node(tokenizer):
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=2, position=3)
    assert (step.head.head, step.head.position, len(step.head.logits)) == (2, 3, 4)
    step.loss.backward()
    g = step.draw_head()
    assert "rankdir=TB" in g.source
    for t in range(4):
        for name in (f"z{t}", f"e{t}", f"p{t}"):
            assert re.search(rf"label=\"(\{{ )?{name} \| data ", g.source), name
    assert "attention ×4" in boxes(g).values()  # the other positions' attention stays closed, stacked
    assert "Σe | data " in g.source and "L | data " not in g.source  # L is inside the closed "mean" box


def test_named_step_refuses_a_loss_without_parts_and_bad_choices(tokenizer):
    model = GPT(seed=1)
    with pytest.raises(ValueError, match=r"named_step: head must be an int in \[0, 4\), got 4"):
        named_step(model, tokenizer.encode("emma"), head=4)
    with pytest.raises(ValueError, match=r"named_step: position must be an int in \[-5, 5\), got 5"):
        named_step(model, tokenizer.encode("emma"), position=5)
    with pytest.raises(TypeError, match="named_step: head must be an int in \\[0, 4\\), got str '1'"):
        named_step(model, tokenizer.encode("emma"), head="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="named_step: model must be a GPT, got str"):
        named_step("gpt", tokenizer.encode("emma"))  # type: ignore[arg-type]
    record = Recording()
    loss = document_loss(model, *model.inputs_and_targets(tokenizer.encode("emma")), record=record)
    with pytest.raises(ValueError, match=r"built without named parts \(named=True\)"):
        _ = NamedStep(loss, record, record.heads[0]).open_head


@pytest.mark.parametrize("position", [0, 2, -1])
def test_stepping_a_heads_softmax_gives_the_closed_form(tokenizer, position):
    step = named_step(GPT(seed=42), tokenizer.encode("isabella"), head=1, position=position)
    steps = step.steps().run()
    z = [node.data for node in step.head.logits]
    p = softmax_floats(z)  # from the forward floats, with math.exp
    g = [node.grad for node in step.head.weights]  # ∂L/∂pᵢ, as the pass left it
    mean = math.fsum(pi * gi for pi, gi in zip(p, g))
    worst = max(abs(node.grad - pi * (gi - mean)) for node, pi, gi in zip(step.head.logits, p, g))
    assert worst < 1e-12
    assert step.closed_form_error() == worst
    # and the stepper's ∂L/∂z are backward()'s, and grad()'s
    stepped = [node.grad for node in step.head.logits]
    assert stepped == [d.data for d in grad(step.loss, step.head.logits)]
    step.loss.backward()
    assert [node.grad for node in step.head.logits] == stepped
    # the steps that pushed gradient into z: one contribution through each "zᵢ − max z" (∂/∂zᵢ = 1), and
    # one from "max z" into each zᵢ (∂max/∂zᵢ: 1 for the largest, else 0) of about 0: softmax does not
    # depend on the shift, so ∂L/∂(max z) = −Σᵢ ∂L/∂(zᵢ − max z) is 0 up to rounding
    into = [(s.node, u) for s in steps for u in s.updates if any(u.parent is zi for zi in step.head.logits)]
    shifted = [(node, u) for node, u in into if node.label.endswith(" − max z")]
    from_max = [(node, u) for node, u in into if node.label == "max z"]
    assert len(shifted) == len(from_max) == len(z) and len(into) == 2 * len(z)
    assert all(u.local == 1.0 for _, u in shifted)
    assert sorted(u.local for _, u in from_max) == [0.0] * (len(z) - 1) + [1.0]
    assert all(abs(u.contribution) <= 1e-15 for _, u in from_max)
    if len(z) == 1:  # position 0 attends to itself only: p = (1) whatever z is, so ∂L/∂z = 0 exactly
        assert stepped == [0.0]
    else:  # not vacuous: the gradients are not all 0
        assert max(abs(v) for v in stepped) > 1e-6


def test_at_the_output_the_gradient_is_p_minus_onehot_over_n(tokenizer):
    step = named_step(GPT(seed=42), tokenizer.encode("emma"))
    n = len(step.record.logits)
    step.steps().run()
    targets = tokenizer.encode("emma")[1:]
    worst = 0.0
    for logits, target in zip(step.record.logits, targets):
        p = softmax_floats([z.data for z in logits])
        worst = max(worst, max(abs(z.grad - (p[i] - (i == target)) / n) for i, z in enumerate(logits)))
    assert worst < 1e-12


@needs_dot
def test_the_stepper_of_a_gpt_step_has_one_frame_per_box_or_opened_node(tokenizer):
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=0)
    steps = step.steps()
    drawing = steps.drawing(**step.head_view)
    assert len(steps) > 20_000 and len(drawing.frames) < 100  # every step of the pass, a frame per box
    explained = [frame.explain() for frame in drawing.frames]
    positions = len(step.record.logits)
    for t in range(positions):  # each zₜ gets its gradient in a frame of its own, from "zₜ − max z"
        assert sum(f"∂L/∂z{t} += ∂L/∂(z{t} − max z) · " in text for text in explained) == 1, t
    assert sum("∂L/∂(max z) · ∂(max z)/∂z" in text for text in explained) == 1  # and a frame from the shift
    assert any(text.startswith(f"step {k + 1}/{len(drawing.frames)}: backward through attention ×4") for k, text in
               enumerate(explained))  # fmt: skip
    page = steps.to_html(**step.head_view)
    assert len(page) < 1_000_000


def _frames(source: str) -> dict[str, tuple[str, list[str]]]:
    """The dashed frames of a DOT source: {label: (the text inside, frame labels nested directly or deeper)}."""
    frames = {}
    for match in re.finditer(r"subgraph cluster_frame\d+ \{", source):
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(source[end], 0)
            end += 1
        body = source[match.end() : end - 1]
        label = re.search(r'label=("[^"]*"|\S+)', body).group(1).strip('"')
        nested = [name.strip('"') for name in re.findall(r'label=("[^"]*"|\S+) labeljust', body)[1:]]
        frames[label] = (body, nested)
    return frames


def _ident(source: str, name: str) -> str:
    return re.search(rf'(\w+) \[label="(\{{ )?{re.escape(name)} \| data ', source).group(1)


@needs_dot
def test_the_opened_head_is_framed_and_named_like_its_closed_siblings(tokenizer):
    """The boxes of the closed heads say "head 0", "head 2", …; the opened one is a dashed frame named "head 1"
    around its insides (issue 20), inside the frame of the opened attention; its scores and softmax are
    framed too (beside the closed Σ a·v box), and no closed scope is."""
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=1)
    source = step.draw_head().source
    frames = _frames(source)
    assert set(frames) == {"attention", "head 1", "scores", "softmax"}
    assert frames["attention"][1] == ["head 1", "scores", "softmax"]  # nested: attention ⊃ head 1 ⊃ both
    assert frames["head 1"][1] == ["scores", "softmax"]
    for t in range(len(step.head.logits)):
        assert re.search(rf"\b{_ident(source, f'z{t}')}\b", frames["scores"][0])  # zₜ inside "scores"
        assert re.search(rf"\b{_ident(source, f'p{t}')}\b", frames["softmax"][0])
    assert re.search(rf"\b{_ident(source, 'max z')}\b", frames["softmax"][0])
    opened = _frames(step.draw().source)  # open=["attention", "head 1"]: head 1's parts are boxes, framed
    assert set(opened) == {"attention", "head 1"} and "Σ a·v ×5" in boxes(step.draw()).values()
    assert not _frames(draw_dot(step.loss, open=[]).source)  # nothing open: no frame


def test_the_head_view_names_the_shift_and_the_loss(tokenizer):
    """Issue 20: steps read ``(z1 − max z) = z1 + (−max z)``, not ``v4230 = z1 + -0.504137``."""
    step = named_step(GPT(seed=42), tokenizer.encode("emma"), head=0)
    steps = step.steps()
    formulas = {s.formula() for s in steps if s.node.label}
    t = len(step.head.logits)
    assert f"(max z) = max({', '.join(f'z{i}' for i in range(t))})" in formulas
    assert "(−max z) = -(max z)" in formulas
    assert {f"(z{i} − max z) = z{i} + (−max z)" for i in range(t)} <= formulas
    assert {f"e{i} = exp((z{i} − max z))" for i in range(t)} <= formulas
    assert steps[0].name == "L" and steps[0].formula().startswith("L = ")
