"""PyTorch export and import of every ``nn`` model (torch is imported only inside these functions).

- ``MLP``, ``Layer``, ``Neuron`` become ``torch.nn.Sequential(Linear, activation, Linear, activation, ...)``,
  with Linear.weight[j][i] = neuron j's weight i and Linear.bias[j] = neuron j's bias (a Neuron is a
  Linear with one output);
- ``GPT`` becomes ``nn.torch_gpt.TorchGPT``: ``net(idx)`` gives logits ``(…, T, vocab)``, parameters named
  as the GPT's matrices (``wte``, ``layer0.attn_wq`` …).

Both in float64 unless ``dtype=`` says otherwise. ``from_torch`` reads either back (or a GPT checkpoint
file written by ``nn.train_torch``).
"""

from __future__ import annotations

import math
import os
import random
from typing import Any

from .gpt import GPT
from .module import MLP, Layer, Module, Neuron

_TORCH_ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid"}
TORCH_EXTRA = "pip install 'stepgrad[torch]'"


def import_torch(where: str) -> Any:
    """``torch``, or an ImportError naming ``where`` and the extra that installs it."""
    try:
        import torch
    except ImportError:
        raise ImportError(f"{where} needs PyTorch, which is not installed: {TORCH_EXTRA}") from None
    return torch


def to_torch(model: Module, *, dtype: Any = None) -> Any:
    """A ``torch.nn.Module`` computing the same function as ``model``, with the same weights, in ``dtype``
    (default ``torch.float64``): a ``Sequential`` for an ``MLP``, ``Layer`` or ``Neuron``, a
    ``nn.torch_gpt.TorchGPT`` for a ``GPT``.

    >>> net = to_torch(MLP(2, [16, 16, 1]))   # doctest: +SKIP
    >>> logits = to_torch(GPT())(torch.tensor([26, 4, 12]))   # doctest: +SKIP
    """
    torch = import_torch("to_torch")
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_torch: dtype must be a floating-point torch.dtype such as torch.float64, got {dtype!r}")
    if isinstance(model, GPT):
        from .torch_gpt import gpt_to_torch

        return gpt_to_torch(model, dtype)
    if isinstance(model, MLP):
        layers = [layer.neurons for layer in model.layers]
    elif isinstance(model, Layer):
        layers = [model.neurons]
    elif isinstance(model, Neuron):
        layers = [[model]]
    else:
        why = (
            "it is a Module of your own: its forward pass is Python code that torch cannot read; "
            "write it as a torch.nn.Module and copy the weights by name (state_dict())"
            if isinstance(model, Module)
            else "it is not an nn model"
        )
        raise TypeError(
            f"to_torch: cannot export a {type(model).__name__}: only nn.MLP, nn.Layer, nn.Neuron and nn.GPT have a "
            f"torch counterpart, and {why}"
        )
    modules = []
    for li, neurons in enumerate(layers):
        nin, nout = len(neurons[0].w), len(neurons)
        linear = torch.nn.Linear(nin, nout, dtype=dtype)
        with torch.no_grad():
            weights = torch.tensor([[w.data for w in n.w] for n in neurons], dtype=torch.float64)
            linear.weight.copy_(weights)
            linear.bias.copy_(torch.tensor([n.b.data for n in neurons], dtype=torch.float64))
        modules.append(linear)
        activation = neurons[0].activation
        mixed = sorted({n.activation for n in neurons})
        if len(mixed) > 1:
            raise ValueError(
                f"to_torch: the neurons of layer {li} have different activations {mixed}; torch needs one per layer"
            )
        if activation != "linear":
            modules.append(getattr(torch.nn, _TORCH_ACTIVATIONS[activation])())
    return torch.nn.Sequential(*modules)


def from_torch(net: Any) -> Module:
    """The stepgrad model holding ``net``'s weights (as Python floats): a ``GPT`` for a ``TorchGPT`` (also
    inside ``DistributedDataParallel``) or for the path of a checkpoint that ``nn.train_torch`` wrote; an
    ``MLP`` for a ``torch.nn.Sequential`` of ``Linear`` layers, each optionally followed by one ``ReLU``,
    ``Tanh``, ``Sigmoid`` or ``Identity``. Anything else raises an error naming it.
    """
    torch = import_torch("from_torch")
    if isinstance(net, (str, os.PathLike)):
        from .torch_gpt import load_checkpoint

        net = load_checkpoint(net)
    from .torch_gpt import TorchGPT, gpt_from_torch, unwrap

    net = unwrap(net)
    if isinstance(net, TorchGPT):
        return gpt_from_torch(net)
    return _mlp_from_torch(torch, net)


def _mlp_from_torch(torch: Any, seq: Any) -> MLP:
    if not isinstance(seq, torch.nn.Sequential):
        raise TypeError(
            f"from_torch: expected a torch.nn.Sequential (→ MLP), an exported GPT (nn.torch_gpt.TorchGPT) or a "
            f"checkpoint path, got {type(seq).__name__}"
        )
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
