"""Example graphs: the one tanh neuron that the demo, the notebooks, the README and the tests all draw.

>>> from autograd.examples import tanh_neuron
>>> neuron = tanh_neuron()
>>> neuron.o.backward()
>>> [round(v, 4) for v in (neuron.o.data, neuron.x1.grad, neuron.w1.grad)]  # 1/√2, (1 − o²)·w1, (1 − o²)·x1
[0.7071, -1.5, 1.0]
"""

from __future__ import annotations

from typing import NamedTuple

from .engine import Value

__all__ = ["TanhNeuron", "tanh_neuron"]


class TanhNeuron(NamedTuple):
    """The values of o = tanh(x1·w1 + x2·w2 + b), each labelled with its field name (the products and
    their sum as ``x1*w1``, ``x2*w2`` and ``x1*w1 + x2*w2``)."""

    x1: Value
    x2: Value
    w1: Value
    w2: Value
    b: Value
    x1w1: Value
    x2w2: Value
    x1w1x2w2: Value
    n: Value
    o: Value


def tanh_neuron() -> TanhNeuron:
    """The neuron of micrograd's lecture: o = tanh(x1·w1 + x2·w2 + b), before any backward pass.

    x1 = 2, x2 = 0, w1 = −3, w2 = 1 and b = 6.8813735870195432, chosen so that n = 0.8814 and
    o = tanh(n) = 1/√2; then ∂o/∂n = 1 − o² = 0.5 and each weight's gradient is 0.5 times its input.
    Every call builds a new graph.
    """
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return TanhNeuron(x1, x2, w1, w2, b, x1w1, x2w2, x1w1x2w2, n, o)
