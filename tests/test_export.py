"""nn.export: an MLP as a torch.nn.Sequential in float64 and back."""

import random
import subprocess
import sys

import pytest

from nn import MLP, from_torch, to_torch

torch = pytest.importorskip("torch")


def _random_inputs(nin, count=20, seed=0):
    rng = random.Random(seed)
    return [[rng.uniform(-3, 3) for _ in range(nin)] for _ in range(count)]


def _ours(model, x):
    out = model(x)
    return [o.data for o in out] if isinstance(out, list) else [out.data]


@pytest.mark.parametrize(
    "nin, nouts, kwargs",
    [
        (2, [16, 16, 1], {}),
        (3, [5, 4], {"activation": "tanh"}),
        (4, [6, 6, 3], {"activation": ["sigmoid", "relu"], "output_activation": "tanh", "init": "xavier"}),
        (1, [1, 1], {"output_activation": "sigmoid"}),
    ],
)
def test_to_torch_outputs_match_ours_to_1e_12(nin, nouts, kwargs):
    model = MLP(nin, nouts, seed=3, **kwargs)
    for p in model.parameters():  # non-zero biases too
        p.data += 0.1
    net = to_torch(model)
    assert isinstance(net, torch.nn.Sequential)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert sum(p.numel() for p in net.parameters()) == len(model.parameters())
    xs = _random_inputs(nin)
    theirs = net(torch.tensor(xs, dtype=torch.float64)).tolist()
    for x, row in zip(xs, theirs):
        assert _ours(model, x) == pytest.approx(row, abs=1e-12, rel=1e-12)


def test_to_torch_layout_and_activations():
    model = MLP(2, [3, 2], activation="tanh", seed=0)
    net = to_torch(model)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "Tanh", "Linear"]
    first = model.layers[0].neurons
    assert net[0].weight.tolist() == [[w.data for w in n.w] for n in first]  # weight[j][i] = neuron j, input i
    assert net[0].bias.tolist() == [n.b.data for n in first]
    assert [type(m).__name__ for m in to_torch(MLP(2, [3, 1], seed=0))] == ["Linear", "ReLU", "Linear"]


def test_from_torch_reverses_to_torch_exactly():
    model = MLP(3, [4, 4, 2], activation=["tanh", "relu"], output_activation="sigmoid", seed=1)
    back = from_torch(to_torch(model))
    assert back.state_dict() == model.state_dict()
    assert back.architecture() == model.architecture()


def test_from_torch_builds_an_mlp_from_a_torch_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2), torch.nn.Identity()
    ).double()
    model = from_torch(net)
    assert model.architecture() == {"type": "MLP", "nin": 3, "nouts": [5, 2], "activations": ["tanh", "linear"]}
    xs = _random_inputs(3)
    for x, row in zip(xs, net(torch.tensor(xs, dtype=torch.float64)).tolist()):
        assert _ours(model, x) == pytest.approx(row, abs=1e-12)
    no_bias = torch.nn.Sequential(torch.nn.Linear(2, 1, bias=False))
    assert from_torch(no_bias).layers[0].neurons[0].b.data == 0.0


@pytest.mark.parametrize(
    "make, error, message",
    [
        (
            lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Linear(4, 1)),
            ValueError,
            "module 1 (Linear) takes 4 inputs but the previous Linear gives 3",
        ),
        (
            lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.GELU()),
            ValueError,
            "module 1 is a GELU; only Linear, ReLU, Tanh, Sigmoid and Identity",
        ),
        (
            lambda: torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(2, 3)),
            ValueError,
            "module 0 (ReLU) must follow a Linear layer directly",
        ),
        (
            lambda: torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Tanh()),
            ValueError,
            "module 2 (Tanh) must follow a Linear layer directly",
        ),
        (lambda: torch.nn.Sequential(), ValueError, "from_torch: the Sequential is empty"),
        (
            lambda: torch.nn.Linear(2, 3),
            TypeError,
            "from_torch: expected a torch.nn.Sequential (→ MLP), an exported GPT (nn.torch_gpt.TorchGPT) or a "
            "checkpoint path, got Linear",
        ),
    ],
)
def test_from_torch_refuses_what_an_mlp_cannot_hold(make, error, message):
    with pytest.raises(error) as e:
        from_torch(make())
    assert message in str(e.value)


def test_to_torch_refuses_a_non_mlp():
    with pytest.raises(TypeError, match="to_torch: cannot export a list: only nn.MLP, nn.Layer, nn.Neuron and nn.GPT"):
        to_torch([1, 2])


def test_importing_nn_does_not_import_torch_or_tqdm():
    code = "import sys, nn; m = nn.MLP(2, [2, 1]); print(sorted({'torch', 'tqdm', 'numpy'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
