"""Independent oracles for the engine's tests: finite differences, sympy, PyTorch float64.

Nothing here uses ``autograd``: every number these helpers return comes from plain float
arithmetic, from sympy's exact symbolic derivatives, or from PyTorch, so a test that compares
the engine against them compares against something the engine did not produce.
"""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

# --------------------------------------------------------------------------- finite differences


def central_difference(f: Callable[[float], float], x: float, h: float | None = None) -> float:
    """f'(x) by the five-point central stencil: (−f(x+2h) + 8f(x+h) − 8f(x−h) + f(x−2h)) / 12h, error O(h⁴)."""
    if h is None:
        h = 1e-3 * max(1.0, abs(x))
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


def simple_central_difference(f: Callable[[float], float], x: float, h: float = 1e-6) -> float:
    """f'(x) ≈ (f(x+h) − f(x−h)) / 2h, the textbook form (error O(h²))."""
    return (f(x + h) - f(x - h)) / (2 * h)


def partial_difference(f: Callable[..., float], point: Sequence[float], i: int, h: float | None = None) -> float:
    """∂f/∂xᵢ at ``point`` by the five-point central stencil along coordinate ``i``."""
    point = list(point)

    def along(t: float) -> float:
        moved = point.copy()
        moved[i] = t
        return f(*moved)

    return central_difference(along, point[i], h)


def gradient_by_differences(f: Callable[..., float], point: Sequence[float]) -> list[float]:
    """The gradient of a float function at ``point``, one central difference per coordinate."""
    return [partial_difference(f, point, i) for i in range(len(point))]


# --------------------------------------------------------------------------- sympy


def softmax_floats(zs: Sequence[float]) -> list[float]:
    """softmax(z) in plain floats with ``math.exp``: the oracle for a graph's softmax and its closed forms."""
    top = max(zs)
    exps = [math.exp(z - top) for z in zs]
    total = math.fsum(exps)
    return [e / total for e in exps]


def sympy_module() -> Any:
    import sympy

    return sympy


def sympy_symbols(n: int) -> list[Any]:
    """``n`` real sympy symbols x0, x1, ..."""
    sp = sympy_module()
    return list(sp.symbols(f"x0:{n}", real=True))


def sympy_ops() -> dict[str, Callable[..., Any]]:
    """The engine's unary functions written in sympy, each as the textbook formula."""
    sp = sympy_module()
    return {
        "neg": lambda x: -x,
        "abs": lambda x: sp.Abs(x),
        "exp": sp.exp,
        "log": sp.log,
        "tanh": sp.tanh,
        "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
        "relu": lambda x: sp.Piecewise((x, x > 0), (0, True)),
        "leaky_relu": lambda x: sp.Piecewise((x, x > 0), (sp.Rational(1, 100) * x, True)),
        "softplus": lambda x: sp.log(1 + sp.exp(x)),
        "sin": sp.sin,
        "cos": sp.cos,
        "sqrt": sp.sqrt,
    }


def sympy_value(expr: Any, symbols: Sequence[Any], point: Sequence[float]) -> float:
    """``expr`` evaluated at ``symbols = point`` with 30 significant digits, as a float."""
    sp = sympy_module()
    subs = {s: sp.Float(repr(float(v)), 40) for s, v in zip(symbols, point)}
    return float(sp.N(expr.subs(subs), 30))


def sympy_derivative(expr: Any, wrt: Sequence[Any], symbols: Sequence[Any], point: Sequence[float]) -> float:
    """The exact mixed partial ∂ⁿexpr/∂wrt[0]…∂wrt[n−1] evaluated at ``point`` (any order)."""
    derivative = expr
    for s in wrt:
        derivative = derivative.diff(s)
    return sympy_value(derivative, symbols, point)


def sympy_unary_derivative(name: str, x: float, order: int) -> float:
    """dⁿ/dxⁿ of the named function at ``x`` (order 0 is the value), from sympy's exact derivative."""
    (s,) = sympy_symbols(1)
    expr = sympy_ops()[name](s)
    return sympy_derivative(expr, [s] * order, [s], [x])


# --------------------------------------------------------------------------- PyTorch (float64)


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    """True when a and b agree to ``rel`` relative or ``abs_`` absolute tolerance (inf equals inf)."""
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def torch_module() -> Any:
    """PyTorch, imported only when a test asks for it (callers use ``pytest.importorskip`` first)."""
    import torch

    return torch


def torch_value_and_grad(fn: Callable[..., Any], point: Sequence[float]) -> tuple[float, list[float]]:
    """f(point) and ∇f(point) computed by PyTorch in float64; ``fn`` takes one 0-d tensor per input."""
    torch = torch_module()
    xs = [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in point]
    out = fn(*xs)
    out.backward()
    return out.item(), [x.grad.item() if x.grad is not None else 0.0 for x in xs]


def torch_hessian(fn: Callable[..., Any], point: Sequence[float]) -> list[list[float]]:
    """The Hessian of ``fn`` at ``point`` computed by PyTorch in float64."""
    torch = torch_module()

    def flat(v: Any) -> Any:
        return fn(*v.unbind())

    h = torch.autograd.functional.hessian(flat, torch.tensor([float(v) for v in point], dtype=torch.float64))
    return h.tolist()


# --------------------------------------------------------------------------- random expression programs
#
# A program is a list of instructions (op, i, j): node k = OPS[op](node i, node j), where the
# first nodes are the leaves. Every formula is written once, over a namespace ``F`` of
# functions, so the same program runs on floats, on sympy symbols, on PyTorch tensors and on
# the engine's Values. Each formula stays in its domain by construction (log and sqrt of
# a² + c, division by b² + c, a Value exponent on a positive base); only overflow and kinks
# are left for ``program_is_tame`` to rule out.

PROGRAM_OPS: dict[str, Callable[..., Any]] = {
    "add": lambda F, a, b: a + b,
    "sub": lambda F, a, b: a - b,
    "mul": lambda F, a, b: a * b,
    "div": lambda F, a, b: a / (b * b + 0.5),
    "radd": lambda F, a, b: 2 + a,
    "rsub": lambda F, a, b: 1 - a,
    "rmul": lambda F, a, b: 0.5 * a,
    "rdiv": lambda F, a, b: 3 / (a * a + 1),
    "square": lambda F, a, b: a**2,
    "cube": lambda F, a, b: a**3,
    "powv": lambda F, a, b: (a * a + 0.5) ** b,
    "rpow": lambda F, a, b: 2**a,
    "neg": lambda F, a, b: -a,
    "exp": lambda F, a, b: F.exp(a),
    "log": lambda F, a, b: F.log(a * a + 0.5),
    "sqrt": lambda F, a, b: F.sqrt(a * a + 0.25),
    "tanh": lambda F, a, b: F.tanh(a),
    "sigmoid": lambda F, a, b: F.sigmoid(a),
    "softplus": lambda F, a, b: F.softplus(a),
    "sin": lambda F, a, b: F.sin(a),
    "cos": lambda F, a, b: F.cos(a),
    "relu": lambda F, a, b: F.relu(a),
    "abs": lambda F, a, b: F.abs(a),
    "leaky_relu": lambda F, a, b: F.leaky_relu(a),
}
KINK_OPS = ("relu", "abs", "leaky_relu")


def run_program(program: Sequence[tuple[str, int, int]], leaves: Sequence[Any], F: Any) -> Any:
    """Evaluate ``program`` on ``leaves`` with the functions of ``F``; the last node is the output."""
    nodes = list(leaves)
    for op, i, j in program:
        nodes.append(PROGRAM_OPS[op](F, nodes[i % len(nodes)], nodes[j % len(nodes)]))
    return nodes[-1]


class FloatFunctions:
    """Textbook float versions of the engine's functions (no stabilising tricks needed in range)."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    sqrt = staticmethod(math.sqrt)
    tanh = staticmethod(math.tanh)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    abs = staticmethod(abs)

    @staticmethod
    def sigmoid(x: float) -> float:
        return 1 / (1 + math.exp(-x))

    @staticmethod
    def softplus(x: float) -> float:
        return math.log(1 + math.exp(x))

    @staticmethod
    def relu(x: float) -> float:
        return x if x > 0 else 0.0

    @staticmethod
    def leaky_relu(x: float) -> float:
        return x if x > 0 else 0.01 * x


class _WatchingFloats(FloatFunctions):
    """FloatFunctions that remember every intermediate and every input to a kink."""

    def __init__(self) -> None:
        self.kink_inputs: list[float] = []
        self.exp_inputs: list[float] = []

    def exp(self, x: float) -> float:  # type: ignore[override]
        self.exp_inputs.append(x)
        return math.exp(x)

    def relu(self, x: float) -> float:  # type: ignore[override]
        self.kink_inputs.append(x)
        return FloatFunctions.relu(x)

    def abs(self, x: float) -> float:  # type: ignore[override]
        self.kink_inputs.append(x)
        return abs(x)

    def leaky_relu(self, x: float) -> float:  # type: ignore[override]
        self.kink_inputs.append(x)
        return FloatFunctions.leaky_relu(x)

    def softplus(self, x: float) -> float:  # type: ignore[override]
        self.exp_inputs.append(x)
        return FloatFunctions.softplus(x)

    def sigmoid(self, x: float) -> float:  # type: ignore[override]
        self.exp_inputs.append(-x)
        return FloatFunctions.sigmoid(x)


def program_is_tame(program: Sequence[tuple[str, int, int]], point: Sequence[float], kink_margin: float = 0.05) -> bool:
    """True when the program evaluates without overflow, every intermediate stays below 1e3
    in size, and no kink (relu, abs, leaky_relu) sees an input within ``kink_margin`` of 0 —
    so finite differences and the smooth symbolic derivative are both valid there."""
    F = _WatchingFloats()
    nodes = list(point)
    try:
        for op, i, j in program:
            nodes.append(PROGRAM_OPS[op](F, nodes[i % len(nodes)], nodes[j % len(nodes)]))
    except (OverflowError, ValueError, ZeroDivisionError):
        return False
    if any(isinstance(v, complex) or not math.isfinite(v) or abs(v) > 1e3 for v in nodes):
        return False
    if any(x > 30 for x in F.exp_inputs):
        return False
    return all(abs(x) >= kink_margin for x in F.kink_inputs)


def float_program(program: Sequence[tuple[str, int, int]]) -> Callable[..., float]:
    """The program as a plain float function of its leaves."""
    return lambda *xs: run_program(program, xs, FloatFunctions)


class SympyFunctions:
    """The engine's functions as sympy expressions (exact, for symbolic differentiation)."""

    def __init__(self) -> None:
        ops = sympy_ops()
        self.exp = ops["exp"]
        self.log = ops["log"]
        self.sqrt = ops["sqrt"]
        self.tanh = ops["tanh"]
        self.sin = ops["sin"]
        self.cos = ops["cos"]
        self.abs = ops["abs"]
        self.sigmoid = ops["sigmoid"]
        self.softplus = ops["softplus"]
        self.relu = ops["relu"]
        self.leaky_relu = ops["leaky_relu"]


def sympy_program(program: Sequence[tuple[str, int, int]], n_leaves: int) -> tuple[Any, list[Any]]:
    """The program as a sympy expression in fresh symbols x0, x1, ...; returns (expr, symbols)."""
    symbols = sympy_symbols(n_leaves)
    return run_program(program, symbols, SympyFunctions()), symbols


class TorchFunctions:
    """The engine's functions as PyTorch float64 operations."""

    def __init__(self) -> None:
        torch = torch_module()
        self.exp = torch.exp
        self.log = torch.log
        self.sqrt = torch.sqrt
        self.tanh = torch.tanh
        self.sin = torch.sin
        self.cos = torch.cos
        self.abs = torch.abs
        self.sigmoid = torch.sigmoid
        self.softplus = torch.nn.functional.softplus
        self.relu = torch.relu
        self.leaky_relu = lambda x: torch.nn.functional.leaky_relu(x, 0.01)


def engine_functions() -> Any:
    """The engine's own functions under the names ``PROGRAM_OPS`` uses (the system under test, not an oracle)."""
    import autograd

    class EngineFunctions:
        exp = staticmethod(autograd.exp)
        log = staticmethod(autograd.log)
        sqrt = staticmethod(autograd.sqrt)
        tanh = staticmethod(autograd.tanh)
        sin = staticmethod(autograd.sin)
        cos = staticmethod(autograd.cos)
        sigmoid = staticmethod(autograd.sigmoid)
        softplus = staticmethod(autograd.softplus)
        relu = staticmethod(autograd.relu)
        abs = staticmethod(abs)

        @staticmethod
        def leaky_relu(x: Any) -> Any:
            return x.leaky_relu()

    return EngineFunctions()


def program_strategy(max_leaves: int = 3, max_ops: int = 7) -> Any:
    """A hypothesis strategy for (leaf values, program): random DAGs whose ops read any earlier node."""
    from hypothesis import strategies as st

    instruction = st.tuples(st.sampled_from(sorted(PROGRAM_OPS)), st.integers(0, 50), st.integers(0, 50))
    leaf_value = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))
    return st.tuples(
        st.lists(leaf_value, min_size=1, max_size=max_leaves),
        st.lists(instruction, min_size=1, max_size=max_ops),
    )


# --------------------------------------------------------------------------- micrograd's demo loop


def micrograd_demo_loop(
    value_class: Any,
    mlp_class: Any,
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    steps: int,
    *,
    schedule_steps: int | None = None,
    collector_off: bool = True,
) -> tuple[list[float], list[float], list[float]]:
    """micrograd's demo notebook, as written there: ``(losses, accuracies, final parameters)``, per step.

    ``random.seed(1337)``, ``MLP(2, [16, 16, 1])``, SVM max-margin loss + 1e-4·Σp², ``zero_grad``,
    ``backward``, SGD with lr = 1.0 − 0.9·k/``schedule_steps`` (default ``steps``). Run with micrograd's
    own ``Value`` and ``MLP`` it is an oracle for the demo's numbers. With ``collector_off`` Python's
    cyclic GC is paused (micrograd's nodes are reference cycles and it spends most of its time there)
    and graphs are collected every 5 steps. Python's ``random`` state is restored afterwards.
    """
    state = random.getstate()
    gc_was_enabled = gc.isenabled()
    if collector_off:
        gc.disable()
    try:
        random.seed(1337)
        model = mlp_class(2, [16, 16, 1])
        losses, accuracies = [], []
        for k in range(steps):
            inputs = [list(map(value_class, xrow)) for xrow in X]
            scores = list(map(model, inputs))
            data_losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
            data_loss = sum(data_losses) * (1.0 / len(data_losses))
            alpha = 1e-4
            reg_loss = alpha * sum(p * p for p in model.parameters())
            total_loss = data_loss + reg_loss
            accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
            model.zero_grad()
            total_loss.backward()
            learning_rate = 1.0 - 0.9 * k / (schedule_steps or steps)
            for p in model.parameters():
                p.data -= learning_rate * p.grad
            losses.append(total_loss.data)
            accuracies.append(sum(accuracy) / len(accuracy))
            del inputs, scores, data_losses, data_loss, reg_loss, total_loss
            if k % 5 == 4:
                gc.collect()
        return losses, accuracies, [p.data for p in model.parameters()]
    finally:
        random.setstate(state)
        if gc_was_enabled:
            gc.enable()
        gc.collect()
