"""Derivatives as functions: ``grad``, ``hessian``, ``jacobian`` and ``gradcheck``.

These never touch any ``.grad`` attribute: they return what they compute. Higher
orders come from ``create_graph=True``, which records the backward pass as a graph
of its own, so a gradient can be differentiated again (reverse-over-reverse).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from .engine import Value, _accumulate, _real
from .graph import topological_order


def _check_inputs(inputs: Sequence[Value], where: str, name: str = "inputs") -> list[Value]:
    if isinstance(inputs, Value):
        inputs = [inputs]
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"{where}: {name}[{i}] must be a Value, got {type(x).__name__}")
    return inputs


def grad(output: Value, inputs: Sequence[Value], create_graph: bool = False) -> list[Value]:
    """∂output/∂x for each x in ``inputs``, one ``Value`` per input; no ``.grad`` is touched.

    An input the output does not depend on gets a gradient of 0. With
    ``create_graph=True`` the results are graph nodes that can be differentiated again.

    >>> x = Value(3.0); y = x ** 3
    >>> (dy,) = grad(y, [x], create_graph=True)     # 3x² = 27
    >>> (d2y,) = grad(dy, [x])                      # 6x = 18
    >>> dy.data, d2y.data
    (27.0, 18.0)
    """
    if not isinstance(output, Value):
        raise TypeError(f"grad: output must be a Value, got {type(output).__name__}")
    inputs = _check_inputs(inputs, "grad")
    order = topological_order(output)
    seed = Value(1.0) if create_graph else 1.0
    grads = _accumulate(order, seed, create_graph=create_graph)
    result = []
    for x in inputs:
        g = grads.get(x, 0.0)
        result.append(g if isinstance(g, Value) else Value(g))
    return result


def hessian(output: Value, inputs: Sequence[Value]) -> list[list[float]]:
    """The matrix H[i][j] = ∂²output/∂xᵢ∂xⱼ as floats (reverse-over-reverse).

    A Hessian is symmetric wherever it is defined. Where the two orders of differentiation
    disagree (∂/∂xⱼ of ∂f/∂xᵢ against ∂/∂xᵢ of ∂f/∂xⱼ, beyond rounding: at a point where f is not
    twice differentiable, such as ``x ** y`` at (0, 0.5) or (0, 1)), the mixed partial is undefined
    there and both places are ``nan``, as PyTorch gives at (0, 0.5).

    >>> x, y = Value(1.0), Value(2.0)
    >>> hessian(x * x * y, [x, y])                  # [[2y, 2x], [2x, 0]]
    [[4.0, 2.0], [2.0, 0.0]]
    """
    inputs = _check_inputs(inputs, "hessian")
    first = grad(output, inputs, create_graph=True)
    h = [[g.data for g in grad(gi, inputs)] for gi in first]
    for i in range(len(h)):
        for j in range(i):
            if not _agree(h[i][j], h[j][i]):
                h[i][j] = h[j][i] = math.nan
    return h


def _agree(a: float, b: float) -> bool:
    """Whether two computations of one mixed partial are the same number, to rounding (nan never agrees)."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def jacobian(outputs: Sequence[Value], inputs: Sequence[Value]) -> list[list[float]]:
    """The matrix J[i][j] = ∂outputs[i]/∂inputs[j] as floats (reverse mode: one ``grad`` pass per output).

    >>> x, y = Value(2.0), Value(3.0)
    >>> jacobian([x * y, x + y], [x, y])            # [[y, x], [1, 1]]
    [[3.0, 2.0], [1.0, 1.0]]
    """
    outputs = _check_inputs(outputs, "jacobian", "outputs")
    inputs = _check_inputs(inputs, "jacobian")
    return [[g.data for g in grad(out, inputs)] for out in outputs]


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic and a numerical derivative disagree."""


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """Check reverse-mode gradients of ``fn`` against central finite differences.

    ∂f/∂xᵢ ≈ (f(x + εeᵢ) − f(x − εeᵢ)) / 2ε. ``fn`` takes one ``Value`` per input and
    returns a ``Value``. Returns True, or raises ``GradcheckError`` naming the input
    and both numbers.

    >>> gradcheck(lambda a, b: (a * b).tanh(), [0.5, -1.5])
    True
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    point = [_real(x.data if isinstance(x, Value) else x, f"gradcheck: inputs[{i}]") for i, x in enumerate(inputs)]
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        if not (isinstance(v, (int, float)) and v >= 0 and math.isfinite(v)) or (name == "eps" and v == 0):
            raise ValueError(f"gradcheck: {name} must be a finite number > 0, got {v!r}")

    def evaluate(xs: list[float]) -> float:
        out = fn(*[Value(x) for x in xs])
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
        return out.data

    leaves = [Value(x) for x in point]
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    analytic = [g.data for g in grad(out, leaves)]
    for i, x in enumerate(point):
        up = point.copy()
        down = point.copy()
        up[i] = x + eps
        down[i] = x - eps
        numeric = (evaluate(up) - evaluate(down)) / (2 * eps)
        if not math.isclose(analytic[i], numeric, rel_tol=rtol, abs_tol=atol):
            raise GradcheckError(
                f"gradcheck: ∂f/∂inputs[{i}] at {point}: backward gives {analytic[i]!r}, "
                f"central differences give {numeric!r} (eps={eps}, atol={atol}, rtol={rtol})"
            )
    return True
