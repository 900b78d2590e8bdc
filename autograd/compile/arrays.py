"""Compile, stage 0: numpy, and the ops on arrays.

``_numpy()`` imports numpy on first use (``compiled`` calls it; the engine itself never imports numpy) and
registers the array forms of the primitives with the engine (``engine._ARRAY_FUNCTIONS``), so every rule's
partials evaluate on arrays. ``ARRAY_FORWARDS`` holds the built-in primitives' forwards on arrays: forwards
only, every derivative comes from the rule table.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .. import engine
from ..engine import Op

INSTALL = "pip install 'stepgrad[compile]'"
np: Any = None  # numpy, once _numpy() has imported it


def _numpy() -> Any:
    """numpy, imported on first use; registers the array implementations of the primitives with the engine."""
    global np
    if np is None:
        try:
            import numpy
        except ImportError:
            raise ImportError(
                f"autograd.compiled needs numpy, which is not installed: {INSTALL} (or pip install numpy)"
            ) from None
        np = numpy
        functions = _array_functions(numpy)
        ARRAY_FORWARDS.update(_array_forwards(numpy, functions))
        engine._ARRAY_FUNCTIONS.update({op: _arrays_only(f, op) for op, f in functions.items()})
    return np


def _arrays_only(f: Callable[..., Any], op: Any) -> Callable[..., Any]:
    """``f`` for the engine's dispatching functions: arrays only; anything else (a string, a list) gets
    the engine's own error naming the function."""
    if op == "where":
        return f
    name = {"ReLU": "relu()", "max": "maximum()"}.get(op, f"{op}()")

    def on_arrays(*xs: Any) -> Any:
        for x in xs:
            if not isinstance(x, (np.ndarray, numbers.Real)):
                engine._real(x, name)  # raises: names the function and what it got
        return f(*xs)

    return on_arrays


def _array_functions(np: Any) -> dict[Any, Callable[..., Any]]:
    """The primitives behind ``autograd.exp``, ``log``, … on arrays, and ``where``: the registry the
    engine's dispatching functions (and so every rule's partials) use for numpy arrays. Each gives
    the engine's float for every input, signed zeros and nan included, without a boolean mask
    (selection by mask is slow in numpy)."""

    def sigmoid(x: Any) -> Any:  # engine._sigmoid: 1/(1 + e^-x) for x ≥ 0, e^x/(1 + e^x) below 0
        e = np.exp(-np.abs(x))
        positive = 1.0 * (x >= 0)
        return (positive + (1.0 - positive) * e) / (1.0 + e)

    def relu(x: Any) -> Any:  # 0.0 if x < 0 else x: relu(-0.0) = -0.0, relu(nan) = nan
        return np.maximum(0.0, x)

    def softplus(x: Any) -> Any:  # engine._softplus: max(x, 0) + ln(1 + e^-|x|)
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))

    def maximum(*xs: Any) -> Any:  # engine._max: the first largest input, nan if any is (argmax: the first)
        if len(xs) == 1:
            return xs[0]
        stack = np.stack(np.broadcast_arrays(*xs))
        return np.take_along_axis(stack, np.argmax(stack, axis=0)[None], axis=0)[0]

    return {
        engine.EXP: np.exp,
        engine.LOG: np.log,
        engine.SQRT: np.sqrt,
        engine.TANH: np.tanh,
        engine.SIGMOID: sigmoid,
        engine.RELU: relu,
        engine.SOFTPLUS: softplus,
        engine.SIN: np.sin,
        engine.COS: np.cos,
        engine.ABS: np.abs,
        engine.MAX: maximum,
        "where": np.where,
    }


# Forwards of the built-in primitives on arrays (filled with numpy's functions on first use). These
# are forwards only: every derivative comes from the rule table.
ARRAY_FORWARDS: dict[Any, Callable[..., Any]] = {}


def _array_forwards(np: Any, functions: dict[Any, Callable[..., Any]]) -> dict[Any, Callable[..., Any]]:
    forwards = {op: f for op, f in functions.items() if isinstance(op, Op)}
    forwards.update({engine.ADD: np.add, engine.MUL: np.multiply, engine.DIV: np.divide, engine.POW: np.power})
    return forwards


def _max_partials(*xs_out: Any) -> tuple[Any, ...]:
    """The rule of MAX in engine.py (``_max_partials``) written out for a whole kernel: 1/k to each of the k
    inputs equal to the max (nan counts as the max), in a few array operations whatever the arity."""
    stack = np.stack(xs_out[:-1])
    hits = (stack == xs_out[-1]) | (stack != stack)
    return tuple(hits / hits.sum(axis=0))


def _array_forward(op: Op) -> Callable[..., Any] | None:
    """The numpy forward of a built-in op, including the families ``power(k)`` and ``leaky_relu_op(α)``."""
    forward = ARRAY_FORWARDS.get(op)
    if forward is not None:
        return forward
    remake = op._remake
    if isinstance(remake, tuple) and remake[0] is engine.power:
        k = float(remake[1][0])
        if k == 0.5:  # numpy takes x ** 0.5 as sqrt(x): sqrt(-0.0) = -0.0, but (-0.0) ** 0.5 = 0.0 (IEEE 754)
            return lambda x: np.power(x, k) + 0.0
        return lambda x: np.power(x, k)
    if isinstance(remake, tuple) and remake[0] is engine.leaky_relu_op:
        alpha = float(remake[1][0])

        def leaky_relu(x: Any) -> Any:  # x if x > 0 else αx
            positive = 1.0 * (x > 0)
            return x * (positive + alpha * (1.0 - positive))

        return leaky_relu if math.isfinite(alpha) else lambda x: np.where(x > 0, x, alpha * x)
    return None
