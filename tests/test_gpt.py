"""nn.gpt: microgpt's GPT on stepgrad, checked against independent oracles.

- PyTorch float64 runs the same network as batched tensor code (a causal mask instead of a KV cache,
  ``F.cross_entropy`` instead of −log of a picked probability) from our weights: loss and all 4,192
  gradients to 1e-10.
- The softmax backward of every attention head, and of the output, against closed forms computed here
  from the forward floats with ``math.exp``: ∂L/∂zᵢ = pᵢ(gᵢ − Σⱼ pⱼgⱼ) and ∂L/∂logitᵢ = (pᵢ − onehotᵢ)/n.
- Central differences (``autograd.gradcheck``) on a few parameters through the whole loss.
- Properties with margins: training lowers the loss; sampling draws from softmax(logits / T).
"""

from __future__ import annotations

import math
import random
import statistics

import pytest
from oracles import softmax_floats

from autograd import Value, grad, gradcheck, no_grad, topological_order
from nn import Adam
from nn.gpt import (
    GPT,
    GPTConfig,
    Recording,
    document_loss,
    eager_step,
    linear,
    microgpt_adam,
    one_hot_vector,
    rmsnorm,
    sample_names,
    softmax,
    step_graph,
    train_gpt,
)
from nn.text import CharTokenizer, load_names


@pytest.fixture(scope="module")
def names() -> list[str]:
    return load_names()


@pytest.fixture(scope="module")
def tokenizer(names: list[str]) -> CharTokenizer:
    return CharTokenizer.from_documents(names)


def _longest(names: list[str]) -> str:
    return max(names, key=len)


# --------------------------------------------------------------------------- shape and parameters


def test_config_defaults_are_microgpts():
    c = GPTConfig()
    assert (c.vocab_size, c.n_embd, c.n_head, c.n_layer, c.block_size, c.head_dim) == (27, 16, 4, 1, 16, 4)
    shapes = c.matrix_shapes()
    assert list(shapes) == [
        "wte",
        "wpe",
        "lm_head",
        "layer0.attn_wq",
        "layer0.attn_wk",
        "layer0.attn_wv",
        "layer0.attn_wo",
        "layer0.mlp_fc1",
        "layer0.mlp_fc2",
    ]
    assert shapes["layer0.mlp_fc1"] == (64, 16) and shapes["layer0.mlp_fc2"] == (16, 64)
    # 27·16 + 16·16 + 27·16 + 4·16·16 + 2·64·16 = 4,192, microgpt's "num params"
    assert sum(r * k for r, k in shapes.values()) == 4192 == len(GPT().parameters())


def test_parameters_are_named_matrices_in_microgpts_order():
    model = GPT(seed=1)
    named = model.named_parameters()
    assert [p for _, p in named] == model.parameters()
    assert named[0] == ("wte.0.0", model.matrices["wte"][0][0])
    assert named[16][0] == "wte.1.0"
    assert dict(named)["layer0.attn_wq.3.7"] is model.matrices["layer0.attn_wq"][3][7]
    assert named[-1][0] == "layer0.mlp_fc2.15.63"
    assert len({id(p) for p in model.parameters()}) == 4192  # no parameter shared


def test_init_is_gaussian_with_std_008_from_the_seed():
    a, b, c = GPT(seed=7), GPT(seed=7), GPT(seed=8)
    assert a.state_dict() == b.state_dict()
    assert a.state_dict() != c.state_dict()
    # microgpt's draw: random.gauss(0, 0.08) for every entry, matrix by matrix, row by row
    rng = random.Random(7)
    assert [p.data for p in a.parameters()] == [rng.gauss(0.0, 0.08) for _ in range(4192)]
    values = [p.data for p in a.parameters()]
    # 4,192 draws: the sample mean is within 4 standard errors (4·0.08/√4192 ≈ 0.005) of 0
    assert abs(statistics.fmean(values)) < 0.005
    assert 0.075 < statistics.pstdev(values) < 0.085


def test_state_dict_save_and_load_round_trip(tmp_path):
    model = GPT(seed=3)
    path = tmp_path / "gpt.json"
    model.save(path)
    other = GPT(seed=4)
    other.load(path)
    assert other.state_dict() == model.state_dict()
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_load_refuses_a_gpt_of_another_shape(tmp_path):
    path = tmp_path / "small.json"
    GPT(GPTConfig(n_embd=8, n_head=2)).save(path)
    model = GPT()
    before = model.state_dict()
    with pytest.raises(ValueError, match="architecture") as e:
        model.load(path)
    assert "'n_embd': 8" in str(e.value) and "the model was not changed" in str(e.value)
    assert model.state_dict() == before


def test_the_names_moved_out_of_nn_gpt_still_import_and_unpickle_from_it():
    """nn.gpt keeps the model; its training (nn.gpt_train) and views (nn.gpt_views) moved out (issue 19,
    item 5). Every moved name is still nn.gpt's, and a pickle that names nn.gpt (as every pickle made
    before the move does) loads."""
    import pickle

    import nn.gpt
    import nn.gpt_train
    import nn.gpt_views

    for module in (nn.gpt_train, nn.gpt_views):
        for name in module.__all__:  # the constants (BETAS, GPT_DEMO_FILES, ...) too
            assert getattr(nn.gpt, name) is getattr(module, name), name
    history = nn.gpt.GPTHistory(losses=[2.5, 2.25], learning_rates=[0.01, 0.005], documents=["emma", "ava"])
    now = pickle.dumps(history, protocol=0)
    assert b"nn.gpt_train\nGPTHistory" in now
    before = now.replace(b"nn.gpt_train\nGPTHistory", b"nn.gpt\nGPTHistory")  # the path an older pickle holds
    assert pickle.loads(before) == history


# --------------------------------------------------------------------------- the helpers


def test_linear_rmsnorm_softmax_against_plain_floats():
    rng = random.Random(0)
    x = [Value(rng.uniform(-1, 1)) for _ in range(5)]
    w = [[Value(rng.uniform(-1, 1)) for _ in range(5)] for _ in range(3)]
    assert [y.data for y in linear(x, w)] == [sum(wi.data * xi.data for wi, xi in zip(row, x)) for row in w]
    xs = [v.data for v in x]
    scale = (sum(v * v for v in xs) / 5 + 1e-5) ** -0.5
    assert [y.data for y in rmsnorm(x)] == pytest.approx([v * scale for v in xs], rel=1e-15)
    top = max(xs)
    exps = [math.exp(v - top) for v in xs]
    assert [p.data for p in softmax(x)] == pytest.approx([e / sum(exps) for e in exps], rel=1e-15)


def test_softmax_does_not_depend_on_the_shift():
    """The shift m = max z is a node (autograd.maximum): moving every logit by the same amount changes
    neither the probabilities nor their gradients."""
    zs = [0.3, -1.2, 2.0, 0.5]
    weights = [0.1, -0.4, 0.7, 0.2]

    def probs_and_grads(shift: float) -> tuple[list[float], list[float]]:
        z = [Value(v + shift) for v in zs]
        p = softmax(z)
        out = sum(w * pi for w, pi in zip(weights, p))
        return [pi.data for pi in p], [g.data for g in grad(out, z)]

    p0, g0 = probs_and_grads(0.0)
    p1, g1 = probs_and_grads(500.0)
    assert p1 == pytest.approx(p0, rel=1e-12)
    assert g1 == pytest.approx(g0, rel=1e-9, abs=1e-15)


# --------------------------------------------------------------------------- PyTorch float64


def _torch_gpt(torch, model: GPT, inputs: list[int], targets: list[int]):
    """The same GPT as batched float64 tensor code: loss and {matrix name: gradient} (an independent oracle)."""
    F = torch.nn.functional
    c = model.config
    n, hd = len(inputs), c.head_dim
    W = {
        name: torch.tensor([[p.data for p in row] for row in matrix], dtype=torch.float64, requires_grad=True)
        for name, matrix in model.matrices.items()
    }

    def rms(x):
        return x * (x.pow(2).mean(dim=-1, keepdim=True) + 1e-5).rsqrt()

    x = rms(W["wte"][torch.tensor(inputs)] + W["wpe"][:n])
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    for li in range(c.n_layer):
        h = rms(x)
        q, k, v = ((h @ W[f"layer{li}.attn_{m}"].T).view(n, c.n_head, hd).transpose(0, 1) for m in ("wq", "wk", "wv"))
        scores = (q @ k.transpose(1, 2) / math.sqrt(hd)).masked_fill(~causal, float("-inf"))
        heads = (scores.softmax(dim=-1) @ v).transpose(0, 1).reshape(n, c.n_embd)
        x = heads @ W[f"layer{li}.attn_wo"].T + x
        x = F.relu(rms(x) @ W[f"layer{li}.mlp_fc1"].T) @ W[f"layer{li}.mlp_fc2"].T + x
    loss = F.cross_entropy(x @ W["lm_head"].T, torch.tensor(targets))
    loss.backward()
    return loss.item(), {name: w.grad.tolist() for name, w in W.items()}


def _assert_matches_torch(torch, model: GPT, tokens: list[int]) -> None:
    inputs, targets = model.inputs_and_targets(tokens)
    model.zero_grad()
    loss = eager_step(model, inputs, targets)
    torch_loss, torch_grads = _torch_gpt(torch, model, inputs, targets)  # type: ignore[arg-type]
    assert abs(loss - torch_loss) <= 1e-10 * max(1.0, abs(torch_loss))
    compared = 0
    for name, matrix in model.matrices.items():
        for i, row in enumerate(matrix):
            for j, p in enumerate(row):
                expected = torch_grads[name][i][j]
                assert abs(p.grad - expected) <= 1e-10 * max(1.0, abs(expected)), (name, i, j, p.grad, expected)
                compared += 1
    assert compared == 4192
    # every matrix carries gradient far above the tolerance: the comparison is not one of zeros
    assert all(max(abs(g) for row in grads for g in row) > 1e-4 for grads in torch_grads.values())


@pytest.mark.parametrize("which", ["emma", "repeats", "longest"])
def test_one_step_gradients_agree_with_pytorch_float64(which, names, tokenizer):
    torch = pytest.importorskip("torch")
    text = {"emma": "emma", "repeats": "annabella", "longest": _longest(names)}[which]
    model = GPT(seed=11)
    tokens = tokenizer.encode(text)
    if which == "longest":  # 15 letters: 17 tokens, cut to block_size = 16 positions as microgpt does
        assert len(tokens) == 17 and len(model.inputs_and_targets(tokens)[0]) == 16
    _assert_matches_torch(torch, model, tokens)


def test_gradients_agree_with_pytorch_after_training(names, tokenizer):
    """Away from the near-uniform initial point too: after 15 Adam steps."""
    torch = pytest.importorskip("torch")
    model = GPT(seed=5)
    train_gpt(model, tokenizer, names[:15], 15, progress=False)
    _assert_matches_torch(torch, model, tokenizer.encode("sophia"))


# --------------------------------------------------------------------------- softmax backward, closed forms


def test_attention_softmax_backward_equals_its_closed_form(tokenizer):
    """For every head at every position: the scalar chain rule's ∂L/∂zᵢ = pᵢ(gᵢ − Σⱼ pⱼgⱼ), g = ∂L/∂p."""
    model = GPT(seed=2)
    record = Recording()
    loss = document_loss(model, *model.inputs_and_targets(tokenizer.encode("isabella")), record=record)
    assert len(record.heads) == 9 * 4  # 9 positions × 4 heads
    nodes = [node for head in record.heads for node in head.logits + head.weights]
    d = {id(node): g.data for node, g in zip(nodes, grad(loss, nodes))}  # one reverse pass for all heads
    checked = 0
    for head in record.heads:
        assert len(head.logits) == len(head.weights) == head.position + 1  # causal: keys 0 … position
        dz = [d[id(z)] for z in head.logits]
        g = [d[id(p)] for p in head.weights]
        p = softmax_floats([z.data for z in head.logits])  # independently of the graph's probabilities
        mean_g = math.fsum(pj * gj for pj, gj in zip(p, g))
        for dzi, pi, gi in zip(dz, p, g):
            assert abs(dzi - pi * (gi - mean_g)) <= 1e-12
            checked += 1
    assert checked == 4 * sum(range(1, 10))
    assert max(abs(d[id(z)]) for z in record.heads[-1].logits) > 1e-6  # not a test of zeros


def test_output_softmax_backward_is_p_minus_onehot_over_n(tokenizer):
    model = GPT(seed=2)
    record = Recording()
    inputs, targets = model.inputs_and_targets(tokenizer.encode("olivia"))
    n = len(inputs)
    loss = document_loss(model, inputs, targets, record=record)
    assert len(record.logits) == n == 7
    for logits, target in zip(record.logits, targets):
        dlogits = [d.data for d in grad(loss, logits)]
        p = softmax_floats([z.data for z in logits])
        expected = [(pi - (1.0 if i == target else 0.0)) / n for i, pi in enumerate(p)]
        assert max(abs(a - b) for a, b in zip(dlogits, expected)) <= 1e-12
    # and the loss itself: the mean of −log p(target)
    expected_loss = math.fsum(
        -math.log(softmax_floats([z.data for z in logits])[t]) for logits, t in zip(record.logits, targets)
    )
    assert loss.data == pytest.approx(expected_loss / n, rel=1e-13)


# --------------------------------------------------------------------------- central differences


def test_gradcheck_through_the_whole_loss(tokenizer):
    model = GPT(seed=9)
    tokens = tokenizer.encode("emma")  # e, m, m, a: wte rows 4, 12, 0 and BOS are in the graph
    chosen = [
        ("wte", 12, 3),
        ("wpe", 2, 5),
        ("lm_head", 0, 1),
        ("layer0.attn_wq", 1, 2),
        ("layer0.attn_wk", 6, 4),
        ("layer0.attn_wv", 7, 7),
        ("layer0.attn_wo", 0, 15),
        ("layer0.mlp_fc1", 40, 9),
        ("layer0.mlp_fc2", 3, 33),
    ]

    def loss_at(*values: Value) -> Value:
        saved = []
        for (name, i, j), v in zip(chosen, values):
            saved.append(model.matrices[name][i][j])
            model.matrices[name][i][j] = v
        try:
            return document_loss(model, *model.inputs_and_targets(tokens))
        finally:
            for (name, i, j), p in zip(chosen, saved):
                model.matrices[name][i][j] = p

    point = [model.matrices[name][i][j].data for name, i, j in chosen]
    assert gradcheck(loss_at, point, eps=1e-6, atol=1e-8, rtol=1e-5)
    leaves = [Value(x) for x in point]
    analytic = [g.data for g in grad(loss_at(*leaves), leaves)]
    assert min(abs(g) for g in analytic) > 1e-6  # every checked derivative is far from 0: atol 1e-8 is not slack


# --------------------------------------------------------------------------- tokens as data


def test_one_hot_tokens_give_the_index_paths_loss_and_gradients(tokenizer):
    model = GPT(seed=4)
    tokens = tokenizer.encode("annabella")  # repeated letters: several positions share a wte row
    model.zero_grad()
    by_index = eager_step(model, *model.inputs_and_targets(tokens))
    index_grads = [p.grad for p in model.parameters()]
    model.zero_grad()
    inputs, targets = model.inputs_and_targets(tokens, one_hot=True)
    assert inputs[0] == one_hot_vector(26, 27) and targets[0] == one_hot_vector(0, 27)
    by_one_hot = eager_step(model, inputs, targets)
    one_hot_grads = [p.grad for p in model.parameters()]
    # 0·w adds exact zeros and 1·w is w, so the floats agree up to the order of additions
    assert by_one_hot == pytest.approx(by_index, rel=1e-15)
    for a, b in zip(one_hot_grads, index_grads):
        assert a == pytest.approx(b, rel=1e-13, abs=1e-17)
    used_rows = set(tokens[:-1])
    wte_grads = [[p.grad for p in row] for row in model.matrices["wte"]]
    assert all(g == 0 for r, row in enumerate(wte_grads) if r not in used_rows for g in row)


def test_one_hot_entries_may_be_values_that_the_graph_differentiates(tokenizer):
    """A token given as Values is data in the graph: ∂L/∂onehotᵢ = Σⱼ wte[i][j]·∂L/∂xⱼ is there for the taking."""
    model = GPT(seed=4)
    token = [Value(v) for v in one_hot_vector(4, 27)]
    loss = document_loss(model, [token], [0])
    d = grad(loss, token)
    x_grads = grad(loss, model.matrices["wte"][4])  # ∂L/∂wte[4][j] = ∂L/∂xⱼ (the token's weight is 1)
    for i in (0, 4, 26):
        expected = math.fsum(w.data * g.data for w, g in zip(model.matrices["wte"][i], x_grads))
        assert d[i].data == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_step_graph_sizes():
    """Attention makes a step's graph quadratic in the positions: with one-hot tokens (every wte row in
    the graph) the third differences of the node counts vanish. With ids, only the wte rows of the
    document's tokens and the wpe rows of its positions are leaves; every other weight is."""
    counts = [len(topological_order(step_graph(n, one_hot=True))) for n in range(1, 6)]
    first = [b - a for a, b in zip(counts, counts[1:])]
    second = [b - a for a, b in zip(first, first[1:])]
    assert second[0] > 0 and len(set(second)) == 1
    model = GPT(seed=3)
    n = 5
    nodes = topological_order(step_graph(n, model=model, seed=3))
    leaves = {id(v) for v in nodes if not v.parents}
    present = {
        name: [r for r, row in enumerate(matrix) if all(id(p) in leaves for p in row)]
        for name, matrix in model.matrices.items()
    }
    assert present["wpe"] == list(range(n))
    assert 1 <= len(present["wte"]) <= n and 26 in present["wte"]  # BOS starts every document
    for name, matrix in model.matrices.items():
        if name not in ("wte", "wpe"):
            assert present[name] == list(range(len(matrix))), name
    assert len(nodes) > len(topological_order(step_graph(n - 1, model=model, seed=3)))


# --------------------------------------------------------------------------- training and sampling


@pytest.fixture(scope="module")
def trained_run(names, tokenizer):
    """80 eager steps of microgpt's recipe on the shuffled names, with losses and samples before and after."""
    docs = names[:]
    random.Random(42).shuffle(docs)
    model = GPT(seed=42)
    seen, unseen = docs[:40], docs[-40:]

    def mean_loss(group: list[str]) -> float:
        with no_grad():
            return statistics.fmean(
                document_loss(model, *model.inputs_and_targets(tokenizer.encode(d))).data for d in group
            )

    before = {"seen": mean_loss(seen), "unseen": mean_loss(unseen), "samples": sample_names(model, tokenizer, 20)}
    history = train_gpt(model, tokenizer, docs, 80, progress=False)
    after = {"seen": mean_loss(seen), "unseen": mean_loss(unseen), "samples": sample_names(model, tokenizer, 20)}
    return {"before": before, "after": after, "history": history, "docs": docs}


def test_a_short_eager_run_lowers_the_loss(trained_run):
    """From ≈ ln 27 = 3.30 (the near-uniform initial model), 80 steps lower the mean loss by more than
    0.7 nats on the names trained on and by more than 0.4 nats on 40 names never seen."""
    before, after = trained_run["before"], trained_run["after"]
    assert abs(before["seen"] - math.log(27)) < 0.15 and abs(before["unseen"] - math.log(27)) < 0.15
    assert after["seen"] < before["seen"] - 0.7
    assert after["unseen"] < before["unseen"] - 0.4
    history = trained_run["history"]
    assert len(history) == 80 and history.documents == trained_run["docs"][:80]
    # microgpt's schedule: lr_k = 0.01·(1 − k/80)
    assert history.learning_rates == pytest.approx([0.01 * (1 - k / 80) for k in range(80)], rel=1e-12)
    assert history.seconds > 0


def test_after_training_the_samples_are_name_like(trained_run):
    """At T = 0.5 the untrained model rambles to the 16-token limit; trained, it has learnt that names end."""
    before, after = trained_run["before"]["samples"], trained_run["after"]["samples"]
    assert statistics.fmean(len(n) for n in before) > 10
    assert statistics.fmean(len(n) for n in after) < 8


def test_train_gpt_takes_an_optimizer_and_a_schedule(names, tokenizer):
    model = GPT(seed=1)
    optimizer = Adam(model.parameters(), lr=0.005)
    history = train_gpt(
        model, tokenizer, names[:3], 4, optimizer=optimizer, lr_schedule=lambda k: 0.005, progress=False
    )
    assert history.learning_rates == [0.005] * 4 and optimizer.t == 4
    default = microgpt_adam(model)
    assert (default.lr, default.betas, default.eps) == (0.01, (0.85, 0.99), 1e-8)


@pytest.mark.parametrize("compile", [False, True])
def test_training_times_the_steps_without_rescanning_the_objects_made_before(names, tokenizer, compile):
    """train_gpt collects garbage and freezes what is alive before its clock starts (gc.freeze), so the
    collector does not scan the objects a notebook's earlier cells left at every collection during the
    run (issue 20: 92-105 ms per eager step in notebook 06, 31-33 ms in a fresh process); it unfreezes
    them after, also when training fails, and leaves alone objects its caller froze."""
    import gc

    if compile:
        pytest.importorskip("numpy")
    left_behind = [[k] for k in range(50_000)]  # objects an earlier cell left alive
    frozen_during_the_run: list[int] = []

    def schedule(k: int) -> float:  # called at every step, inside the timed run
        frozen_during_the_run.append(gc.get_freeze_count())
        return 0.01

    assert gc.get_freeze_count() == 0
    train_gpt(GPT(seed=1), tokenizer, names[:2], 2, lr_schedule=schedule, progress=False, compile=compile)
    assert len(frozen_during_the_run) == 2 and min(frozen_during_the_run) >= len(left_behind)
    assert gc.get_freeze_count() == 0

    def failing(k: int) -> float:
        raise RuntimeError("the schedule failed")

    with pytest.raises(RuntimeError, match="the schedule failed"):
        train_gpt(GPT(seed=1), tokenizer, names[:2], 2, lr_schedule=failing, progress=False, compile=compile)
    assert gc.get_freeze_count() == 0
    gc.freeze()  # the caller's own freeze: kept as it is
    try:
        frozen = gc.get_freeze_count()
        frozen_during_the_run.clear()
        train_gpt(GPT(seed=1), tokenizer, names[:2], 1, lr_schedule=schedule, progress=False, compile=compile)
        # not frozen again (the model, made after the caller's freeze, would add thousands), not unfrozen
        assert len(frozen_during_the_run) == 1 and 0 < frozen_during_the_run[0] <= frozen
        assert 0 < gc.get_freeze_count() <= frozen
    finally:
        gc.unfreeze()
    del left_behind


def test_training_shows_a_progress_bar_when_asked(names, tokenizer, capsys):
    pytest.importorskip("tqdm")
    train_gpt(GPT(seed=1), tokenizer, names[:2], 2, progress=True)
    err = capsys.readouterr().err
    assert "train_gpt" in err and "2/2" in err and "loss=" in err


def test_compiled_training_follows_eager_training(names, tokenizer):
    """train_gpt(compile=True): one-hot tokens, one trace per document length, array kernels — the same
    losses, learning rates and final weights as the eager run (index tokens), to rounding."""
    pytest.importorskip("numpy")
    docs = names[:12]
    eager, fast = GPT(seed=3), GPT(seed=3)
    h_eager = train_gpt(eager, tokenizer, docs, 12, progress=False)
    h_fast = train_gpt(fast, tokenizer, docs, 12, progress=False, compile=True)
    assert h_fast.losses == pytest.approx(h_eager.losses, rel=1e-12)
    assert h_fast.learning_rates == h_eager.learning_rates and h_fast.documents == h_eager.documents
    assert [p.data for p in fast.parameters()] == pytest.approx(
        [p.data for p in eager.parameters()], rel=1e-9, abs=1e-15
    )
    lengths = {min(len(doc) + 1, 16) for doc in docs}
    assert h_eager.compiled is None
    assert h_fast.compiled.traces == len(lengths) == len(h_fast.compiled.programs)
    assert h_fast.compiled.replays == 12 - len(lengths)


@pytest.mark.filterwarnings("error::autograd.TracerWarning")  # the trace reads no number (the shift is a node)
def test_compiled_training_keeps_the_parameters_in_an_array_with_the_same_floats(names, tokenizer):
    """train_gpt(compile=True) with its default Adam runs on one array of parameters (Compiled.gradients,
    Adam.step_arrays): bit for bit the loop over Values — compiled call, Scheduler, Adam.step — and the
    Values hold the result (and the last step's gradients) at the end."""
    pytest.importorskip("numpy")
    from autograd import compiled
    from nn.optim import Scheduler, linear_decay

    docs = names[20:34]
    by_arrays, by_values = GPT(seed=4), GPT(seed=4)
    history = train_gpt(by_arrays, tokenizer, docs, 14, progress=False, compile=True)

    step = compiled(lambda inputs, targets: document_loss(by_values, inputs, targets), cache_size=16)
    adam = microgpt_adam(by_values)
    scheduler = Scheduler(adam, linear_decay(adam.lr, 0.0, 14))
    losses = []
    for doc in docs:
        adam.zero_grad()
        losses.append(step(*by_values.inputs_and_targets(tokenizer.encode(doc), one_hot=True)).data)
        scheduler.step()
        adam.step()
    assert history.losses == losses
    assert [p.data for p in by_arrays.parameters()] == [p.data for p in by_values.parameters()]
    assert [p.grad for p in by_arrays.parameters()] == [p.grad for p in by_values.parameters()]
    assert history.compiled.replays == 14 - history.compiled.traces > 0


def test_sampling_is_seeded_and_draws_from_softmax_over_temperature(tokenizer):
    model = GPT(seed=6)
    first = sample_names(model, tokenizer, count=4, temperature=0.7, seed=123)
    assert first == sample_names(model, tokenizer, count=4, temperature=0.7, seed=123)
    assert first != sample_names(model, tokenizer, count=4, temperature=0.7, seed=124)
    assert all(set(name) <= set(tokenizer.chars) and len(name) <= 16 for name in first)
    # the first letter: random.Random(seed).choices over softmax(logits / T), computed here from floats
    with no_grad():
        keys, values = model.new_cache()
        logits = [v.data for v in model(tokenizer.bos, 0, keys, values)]
    for temperature in (0.5, 1.0, 2.0):
        probs = softmax_floats([z / temperature for z in logits])
        for seed in range(5):
            expected = random.Random(seed).choices(range(27), weights=probs)[0]
            (name,) = sample_names(model, tokenizer, count=1, temperature=temperature, seed=seed)
            assert (name[:1] or "BOS") == (tokenizer.chars[expected] if expected != 26 else "BOS")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: GPTConfig(n_embd=10, n_head=4), ValueError, "n_embd (10) must be a multiple of n_head (4)"),
        (lambda: GPTConfig(block_size=0), ValueError, "GPTConfig: block_size must be a positive int, got 0"),
        (lambda: GPTConfig(vocab_size=1), ValueError, "vocab_size must be at least 2"),
        (lambda: GPT("big"), TypeError, "GPT: config must be a GPTConfig, got str"),
        (lambda: GPT(seed="x"), TypeError, "GPT: seed must be an int or a random.Random, got str 'x'"),
        (lambda: GPTConfig(n_embd="16"), TypeError, "GPTConfig: n_embd must be a positive int, got str '16'"),
        (lambda: GPT(std="a"), TypeError, "GPT: std must be a finite number >= 0, got str 'a'"),
        (lambda: GPT(std=-1.0), ValueError, "GPT: std must be a finite number >= 0, got -1.0"),
        (lambda: _forward(27, 0), ValueError, "GPT: token id 27 is out of range: ids run from 0 to 26"),
        (lambda: _forward([0.0] * 26, 0), ValueError, "a one-hot vector needs 27 entries (vocab_size), got 26"),
        (lambda: _forward([0.5] + [0.0] * 26, 0), ValueError, "a one-hot vector holds one 1 and 26 zeros"),
        (lambda: _forward([0.0] * 27, 0), ValueError, "a one-hot vector holds one 1 and 26 zeros"),
        (lambda: _forward(["a"] * 27, 0), TypeError, "entry 0 of a one-hot vector must be a number or a Value"),
        (lambda: _forward("a", 0), TypeError, "GPT: token must be an int id or a one-hot list of 27 numbers, got str"),
        (lambda: _forward(1, 16), ValueError, "GPT: pos_id must be an int in [0, 16) (block_size), got 16"),
        (lambda: _forward(1, 2), ValueError, "GPT: pos_id is 2 but the cache holds 0 positions"),
        (lambda: GPT()(1, 0, [], []), ValueError, "one list per layer (1); use new_cache()"),
        (lambda: document_loss(GPT(), [1, 2], [3]), ValueError, "document_loss: 2 inputs but 1 targets"),
        (lambda: document_loss(GPT(), [], []), ValueError, "document_loss: a document has 1 to 16 positions, got 0"),
        (lambda: document_loss(GPT(), [1] * 17, [1] * 17), ValueError, "1 to 16 positions, got 17"),
        (lambda: document_loss(GPT(), [1], [27]), ValueError, "document_loss: target id 27 is out of range"),
        (lambda: document_loss("gpt", [1], [2]), TypeError, "document_loss: model must be a GPT, got str"),
        (lambda: GPT().inputs_and_targets([26]), ValueError, "a document needs at least 2 tokens"),
        (
            lambda: GPT().inputs_and_targets([26, 30]),
            ValueError,
            "tokens[1] must be an int in [0, 27) (a token id), got 30",
        ),
        (lambda: GPT().inputs_and_targets("emma"), TypeError, "tokens must be a list of ids, got str"),
        (
            lambda: one_hot_vector(27, 27),
            ValueError,
            "one_hot_vector: token must be an int in [0, 27) (a token id), got 27",
        ),
        (lambda: step_graph(0), ValueError, "step_graph: positions must be an int in [1, 16] (block_size), got 0"),
    ],
)
def test_bad_input_messages(call, error, message):
    with pytest.raises(error) as e:
        call()
    assert message in str(e.value)


def _forward(token, pos_id):
    model = GPT(seed=0)
    keys, values = model.new_cache()
    return model(token, pos_id, keys, values)


def test_bad_training_and_sampling_input_messages(names, tokenizer):
    model = GPT(seed=0)
    cases = [
        (lambda: train_gpt(model, tokenizer, names, 0), ValueError, "train_gpt: steps must be a positive int, got 0"),
        (lambda: train_gpt(model, tokenizer, [], 1), ValueError, "documents must be a non-empty list of str"),
        (lambda: train_gpt(model, tokenizer, "emma", 1), TypeError, "documents must be a non-empty list of str"),
        (lambda: train_gpt(model, tokenizer, ["Emma"], 1, progress=False), ValueError, "character 'E' at position 0"),
        (lambda: train_gpt(model, tokenizer, names, 1, progress="yes"), TypeError, "progress must be True, False"),
        (lambda: train_gpt(model, tokenizer, names, 1, optimizer="adam"), TypeError, "optimizer must be an Optimizer"),
        (lambda: train_gpt(model, tokenizer, names, 1, lr_schedule=0.1), TypeError, "lr_schedule must be callable"),
        (lambda: train_gpt(model, tokenizer, names, 1, compile="yes"), TypeError, "compile must be True or False"),
        (lambda: train_gpt(model, CharTokenizer("ab"), names, 1), ValueError, "the tokenizer has 3 tokens but"),
        (lambda: train_gpt(model, "abc", names, 1), TypeError, "train_gpt: tokenizer must be a CharTokenizer, got str"),
        (lambda: sample_names(model, tokenizer, temperature=0), ValueError, "temperature must be a finite number > 0"),
        (lambda: sample_names(model, tokenizer, temperature=math.nan), ValueError, "temperature must be a finite"),
        (lambda: sample_names(model, tokenizer, count=-1), ValueError, "count must be an int >= 0, got -1"),
        (lambda: sample_names(model, tokenizer, seed=1.5), TypeError, "seed must be an int or a random.Random"),
        (lambda: sample_names(model, tokenizer, count="3"), TypeError, "count must be an int >= 0, got str '3'"),
        (lambda: sample_names(model, tokenizer, temperature="hot"), TypeError, "temperature must be a finite number"),
    ]
    before = model.state_dict()
    for call, error, message in cases:
        with pytest.raises(error) as e:
            call()
        assert message in str(e.value), (message, str(e.value))
    assert model.state_dict() == before  # nothing trained in vain


def test_training_that_diverges_says_so(names, tokenizer):
    model = GPT(seed=0, std=30.0)  # huge weights: exp of the attention scores overflows
    with pytest.raises(FloatingPointError, match="train_gpt: training diverged at step 0"):
        train_gpt(model, tokenizer, names[:1], 1, progress=False)


# --------------------------------------------------------------------------- the demo


def test_run_gpt_demo_writes_the_loss_curve(tmp_path):
    pytest.importorskip("matplotlib")
    from nn.gpt import run_gpt_demo

    messages: list[str] = []
    result = run_gpt_demo(tmp_path / "out", steps=3, seed=1, progress=False, report=messages.append, pictures=False)
    png = tmp_path / "out" / "gpt_loss_curve.png"
    assert result.files == {"gpt_loss_curve.png": png}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["gpt_loss_curve.png"]  # no temporary file left
    assert len(result.history) == 3 and len(result.samples_before) == len(result.samples_after) == 10
    assert result.samples_before != result.samples_after  # three Adam steps changed the model
    text = "\n".join(messages)
    assert "4192 parameters, 32033 names, 3 eager steps" in text and "ms per step (eager)" in text
    assert "names after training:" in text and str(png) in text


def test_run_gpt_demo_compiled(tmp_path):
    pytest.importorskip("matplotlib")
    pytest.importorskip("numpy")
    from nn.gpt import run_gpt_demo

    messages: list[str] = []
    result = run_gpt_demo(
        tmp_path / "out", steps=4, seed=1, progress=False, report=messages.append, compile=True, pictures=False
    )
    text = "\n".join(messages)
    assert "4192 parameters, 32033 names, 4 compiled steps" in text and "ms per step (compiled; " in text
    traces = result.history.compiled.traces
    assert f"{traces} name lengths traced and scheduled in " in text and 1 <= traces <= 4
    assert (tmp_path / "out" / "gpt_loss_curve.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"steps": 0}, ValueError, "run_gpt_demo: steps must be a positive int, got 0"),
        ({"seed": "x"}, TypeError, "run_gpt_demo: seed must be an int, got str 'x'"),
        ({"compile": "yes"}, TypeError, "run_gpt_demo: compile must be True or False, got str 'yes'"),
    ],
)
def test_run_gpt_demo_bad_arguments(tmp_path, kwargs, error, message):
    from nn.gpt import run_gpt_demo

    with pytest.raises(error) as e:
        run_gpt_demo(tmp_path / "out", progress=False, report=None, **kwargs)
    assert str(e.value) == message
    assert not (tmp_path / "out").exists()  # checked before anything is trained or written


def test_run_gpt_demo_refuses_a_file_as_its_folder(tmp_path):
    from nn.gpt import run_gpt_demo

    target = tmp_path / "taken"
    target.write_text("keep me")
    with pytest.raises(ValueError, match=r"run_gpt_demo: out_dir '.*taken' is a file, not a folder"):
        run_gpt_demo(target, steps=1, progress=False, report=None)
    assert target.read_text() == "keep me"
