"""The helpers the rule table's partials are written with, on floats, ``Value``s and numpy arrays alike.

- ``step``, ``sign`` and ``where(condition, a, b)``: case splits as arithmetic (``where`` evaluates both
  sides, as numpy's), so one rule holds element by element on arrays;
- ``_number``, ``_is_zero``: the number inside a Value (a rule's condition reads numbers, not graphs);
- ``_max``, ``_max_partials``, ``_left_sum``: the n-ary max and sum, written with ``where`` and ``+``;
- ``_function``: a one-input op as a function of a number, a Value or an array (``autograd.exp``, ...),
  and ``_ARRAY_FUNCTIONS``, the numpy functions the compiled replay registers (numpy is never imported here).

``engine.py`` imports them by these names; nothing here has an accelerated copy, so an edit here runs.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .compat import Compat
from .limits import _Limit, _real

if TYPE_CHECKING:
    from .op import Op


# ---- the case splits the partials use: step, sign, where (each on floats, Values and numpy arrays)


def step(x: Any) -> Any:
    """1 where x > 0, else 0 (relu's derivative; a constant, so its own derivative is 0)."""
    return 1.0 * (_number(x) > 0)


def sign(x: Any) -> Any:
    """1 where x > 0, -1 where x < 0, 0 at 0 (the derivative of |x|)."""
    x = _number(x)
    return 1.0 * (x > 0) - 1.0 * (x < 0)


def where(condition: Any, a: Any, b: Any) -> Any:
    """a where the condition holds, else b (numpy's ``where``: both sides are evaluated)."""
    if isinstance(condition, (bool, int)):
        return a if condition else b
    return _ARRAY_FUNCTIONS["where"](condition, a, b)


# ---- the ops as functions of a number, a Value or an array: exp(x), log(x), ...

# Implementations of the primitives on numpy arrays, registered by the compiled replay (the
# engine itself never imports numpy): {EXP: numpy.exp, ..., "where": numpy.where}.
_ARRAY_FUNCTIONS: dict[Any, Callable[..., Any]] = {}


def _function(op: Op, name: str) -> Callable[..., Any]:
    """The op as a function of numbers (a float back), Values (a node back) or numpy arrays (element by element)."""
    if op.arity != 1:
        return _function_of_several(op, name)

    def function(x: Any) -> Any:
        if isinstance(x, Compat):  # a Value (Compat is a base of every Value)
            return op(x)  # type: ignore[arg-type]
        if isinstance(x, _Limit):  # inside a rule re-evaluated in limit arithmetic: stay in it
            return _Limit(op.forward(float(x)))
        if isinstance(x, numbers.Real):
            return op.forward(_real(x, f"{name}()"))
        return _on_arrays(op, name, x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}(x) for a number x (a float), a Value x (a graph node) or a numpy array."
    return function


def _function_of_several(op: Op, name: str) -> Callable[..., Any]:
    """An op of one or more inputs (``maximum``) as a function: one node if any input is a Value."""

    def function(*xs: Any) -> Any:
        if not xs:
            raise TypeError(f"{name}() needs at least one input")
        if any(isinstance(x, Compat) for x in xs):
            return op(*xs)
        if all(isinstance(x, numbers.Real) for x in xs):
            return op.forward(*[_real(x, f"{name}()") for x in xs])
        return _on_arrays(op, name, *xs)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}(x₀, x₁, …) of numbers (a float), Values (one graph node) or numpy arrays."
    return function


def _on_arrays(op: Op, name: str, *xs: Any) -> Any:
    """The op's numpy forward on ``xs`` (registered by the compiled replay), or the error naming the function
    and what it got (a string, a list, or an array before numpy was registered)."""
    array_function = _ARRAY_FUNCTIONS.get(op)
    if array_function is None:
        for x in xs:
            _real(x, f"{name}()")  # raises: names the function and the type
    return array_function(*xs)  # type: ignore[misc]


# ---- what the rules read: the number inside a Value, and the n-ary max and sum


def _number(x: Any) -> Any:
    """The number(s) inside x: a Value's data, or x itself (a float or an array)."""
    return x._data if isinstance(x, Compat) else x  # Compat: a base of every Value


def _is_zero(x: Any) -> Any:
    return _number(x) == 0


def _left_sum(xs: Sequence[float]) -> float:
    total = 0.0
    for x in xs:
        total = total + x
    return total


def _max(xs: Sequence[Any]) -> Any:
    """The largest of x₀, x₁, … (nan if any is nan; the first of equal ones, so max(-0.0, 0.0) = -0.0).

    Written with ``where``, so the same loop gives the float on floats and, element by element, the
    same numbers on numpy arrays (the compiled replay's forward)."""
    if not xs:
        raise TypeError("max() needs at least one input")
    m = xs[0]
    for x in xs[1:]:
        m = where((x > m) | (x != x), x, m)
    return m


def _max_partials(xs_out: Sequence[Any]) -> tuple[Any, ...]:
    """∂max/∂xᵢ = 1/k where xᵢ is one of the k inputs equal to the max (nan counts as the max), else 0.

    Between the kinks this is the derivative (1 for the largest input); at a tie it splits the one unit
    evenly, as PyTorch's ``amax`` and ``maximum`` do, so the partials always sum to 1 (max(x, x) = x has
    derivative 1) and ``max(z)`` shifts every input alike. A constant: max's second derivative is 0."""
    out = _number(xs_out[-1])
    hits = [1.0 * ((x == out) | (x != x)) for x in map(_number, xs_out[:-1])]
    total = _left_sum(hits)
    return tuple(h / total for h in hits)
