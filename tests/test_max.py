"""The ``max`` primitive (``autograd.maximum``) against sympy, finite differences and PyTorch float64.

max is piecewise linear: ∂max/∂xᵢ = 1 for the largest input, 0 for the others; at a k-way tie each tied
input gets 1/k (PyTorch's choice for ``amax`` and ``maximum``), so the partials always sum to 1. Its
second derivative is 0, so every second derivative of a function through max comes from the smooth
parts around it. Run on both engines (tests/test_both_engines.py).
"""

from __future__ import annotations

import copy
import math
import pickle
import random

import pytest
from oracles import gradient_by_differences, sympy_derivative, sympy_module, sympy_symbols, sympy_value

import autograd
from autograd import Value, grad, hessian, maximum
from autograd.engine import MAX


def _f_values(x: Value, y: Value, z: Value) -> Value:
    """A smooth function of three maxima: each branch is smooth, so sympy's Max differentiates it."""
    return maximum(x * y, y.sin(), z * z) * x + maximum(x, z).exp() * y


def _f_sympy(sp, x, y, z):
    return sp.Max(x * y, sp.sin(y), z * z) * x + sp.exp(sp.Max(x, z)) * y


def _f_floats(x: float, y: float, z: float) -> float:
    return max(x * y, math.sin(y), z * z) * x + math.exp(max(x, z)) * y


def _away_from_ties(point: list[float]) -> bool:
    x, y, z = point
    branches = sorted([x * y, math.sin(y), z * z])
    return branches[-1] - branches[-2] > 0.05 and abs(x - z) > 0.05


def _points() -> list[list[float]]:
    rng = random.Random(0)
    points = ([rng.uniform(-2, 2) for _ in range(3)] for _ in range(60))
    return [p for p in points if _away_from_ties(p)]


POINTS = _points()


def test_there_are_enough_points_away_from_ties():
    assert len(POINTS) >= 20


@pytest.mark.parametrize("point", POINTS[:20])
def test_value_and_gradient_match_sympy_and_finite_differences(point):
    sp = sympy_module()
    symbols = sympy_symbols(3)
    expr = _f_sympy(sp, *symbols)
    leaves = [Value(v) for v in point]
    out = _f_values(*leaves)
    out.backward()
    assert out.data == pytest.approx(sympy_value(expr, symbols, point), rel=1e-13)
    for i, leaf in enumerate(leaves):
        assert leaf.grad == pytest.approx(sympy_derivative(expr, [symbols[i]], symbols, point), rel=1e-12, abs=1e-13)
    differences = gradient_by_differences(_f_floats, point)
    assert [leaf.grad for leaf in leaves] == pytest.approx(differences, rel=1e-7, abs=1e-8)


@pytest.mark.parametrize("point", POINTS[:12])
def test_second_derivatives_through_create_graph_match_sympy(point):
    """Every second partial, by differentiating create_graph gradients again, and by ``hessian``."""
    sp = sympy_module()
    symbols = sympy_symbols(3)
    expr = _f_sympy(sp, *symbols)
    leaves = [Value(v) for v in point]
    first = grad(_f_values(*leaves), leaves, create_graph=True)
    h = hessian(_f_values(*leaves), leaves)
    for i in range(3):
        assert isinstance(first[i], Value)
        second = grad(first[i], leaves)
        for j in range(3):
            expected = sympy_derivative(expr, [symbols[i], symbols[j]], symbols, point)
            assert second[j].data == pytest.approx(expected, rel=1e-11, abs=1e-12)
            assert h[i][j] == pytest.approx(expected, rel=1e-11, abs=1e-12)


def test_third_order_of_max_alone_is_zero_and_first_order_picks_the_largest():
    x, y = Value(1.5), Value(-0.5)
    (dx, dy) = grad(maximum(x, y) ** 3, [x, y], create_graph=True)  # 3·max², to x only
    assert (dx.data, dy.data) == (3 * 1.5**2, 0.0)
    (dxx,) = grad(dx, [x], create_graph=True)  # 6·max
    assert dxx.data == 6 * 1.5
    (dxxx,) = grad(dxx, [x])
    assert dxxx.data == 6.0


def test_ties_split_the_unit_evenly_as_pytorch_does():
    torch = pytest.importorskip("torch")
    for values in ([2.0, 2.0], [1.0, 3.0, 3.0], [-1.0, -1.0, -1.0], [0.0, -0.0], [5.0, 1.0, 5.0, 5.0]):
        leaves = [Value(v) for v in values]
        out = maximum(*leaves)
        out.backward()
        t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        torch.amax(t).backward()
        assert out.data == torch.amax(t).item()
        assert [leaf.grad for leaf in leaves] == t.grad.tolist()
    x = Value(3.0)
    out = maximum(x, x, 1.0)  # the same input twice: its partials add up to 1
    out.backward()
    assert x.grad == 1.0


def test_nan_and_infinities_and_signed_zeros():
    assert math.isnan(maximum(math.nan, 1.0)) and math.isnan(maximum(1.0, math.nan))
    assert maximum(-math.inf, 2.0) == 2.0 and maximum(3.0, math.inf) == math.inf
    assert math.copysign(1.0, maximum(-0.0, 0.0)) == -1.0  # the first of equal inputs
    assert math.copysign(1.0, maximum(0.0, -0.0)) == 1.0
    a, b = Value(math.nan), Value(1.0)
    out = maximum(a, b)
    out.backward()
    assert math.isnan(out.data) and (a.grad, b.grad) == (1.0, 0.0)  # the nan is "the largest": it flows on


def test_maximum_on_numbers_values_and_errors():
    assert maximum(1, 3.5, 2) == 3.5 and type(maximum(1, 2)) is float
    assert maximum(Value(1.0), 4).data == 4.0  # a number becomes a constant
    assert maximum(Value(7.0)).data == 7.0
    with pytest.raises(TypeError, match=r"maximum\(\) needs at least one input"):
        maximum()
    with pytest.raises(TypeError, match=r"maximum\(\) needs a real number or a Value, got str 'a'"):
        maximum(1.0, "a")
    with pytest.raises(TypeError, match="max needs a real number or a Value, got str 'a'"):
        maximum(Value(1.0), "a")
    with pytest.raises(TypeError, match=r"max\(\) needs at least one input"):
        MAX()
    assert autograd.maximum is maximum and "maximum" in autograd.__all__


def test_the_op_pickles_and_copies_as_itself():
    x = Value(2.0)
    out = maximum(x, 1.0)
    assert pickle.loads(pickle.dumps(MAX)) is MAX
    assert copy.deepcopy(out)._op is MAX


def _replay_points(rng: random.Random, n: int) -> list[list[float]]:
    special = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, 5e-324, 1e300, -1e300]
    points = [[rng.choice(special) for _ in range(n)] for _ in range(40)]
    points += [[rng.choice([1.0, 2.0]) for _ in range(n)] for _ in range(20)]  # ties
    points += [[rng.uniform(-1e3, 1e3) for _ in range(n)] for _ in range(40)]
    return points


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_compiled_replay_equals_eager_bit_for_bit(n):
    """The array forward and the partials on arrays give eager's floats, at ties, nan, ±inf and signed zeros."""
    pytest.importorskip("numpy")
    from autograd import compiled

    def f(*xs):
        return maximum(*xs) * xs[0] + maximum(*xs[::-1])  # n-ary, with the inputs in both orders

    replay = compiled(f)
    rng = random.Random(n)
    traced = [Value(v) for v in [0.5 + i for i in range(n)]]
    replay(*traced)  # the trace: later calls replay it
    for point in _replay_points(rng, n):
        eager_leaves = [Value(v) for v in point]
        eager = f(*eager_leaves)
        eager.backward()
        leaves = [Value(v) for v in point]
        out = replay(*leaves)
        assert _same(out.data, eager.data), (point, out.data, eager.data)
        for leaf, eager_leaf in zip(leaves, eager_leaves):
            assert _same(leaf.grad, eager_leaf.grad), (point, leaf.grad, eager_leaf.grad)
    assert replay.traces == 1


def test_a_kernel_of_many_max_nodes_equals_eager():
    """Many max nodes of one arity replay as one array kernel: each node's own max and partials."""
    pytest.importorskip("numpy")
    from autograd import compiled

    def f(xs):
        return autograd.sum_values([maximum(xs[i], xs[i + 1], xs[i + 2]) for i in range(len(xs) - 2)])

    replay = compiled(f)
    rng = random.Random(0)
    replay([Value(float(i)) for i in range(12)])
    for _ in range(10):
        point = [rng.choice([-1.0, 0.0, 1.0, rng.uniform(-3, 3)]) for _ in range(12)]
        eager_leaves = [Value(v) for v in point]
        eager = f(eager_leaves)
        eager.backward()
        leaves = [Value(v) for v in point]
        out = replay(leaves)
        assert out.data == eager.data
        assert [v.grad for v in leaves] == [v.grad for v in eager_leaves]


def test_maximum_on_arrays_is_the_float_rule_element_by_element():
    np = pytest.importorskip("numpy")
    from autograd.compile import _numpy

    _numpy()
    a = np.array([1.0, -0.0, math.nan, 2.0, 0.0])
    b = np.array([3.0, 0.0, 1.0, math.nan, -0.0])
    got = maximum(a, b)
    expected = [maximum(x, y) for x, y in zip(a.tolist(), b.tolist())]
    assert all(_same(g, e) for g, e in zip(got.tolist(), expected))
    with pytest.raises(TypeError, match=r"maximum\(\) needs a real number or a Value, got str"):
        maximum(a, "b")


def test_the_expression_language_calls_max():
    from autograd.expr import FUNCTIONS, evaluate

    assert "max" in FUNCTIONS
    out, leaves = evaluate("max(x, y, 2) * x", {"x": 3.0, "y": -1.0})
    out.backward()
    assert out.data == 9.0 and leaves["x"].grad == 6.0 and leaves["y"].grad == 0.0


def test_the_kernel_form_of_the_rule_is_the_rule():
    """autograd/compile/arrays.py writes MAX's partials out for a whole kernel (a few array operations whatever
    the arity): the same numbers as the rule in engine.py evaluated on the same arrays."""
    np = pytest.importorskip("numpy")
    from autograd import compile as compile_module
    from autograd.engine import _max_partials

    compile_module._numpy()
    rng = random.Random(3)
    special = [0.0, -0.0, 1.0, 2.0, math.inf, -math.inf, math.nan]
    for arity in (1, 2, 3, 7):
        xs = [np.array([rng.choice(special) for _ in range(50)]) for _ in range(arity)]
        out = compile_module.ARRAY_FORWARDS[MAX](*xs)
        rule_out = MAX.forward(*xs)
        assert all(_same(a, b) for a, b in zip(out.tolist(), rule_out.tolist()))
        block = compile_module._max_partials(*xs, out)
        rule = _max_partials([*xs, out])
        for b, r in zip(block, rule):
            assert np.array_equal(b, r)
