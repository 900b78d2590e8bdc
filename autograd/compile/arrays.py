"""Compile, stage 0: numpy, and the ops on arrays.

``_numpy()`` imports numpy on first use (``compiled`` calls it; the engine itself never imports numpy) and
registers the array forms of the primitives with the engine (``engine._ARRAY_FUNCTIONS``), so every rule's
partials evaluate on arrays. ``ARRAY_FORWARDS`` holds the built-in primitives' forwards on arrays: forwards
only, every derivative comes from the rule table.
"""

from __future__ import annotations

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
    name = f"{op.name}()"

    def on_arrays(*xs: Any) -> Any:
        for x in xs:
            if not isinstance(x, (np.ndarray, numbers.Real)):
                engine._real(x, name)  # raises: names the function and what it got
        return f(*xs)

    return on_arrays


def _array_functions(np: Any) -> dict[Any, Callable[..., Any]]:
    """The primitives behind ``autograd.exp``, ``log``, … on arrays (each named op's ``array``, from the rule
    table), and ``where``: the registry the engine's dispatching functions (and so every rule's partials)
    use for numpy arrays."""
    functions: dict[Any, Callable[..., Any]] = {op: op.array(np) for op in engine.PRIMITIVES.values() if op.array}
    functions["where"] = np.where
    return functions


# Forwards of the rule table's ops on arrays (filled from each op's ``array`` on first use). These
# are forwards only: every derivative comes from the rule table.
ARRAY_FORWARDS: dict[Any, Callable[..., Any]] = {}


def _array_forwards(np: Any, functions: dict[Any, Callable[..., Any]]) -> dict[Any, Callable[..., Any]]:
    forwards = {op: f for op, f in functions.items() if isinstance(op, Op)}
    forwards.update({op: op.array(np) for op in engine.TABLE.values() if op.array and op not in forwards})
    return forwards


def _max_partials(*xs_out: Any) -> tuple[Any, ...]:
    """The rule of MAX in engine.py (``_max_partials``) written out for a whole kernel: 1/k to each of the k
    inputs equal to the max (nan counts as the max), in a few array operations whatever the arity."""
    stack = np.stack(xs_out[:-1])
    hits = (stack == xs_out[-1]) | (stack != stack)
    return tuple(hits / hits.sum(axis=0))


def _array_forward(op: Op) -> Callable[..., Any] | None:
    """The numpy forward of an op with an ``array`` field: the table's, the families ``power(k)`` and
    ``leaky_relu_op(α)``, a user's that gives one."""
    forward = ARRAY_FORWARDS.get(op)
    if forward is not None:
        return forward
    return op.array(np) if op.array is not None else None
