"""PyTorch export and import of an ``MLP`` (torch is imported only inside these functions).

An MLP becomes ``torch.nn.Sequential(Linear, activation, Linear, activation, ...)`` in float64,
with Linear.weight[j][i] = neuron j's weight i and Linear.bias[j] = neuron j's bias.
"""

from __future__ import annotations

import math
import random
from typing import Any

from .module import MLP

_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}


def to_torch(mlp: MLP) -> Any:
    """A float64 ``torch.nn.Sequential`` computing the same function as ``mlp``, with the same weights.

    >>> net = to_torch(MLP(2, [16, 16, 1]))   # doctest: +SKIP
    """
    import torch

    if not isinstance(mlp, MLP):
        raise TypeError(f"to_torch: expected an nn.MLP, got {type(mlp).__name__}")
    modules = []
    for layer in mlp.layers:
        nin, nout = len(layer.neurons[0].w), len(layer.neurons)
        linear = torch.nn.Linear(nin, nout, dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64))
        modules.append(linear)
        activation = layer.neurons[0].activation
        if any(n.activation != activation for n in layer.neurons):
            raise ValueError("to_torch: the neurons of one layer have different activations; torch needs one per layer")
        if activation != "linear":
            modules.append(getattr(torch.nn, _TORCH_ACTIVATIONS[activation])())
    return torch.nn.Sequential(*modules)


def from_torch(seq: Any) -> MLP:
    """An ``MLP`` with the weights of ``seq``: a ``torch.nn.Sequential`` of ``Linear`` layers, each optionally
    followed by one ``ReLU``, ``Tanh``, ``Sigmoid`` or ``Identity``. Anything else raises ValueError naming it."""
    import torch

    if not isinstance(seq, torch.nn.Sequential):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, got {type(seq).__name__}")
    children = list(seq)
    if not children:
        raise ValueError("from_torch: the Sequential is empty")
    names: dict[type, str] = {
        cls: name for name, cls in (("relu", torch.nn.ReLU), ("tanh", torch.nn.Tanh), ("sigmoid", torch.nn.Sigmoid))
    }
    linears: list[Any] = []
    activations: list[str] = []
    for i, module in enumerate(children):
        if isinstance(module, torch.nn.Linear):
            if linears and len(activations) < len(linears):
                activations.append("linear")
            if linears and module.in_features != linears[-1].out_features:
                raise ValueError(
                    f"from_torch: module {i} (Linear) takes {module.in_features} inputs but the previous Linear "
                    f"gives {linears[-1].out_features}"
                )
            linears.append(module)
        elif type(module) in names or isinstance(module, torch.nn.Identity):
            if not linears or len(activations) == len(linears):
                raise ValueError(
                    f"from_torch: module {i} ({type(module).__name__}) must follow a Linear layer directly"
                )
            activations.append("linear" if isinstance(module, torch.nn.Identity) else names[type(module)])
        else:
            raise ValueError(
                f"from_torch: module {i} is a {type(module).__name__}; only Linear, ReLU, Tanh, Sigmoid and "
                "Identity can become an MLP"
            )
    if not linears:
        raise ValueError("from_torch: the Sequential has no Linear layer")
    if len(activations) < len(linears):
        activations.append("linear")
    model = MLP(
        linears[0].in_features,
        [lin.out_features for lin in linears],
        activation=activations[:-1],
        output_activation=activations[-1],
        rng=random.Random(0),
    )
    state = {}
    for li, lin in enumerate(linears):
        weight = lin.weight.detach().to(torch.float64).tolist()
        bias = lin.bias.detach().to(torch.float64).tolist() if lin.bias is not None else [0.0] * lin.out_features
        for j in range(lin.out_features):
            for i in range(lin.in_features):
                state[f"layers.{li}.neurons.{j}.w.{i}"] = weight[j][i]
            state[f"layers.{li}.neurons.{j}.b"] = bias[j]
    bad = [name for name, v in state.items() if not math.isfinite(v)]
    if bad:
        raise ValueError(f"from_torch: non-finite weights {bad[:5]}")
    model.load_state_dict(state)
    return model
