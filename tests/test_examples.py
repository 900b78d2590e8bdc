"""autograd.examples: the one tanh neuron, checked against a hand derivation.

n = x1·w1 + x2·w2 + b = 2·(−3) + 0·1 + 6.8813735870195432 = 0.8813735870195432 = artanh(1/√2),
so o = tanh(n) = 1/√2 and ∂o/∂n = 1 − o² = 1/2; the chain rule gives ∂o/∂x1 = w1/2, ∂o/∂w1 = x1/2,
∂o/∂x2 = w2/2, ∂o/∂w2 = x2/2 and ∂o/∂b = 1/2.
"""

from __future__ import annotations

import math

from autograd.examples import TanhNeuron, tanh_neuron


def test_the_neuron_has_the_hand_derived_value_and_gradients():
    neuron = tanh_neuron()
    assert math.isclose(neuron.n.data, math.atanh(1 / math.sqrt(2)), rel_tol=1e-15)
    assert math.isclose(neuron.o.data, 1 / math.sqrt(2), rel_tol=1e-15)
    neuron.o.backward()
    half = 0.5
    expected = {"n": half, "b": half, "x1": -3 * half, "w1": 2 * half, "x2": 1 * half, "w2": 0.0}
    for name, gradient in expected.items():
        assert math.isclose(getattr(neuron, name).grad, gradient, rel_tol=1e-14, abs_tol=1e-15), name


def test_every_value_is_labelled_with_its_name_and_the_graph_is_new_each_time():
    neuron = tanh_neuron()
    labels = {field: value.label for field, value in neuron._asdict().items()}
    assert labels == {
        "x1": "x1",
        "x2": "x2",
        "w1": "w1",
        "w2": "w2",
        "b": "b",
        "x1w1": "x1*w1",
        "x2w2": "x2*w2",
        "x1w1x2w2": "x1*w1 + x2*w2",
        "n": "n",
        "o": "o",
    }
    assert neuron.n.parents == (neuron.x1w1x2w2, neuron.b) and neuron.o.parents == (neuron.n,)
    again = tanh_neuron()
    assert isinstance(again, TanhNeuron) and again.o is not neuron.o and again.x1 is not neuron.x1
