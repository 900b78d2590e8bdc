"""Modules: things that hold parameters (micrograd's ``Module``, ``Neuron``, ``Layer``, ``MLP``)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from autograd.engine import Value


class Module:
    """Base class: ``parameters()`` lists the trainable ``Value``s; ``zero_grad()`` resets their gradients."""

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to 0."""
        for p in self.parameters():
            p.grad = 0.0

    def parameters(self) -> list[Value]:
        """The trainable leaves, in a stable order."""
        return []


class Neuron(Module):
    """One neuron: relu(Σ wᵢxᵢ + b), or linear when ``nonlin=False``.

    Weights are drawn ``uniform(-1, 1)`` from Python's global ``random`` and the bias is 0,
    as in micrograd, so ``random.seed(1337)`` reproduces micrograd's weights exactly.
    """

    def __init__(self, nin: int, nonlin: bool = True):
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons reading the same ``nin`` inputs; one output comes back unwrapped."""

    def __init__(self, nin: int, nout: int, **kwargs: object):
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multilayer perceptron: relu layers, then a linear output layer (micrograd's ``MLP(nin, nouts)``)."""

    def __init__(self, nin: int, nouts: list[int]):
        sz = [nin] + nouts
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1) for i in range(len(nouts))]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"
