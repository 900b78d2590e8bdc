"""Tests of autograd.functional (grad, hessian, gradcheck) against sympy, PyTorch and finite differences."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from oracles import (
    TorchFunctions,
    engine_functions,
    program_is_tame,
    program_strategy,
    run_program,
    sympy_derivative,
    sympy_module,
    sympy_program,
    sympy_symbols,
    torch_hessian,
)

from autograd import GradcheckError, Op, Value, grad, gradcheck, hessian
from autograd.graph import topological_order

# --------------------------------------------------------------------------- grad


def test_grad_returns_one_value_per_input_and_touches_no_grad():
    sp = sympy_module()
    x, y = Value(0.6), Value(-1.1)
    x.grad = 5.0  # stale gradients must survive untouched
    mid = x * y
    out = mid.tanh() + y.exp()
    gx, gy = grad(out, [x, y])
    sx, sy = sympy_symbols(2)
    exact = sp.tanh(sx * sy) + sp.exp(sy)
    assert gx.data == pytest.approx(sympy_derivative(exact, [sx], [sx, sy], [0.6, -1.1]), rel=1e-13)
    assert gy.data == pytest.approx(sympy_derivative(exact, [sy], [sx, sy], [0.6, -1.1]), rel=1e-13)
    assert isinstance(gx, Value) and isinstance(gy, Value)
    assert x.grad == 5.0 and y.grad == 0.0
    assert all(node.grad == 0.0 for node in topological_order(out) if node is not x)


def test_grad_of_an_input_the_output_does_not_use_is_zero():
    x, unused = Value(2.0), Value(7.0)
    (g_unused,) = grad(x * 3, [unused])
    assert g_unused.data == 0.0
    (g_self,) = grad(x, [x])
    assert g_self.data == 1.0


def test_grad_with_respect_to_an_intermediate_node():
    x = Value(0.7)
    y = x * x
    z = y.sin() * x
    gy, gx = grad(z, [y, x])
    assert gy.data == pytest.approx(math.cos(0.49) * 0.7, rel=1e-14)  # ∂z/∂y holding x fixed
    assert gx.data == pytest.approx(math.cos(0.49) * 2 * 0.49 + math.sin(0.49), rel=1e-14)


def test_grad_accepts_a_single_value_as_inputs():
    x = Value(2.0)
    (g,) = grad(x**3, x)
    assert g.data == 12.0


def test_grad_without_create_graph_gives_leaves_and_with_it_differentiable_nodes():
    x = Value(0.5)
    (plain,) = grad(x.sin() * x, [x])
    assert plain.parents == ()
    (graph,) = grad(x.sin() * x, [x], create_graph=True)
    assert graph.parents != ()
    assert plain.data == graph.data
    (second,) = grad(graph, [x])
    # d²/dx² (x sin x) = 2 cos x − x sin x
    assert second.data == pytest.approx(2 * math.cos(0.5) - 0.5 * math.sin(0.5), rel=1e-14)


def test_mixed_third_derivatives_match_sympy():
    sp = sympy_module()
    sx, sy = sympy_symbols(2)
    point = [0.7, -0.4]
    exact = sp.exp(sx * sy) * sp.sin(sx + 2 * sy) + (sx * sx + 1) ** sy
    x, y = Value(point[0]), Value(point[1])
    out = (x * y).exp() * (x + 2 * y).sin() + (x * x + 1) ** y
    symbols = [sx, sy]
    first = grad(out, [x, y], create_graph=True)
    for i in range(2):
        second = grad(first[i], [x, y], create_graph=True)
        for j in range(2):
            third = grad(second[j], [x, y])
            for k in range(2):
                expected = sympy_derivative(exact, [symbols[i], symbols[j], symbols[k]], symbols, point)
                assert third[k].data == pytest.approx(expected, rel=1e-10, abs=1e-12), (i, j, k)


def test_grad_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"grad: output must be a Value, got float"):
        grad(1.0, [Value(1.0)])
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] must be a Value, got float"):
        grad(Value(1.0) * 2, [Value(1.0), 2.0])


def test_grad_through_a_node_without_a_rule_says_so():
    a = Value(2.0)
    handmade = Value(4.0, (a,), "square?")  # micrograd-style node with no derivative rule
    with pytest.raises(RuntimeError, match=r"no derivative rule"):
        grad(handmade * 1.0, [a])


# --------------------------------------------------------------------------- hessian


def test_hessian_matches_sympy_and_pytorch():
    sp = sympy_module()
    sx, sy, sz = sympy_symbols(3)
    point = [0.3, -0.8, 1.4]
    exact = sp.tanh(sx * sy + sz) * sp.log(sz * sz + 1) + sx**3 * sy - sp.sqrt(sx * sx + sy * sy + 1)

    def build(F, x, y, z):
        return F.tanh(x * y + z) * F.log(z * z + 1) + x**3 * y - F.sqrt(x * x + y * y + 1)

    leaves = [Value(v) for v in point]
    h = hessian(build(engine_functions(), *leaves), leaves)
    symbols = [sx, sy, sz]
    for i in range(3):
        for j in range(3):
            assert h[i][j] == pytest.approx(
                sympy_derivative(exact, [symbols[i], symbols[j]], symbols, point), rel=1e-11
            )
    pytest.importorskip("torch")
    expected = torch_hessian(lambda *ts: build(TorchFunctions(), *ts), point)
    assert h == [pytest.approx(row, rel=1e-11) for row in expected]


def test_hessian_is_a_list_of_lists_of_floats():
    x, y = Value(1.0), Value(2.0)
    h = hessian(x * x * y, [x, y])
    assert type(h) is list and all(type(row) is list for row in h)
    assert all(type(v) is float for row in h for v in row)
    assert h == [[4.0, 2.0], [2.0, 0.0]]  # [[2y, 2x], [2x, 0]] at (1, 2)


def test_hessian_errors_name_the_argument():
    with pytest.raises(TypeError, match=r"hessian: inputs\[0\] must be a Value, got str"):
        hessian(Value(1.0) * 2, ["x"])


# --------------------------------------------------------------------------- properties over random DAGs

PROPERTY_SETTINGS = settings(
    max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much]
)


@PROPERTY_SETTINGS
@given(program_strategy())
def test_grad_equals_backward(case):
    point, program = case
    assume(program_is_tame(program, point))
    F = engine_functions()
    leaves = [Value(x) for x in point]
    out = run_program(program, leaves, F)
    by_grad = [g.data for g in grad(out, leaves)]
    by_graph = [g.data for g in grad(out, leaves, create_graph=True)]
    out.backward()
    by_backward = [leaf.grad for leaf in leaves]
    assert by_grad == pytest.approx(by_backward, rel=1e-14, abs=1e-300)
    assert by_graph == pytest.approx(by_backward, rel=1e-12, abs=1e-14)
    # the third way: backward(create_graph=True) leaves differentiable gradients on fresh leaves
    fresh = [Value(x) for x in point]
    run_program(program, fresh, F).backward(create_graph=True)
    by_backward_graph = [leaf.grad.data if isinstance(leaf.grad, Value) else leaf.grad for leaf in fresh]
    assert by_backward_graph == pytest.approx(by_backward, rel=1e-12, abs=1e-14)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(program_strategy(max_leaves=3, max_ops=5))
def test_hessian_is_symmetric_and_matches_sympy(case):
    point, program = case
    assume(program_is_tame(program, point))
    leaves = [Value(x) for x in point]
    h = hessian(run_program(program, leaves, engine_functions()), leaves)
    n = len(point)
    expr, symbols = sympy_program(program, n)
    for i in range(n):
        for j in range(n):
            assert h[i][j] == pytest.approx(h[j][i], rel=1e-9, abs=1e-10)
            exact = sympy_derivative(expr, [symbols[i], symbols[j]], symbols, point)
            assert h[i][j] == pytest.approx(exact, rel=1e-8, abs=1e-10), (i, j, program, point)


# --------------------------------------------------------------------------- gradcheck

CORRECT_FUNCTIONS = [
    (lambda a, b: (a * b).tanh(), [0.5, -1.5]),
    (lambda a, b, c: (a * a + 1).log() * b.sigmoid() - c.exp() / (b * b + 2), [0.3, 1.2, -0.7]),
    (lambda a: a.softplus() + a.sin() * a.cos() + abs(a) + a.relu(), [0.9]),
    (lambda a, b: (a * a + 0.5) ** b + 2**a - 1 / (b * b + 1), [-0.4, 1.7]),
]


@pytest.mark.parametrize("fn, point", CORRECT_FUNCTIONS)
def test_gradcheck_passes_on_correct_functions(fn, point):
    assert gradcheck(fn, point) is True
    assert gradcheck(fn, [Value(x) for x in point]) is True  # Values are read as their data


WRONG_SQUARE = Op("wrong_square", lambda x: x * x, lambda x, out: (3 * x,))  # true partial is 2x


def test_gradcheck_catches_a_wrong_partial_and_names_the_input_and_both_numbers():
    point = [0.5, 1.25]
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a.sin() + WRONG_SQUARE(b), point)
    message = str(info.value)
    assert "inputs[1]" in message
    assert "inputs[0]" not in message
    numbers = [float(m) for m in re.findall(r"give[s]? (-?[0-9.e+-]+)", message)]
    assert len(numbers) == 2, message
    analytic, numeric = numbers
    assert analytic == 3 * 1.25  # what the wrong rule claims
    assert numeric == pytest.approx(2 * 1.25, rel=1e-6)  # what central differences measure
    assert isinstance(info.value, AssertionError)


def test_gradcheck_names_the_first_input_when_it_is_wrong():
    with pytest.raises(GradcheckError, match=r"inputs\[0\]"):
        gradcheck(lambda a, b: WRONG_SQUARE(a) * b, [2.0, 1.0])


def test_gradcheck_argument_errors():
    fn = CORRECT_FUNCTIONS[0][0]
    with pytest.raises(TypeError, match=r"gradcheck: fn must be callable, got int"):
        gradcheck(3, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"gradcheck: inputs\[1\].*str"):
        gradcheck(fn, [1.0, "2"])
    for name, kwargs in (("eps", {"eps": 0.0}), ("atol", {"atol": -1.0}), ("rtol", {"rtol": math.nan})):
        with pytest.raises(ValueError, match=rf"gradcheck: {name} must be a finite number"):
            gradcheck(fn, [1.0, 2.0], **kwargs)
    with pytest.raises(TypeError, match=r"gradcheck: fn must return a Value, got float"):
        gradcheck(lambda a: 2.0, [1.0])


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(program_strategy(max_leaves=1, max_ops=5))
def test_third_derivative_of_random_one_variable_programs_matches_sympy(case):
    point, program = case
    assume(program_is_tame(program, point))
    leaf = Value(point[0])
    current = run_program(program, [leaf], engine_functions())
    expr, (s,) = sympy_program(program, 1)
    for order in (1, 2, 3):
        (current,) = grad(current, [leaf], create_graph=True)
        exact = sympy_derivative(expr, [s] * order, [s], point)
        assert current.data == pytest.approx(exact, rel=1e-8, abs=1e-10), (order, program, point)


# --------------------------------------------------------------------------- a Hessian at a singular point


@pytest.mark.parametrize("point", [(0.0, 0.5), (-0.0, 0.5), (0.0, 0.25), (0.0, 1.0)])
def test_the_hessian_of_x_to_the_y_at_a_singular_point_is_symmetric(point):
    # ∂²(xʸ)/∂x∂y = x^(y−1)(1 + y ln x) has no value at x = 0 for y ≤ 1 (its two orders disagree there):
    # nan at both off-diagonal places, as PyTorch float64 gives. The diagonal: sympy's one-sided limits x → 0⁺.
    pytest.importorskip("torch")
    sp = sympy_module()
    x, y = Value(point[0]), Value(point[1])
    h = hessian(x**y, [x, y])
    expected = torch_hessian(lambda a, b: a**b, point)
    assert math.isnan(expected[0][1]) and math.isnan(expected[1][0])  # the oracle's verdict
    assert math.isnan(h[0][1]) and math.isnan(h[1][0]), h
    s, t = sp.symbols("s t", positive=True)
    for k, a in enumerate((s, t)):
        limit = sp.limit((s**t).diff(a, 2).subs(t, sp.nsimplify(point[1])), s, 0, "+")
        assert h[k][k] == float(limit), (k, h, limit)


@pytest.mark.parametrize("point", [(2.0, 0.5), (0.5, 3.0), (1.5, -2.0), (1.0, 0.0), (0.0, 2.0), (0.0, 3.0)])
def test_the_hessian_of_x_to_the_y_at_regular_points_matches_sympy_and_is_symmetric(point):
    sp = sympy_module()
    x, y = Value(point[0]), Value(point[1])
    h = hessian(x**y, [x, y])
    s, t = sp.symbols("s t", positive=True)
    f = s**t
    for i, a in enumerate((s, t)):
        for j, b in enumerate((s, t)):
            exact = sp.limit(f.diff(a, b).subs(t, sp.nsimplify(point[1])), s, sp.nsimplify(point[0]), "+")
            assert h[i][j] == pytest.approx(float(exact), rel=1e-12, abs=1e-15), (i, j, h)
    assert h[0][1] == h[1][0]
