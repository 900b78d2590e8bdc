"""nn.to_torch / nn.from_torch for the GPT (nn.torch_gpt) and every nn model kind; checkpoints; errors.

The oracle for stepgrad's GPT is the exported module itself: PyTorch float64 computes the loss and its
gradients with its own autograd, and every number is compared with stepgrad's engine by name.
"""

import random
import subprocess
import sys

import pytest

from nn import GPT, MLP, GPTConfig, Layer, Module, Neuron, document_loss, from_torch, to_torch

torch = pytest.importorskip("torch")
from nn.torch_gpt import IGNORE, TorchGPT, load_checkpoint, save_checkpoint  # noqa: E402

TOL = 1e-10


def _random_case(seed):
    """A random small GPT (weights of a random scale) and a random document [BOS, …, BOS]."""
    rng = random.Random(seed)
    n_head = rng.randint(1, 3)
    config = GPTConfig(
        vocab_size=rng.randint(2, 9),
        n_embd=n_head * rng.randint(1, 4),
        n_head=n_head,
        n_layer=rng.randint(1, 2),
        block_size=rng.randint(1, 7),
    )
    model = GPT(config, seed=seed, std=rng.choice([0.08, 0.3, 1.0]))
    bos = config.vocab_size - 1
    letters = rng.randint(0, config.block_size + 2)  # some documents are longer than block_size: cut as microgpt
    tokens = [bos] + [rng.randrange(bos) for _ in range(letters)] + [bos]
    return model, tokens


def _close(a, b):
    return abs(a - b) <= TOL * max(1.0, abs(b))


@pytest.mark.parametrize("seed", range(30))
def test_exported_gpt_loss_and_every_gradient_match_document_loss(seed):
    model, tokens = _random_case(seed)
    inputs, targets = model.inputs_and_targets(tokens)
    loss = document_loss(model, inputs, targets)
    loss.backward()

    net = to_torch(model)
    torch_loss = torch.nn.functional.cross_entropy(net(torch.tensor(inputs)), torch.tensor(targets))
    torch_loss.backward()
    assert _close(loss.data, torch_loss.item()), (loss.data, torch_loss.item())
    torch_grads = {name: p.grad.tolist() for name, p in net.named_parameters()}
    compared = 0
    for name, p in model.named_parameters():
        matrix, i, j = name.rsplit(".", 2)
        expected = torch_grads[matrix][int(i)][int(j)]
        assert _close(p.grad, expected), (name, p.grad, expected)
        compared += 1
    assert compared == len(model.parameters()) == sum(p.numel() for p in net.parameters())
    assert max(abs(g) for rows in torch_grads.values() for row in rows for g in row) > 1e-3  # not all zeros


def test_parameter_names_shapes_and_order_follow_the_gpt():
    model = GPT(GPTConfig(n_layer=2), seed=1)
    net = to_torch(model)
    assert isinstance(net, TorchGPT) and isinstance(net, torch.nn.Module)
    assert [(name, tuple(p.shape)) for name, p in net.named_parameters()] == list(model.config.matrix_shapes().items())
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net.layer1.attn_wq[3, 7].item() == model.matrices["layer1.attn_wq"][3][7].data
    assert net.wte[5].tolist() == [p.data for p in model.matrices["wte"][5]]


def test_a_batch_gives_each_row_its_own_logits_and_document_losses():
    model = GPT(GPTConfig(vocab_size=6, n_embd=8, n_head=2, block_size=6), seed=3, std=0.5)
    net = to_torch(model)
    docs = [[5, 1, 2, 5], [5, 0, 3, 4, 2, 1, 5], [5, 5]]
    pairs = [model.inputs_and_targets(d) for d in docs]
    T = max(len(x) for x, _ in pairs)
    idx = torch.tensor([x + [5] * (T - len(x)) for x, _ in pairs])
    targets = torch.tensor([y + [IGNORE] * (T - len(y)) for _, y in pairs])
    logits = net(idx)
    assert logits.shape == (3, T, 6)
    for b, (x, _) in enumerate(pairs):
        assert torch.allclose(logits[b, : len(x)], net(torch.tensor(x)), rtol=0, atol=1e-13)
    losses = net.document_losses(idx, targets)
    for b, (x, y) in enumerate(pairs):
        assert _close(losses[b].item(), document_loss(model, x, y).data)


def test_float32_export_and_its_logits():
    model = GPT(seed=2)
    net = to_torch(model, dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    ids = torch.tensor([26, 4, 12, 12, 0])
    assert torch.allclose(net(ids).double(), to_torch(model)(ids), atol=1e-5)


def test_export_then_import_is_the_identity_on_the_weights():
    model, _ = _random_case(7)
    assert from_torch(to_torch(model)).state_dict() == model.state_dict()
    # and an import reads what torch holds: change the torch weights, the stepgrad model follows exactly
    net = to_torch(model)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    back = from_torch(net)
    assert isinstance(back, GPT) and back.config == model.config
    for name, value in back.state_dict().items():
        matrix, i, j = name.rsplit(".", 2)
        assert value == net.get_parameter(matrix)[int(i), int(j)].item()


def test_a_checkpoint_round_trips_and_is_written_whole(tmp_path):
    model, _ = _random_case(4)
    path = tmp_path / "gpt.pt"
    save_checkpoint(to_torch(model), path)
    assert from_torch(path).state_dict() == model.state_dict()
    assert from_torch(str(path)).state_dict() == model.state_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpt.pt"]  # no temporary file left behind


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a checkpoint", "is not a torch checkpoint"),
        ("torch:{'a': 1}", "is not a GPT checkpoint written by nn.train_torch"),
    ],
)
def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.pt"
    if isinstance(content, str):
        torch.save({"a": 1}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        from_torch(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    "idx, error, message",
    [
        (torch.tensor([26, 40]), ValueError, "idx holds 40, which is not a token id: ids run from 0 to 26"),
        (torch.tensor([-1, 3]), ValueError, "idx holds -1, which is not a token id"),
        (torch.zeros(17, dtype=torch.long), ValueError, "idx has 17 positions but block_size is 16"),
        (torch.zeros(2, 2, 2, dtype=torch.long), ValueError, "must have shape (T,) or (B, T)"),
        (torch.tensor([1.0, 2.0]), TypeError, "must hold token ids (torch.long), got dtype torch.float32"),
        ([1, 2], TypeError, "idx must be a LongTensor of token ids, got list"),
    ],
)
def test_the_exported_gpt_refuses_bad_token_ids(idx, error, message):
    net = to_torch(GPT(seed=0))
    with pytest.raises(error) as e:
        net(idx)
    assert message in str(e.value)


def test_document_losses_refuses_targets_that_do_not_fit():
    net = to_torch(GPT(seed=0))
    with pytest.raises(ValueError, match=r"targets must have idx's shape \(3,\), got \(2,\)"):
        net.document_losses(torch.tensor([26, 1, 2]), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="a document has no target"):
        net.document_losses(torch.tensor([26, 1]), torch.tensor([-1, -1]))


# --------------------------------------------------------------------------- the other model kinds


@pytest.mark.parametrize(
    "make, layers",
    [
        (lambda: Neuron(3, activation="tanh", rng=random.Random(0)), ["Linear", "Tanh"]),
        (lambda: Neuron(2, nonlin=False, rng=random.Random(1)), ["Linear"]),
        (lambda: Layer(3, 4, activation="sigmoid", rng=random.Random(2)), ["Linear", "Sigmoid"]),
        (lambda: MLP(3, [4, 2], seed=3), ["Linear", "ReLU", "Linear"]),
    ],
)
def test_neurons_layers_and_mlps_export_exactly(make, layers):
    model = make()
    for p in model.parameters():
        p.data += 0.25  # non-zero biases
    net = to_torch(model)
    assert [type(m).__name__ for m in net] == layers
    rng = random.Random(5)
    nin = net[0].in_features
    for _ in range(10):
        x = [rng.uniform(-2, 2) for _ in range(nin)]
        out = model(x)
        ours = [o.data for o in out] if isinstance(out, list) else [out.data]
        assert ours == pytest.approx(net(torch.tensor(x, dtype=torch.float64)).tolist(), abs=1e-12, rel=1e-12)
    back = from_torch(net)
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]


class _Custom(Module):
    def __init__(self):
        self.w = MLP(1, [1]).parameters()


@pytest.mark.parametrize(
    "model, message",
    [
        (
            _Custom(),
            "cannot export a _Custom: only nn.MLP, nn.Layer, nn.Neuron and nn.GPT have a torch counterpart, "
            "and it is a Module of your own: its forward pass is Python code that torch cannot read",
        ),
        (
            [1, 2],
            "cannot export a list: only nn.MLP, nn.Layer, nn.Neuron and nn.GPT have a torch counterpart, "
            "and it is not an nn model",
        ),
    ],
)
def test_a_model_kind_that_cannot_export_says_so_and_why(model, message):
    with pytest.raises(TypeError) as e:
        to_torch(model)
    assert message in str(e.value)


def test_dtype_must_be_a_floating_torch_dtype():
    with pytest.raises(
        TypeError, match="dtype must be a floating-point torch.dtype such as torch.float64, got torch.int64"
    ):
        to_torch(GPT(seed=0), dtype=torch.int64)
    with pytest.raises(TypeError, match="got 'float64'"):
        to_torch(MLP(2, [1]), dtype="float64")


def test_a_missing_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    for call in (lambda: to_torch(MLP(2, [1])), lambda: to_torch(GPT(seed=0)), lambda: from_torch("gpt.pt")):
        with pytest.raises(ImportError) as e:
            call()
        assert "needs PyTorch, which is not installed: pip install 'stepgrad[torch]'" in str(e.value)


@pytest.mark.parametrize("module", ["nn.torch_gpt", "nn.train_torch"])
def test_the_torch_modules_name_the_extra_when_torch_is_missing(module):
    code = f"import sys; sys.modules['torch'] = None; import {module}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert (
        f"ImportError: {module} needs PyTorch, which is not installed: pip install 'stepgrad[torch]'" in result.stderr
    )
