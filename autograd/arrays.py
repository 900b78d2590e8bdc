"""The forwards on numpy arrays of the rule table's ops that numpy has no one function for (an ``Op``'s ``array``).

Each is a function of the numpy module returning the forward on arrays (numpy stays unimported until a
compiled replay needs it). Each gives the engine's float forward for every input, signed zeros and nan
included, without a boolean mask (selection by mask is slow in numpy); ``tests/test_registry.py``
checks them against the float forwards on a grid. Every derivative comes from the rule table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any


def sigmoid(np: Any) -> Callable[[Any], Any]:
    """engine._sigmoid on arrays: 1/(1 + e^-x) for x ≥ 0, e^x/(1 + e^x) below 0."""

    def sigmoid(x: Any) -> Any:
        e = np.exp(-np.abs(x))
        positive = 1.0 * (x >= 0)
        return (positive + (1.0 - positive) * e) / (1.0 + e)

    return sigmoid


def relu(np: Any) -> Callable[[Any], Any]:
    """0.0 if x < 0 else x: relu(-0.0) = -0.0, relu(nan) = nan."""

    def relu(x: Any) -> Any:
        return np.maximum(0.0, x)

    return relu


def softplus(np: Any) -> Callable[[Any], Any]:
    """engine._softplus on arrays: max(x, 0) + ln(1 + e^-|x|)."""

    def softplus(x: Any) -> Any:
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))

    return softplus


def maximum(np: Any) -> Callable[..., Any]:
    """engine._max on arrays: the first largest input, nan if any is (argmax: the first)."""

    def maximum(*xs: Any) -> Any:
        if len(xs) == 1:
            return xs[0]
        stack = np.stack(np.broadcast_arrays(*xs))
        return np.take_along_axis(stack, np.argmax(stack, axis=0)[None], axis=0)[0]

    return maximum


def power(k: float) -> Callable[[Any], Callable[[Any], Any]]:
    """x ** k on arrays, for the op ``power(k)``."""

    def on_arrays(np: Any) -> Callable[[Any], Any]:
        if k == 0.5:  # numpy takes x ** 0.5 as sqrt(x): sqrt(-0.0) = -0.0, but (-0.0) ** 0.5 = 0.0 (IEEE 754)
            return lambda x: np.power(x, k) + 0.0
        return lambda x: np.power(x, k)

    return on_arrays


def leaky_relu(alpha: float) -> Callable[[Any], Callable[[Any], Any]]:
    """x if x > 0 else αx on arrays, for the op ``leaky_relu_op(α)``."""

    def on_arrays(np: Any) -> Callable[[Any], Any]:
        def leaky_relu(x: Any) -> Any:  # x if x > 0 else αx
            positive = 1.0 * (x > 0)
            return x * (positive + alpha * (1.0 - positive))

        return leaky_relu if math.isfinite(alpha) else lambda x: np.where(x > 0, x, alpha * x)

    return on_arrays
