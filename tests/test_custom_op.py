"""User-defined primitives (autograd.Op): first and higher derivatives against sympy and finite differences."""

from __future__ import annotations

import math

import pytest
from oracles import (
    central_difference,
    partial_difference,
    sympy_derivative,
    sympy_module,
    sympy_ops,
    sympy_symbols,
)

import autograd
from autograd import GradcheckError, Op, Value, grad, gradcheck, hessian, no_grad

# A new primitive in a few lines: symbol, forward on floats, partials written with Value-friendly operations.
softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))

# Two inputs, partials using the output: ∂√(a²+b²)/∂a = a/out, ∂/∂b = b/out.
hypot = Op("hypot", lambda a, b: math.hypot(a, b), lambda a, b, out: (a / out, b / out))

# Partials through autograd's functions, which take floats and Values alike: x·σ(kx), the sigmoid-GELU.
K = 1.702
silu_k = Op(
    "gelu_sigmoid",
    lambda x: x * autograd.sigmoid(K * x),
    lambda x, out: (autograd.sigmoid(K * x) + K * x * autograd.sigmoid(K * x) * (1 - autograd.sigmoid(K * x)),),
)


def sympy_softsign(s):
    return s / (1 + sympy_module().Abs(s))


def sympy_gelu(s):
    sp = sympy_module()
    return s / (1 + sp.exp(-sp.Rational(1702, 1000) * s))


def nth(op, x, order):
    leaf = Value(x)
    current = op(leaf)
    for _ in range(order):
        (current,) = grad(current, [leaf], create_graph=True)
    return current.data


@pytest.mark.parametrize("x", [-2.5, -0.4, 0.3, 1.0, 4.0])
@pytest.mark.parametrize(
    "op, exact, f",
    [
        (softsign, sympy_softsign, lambda x: x / (1 + abs(x))),
        (silu_k, sympy_gelu, lambda x: x / (1 + math.exp(-K * x))),
    ],
    ids=["softsign", "gelu_sigmoid"],
)
def test_unary_user_op_orders_0_to_3_match_sympy(op, exact, f, x):
    (s,) = sympy_symbols(1)
    expr = exact(s)
    leaf = Value(x)
    y = op(leaf)
    assert y.data == pytest.approx(sympy_derivative(expr, [], [s], [x]), rel=1e-14)
    y.backward()
    assert leaf.grad == pytest.approx(sympy_derivative(expr, [s], [s], [x]), rel=1e-13)
    assert leaf.grad == pytest.approx(central_difference(f, x, h=1e-3 * min(1.0, abs(x))), rel=1e-7)
    for order in (2, 3):
        assert nth(op, x, order) == pytest.approx(sympy_derivative(expr, [s] * order, [s], [x]), rel=1e-11, abs=1e-13)


def test_the_docstring_example():
    y = softsign(Value(1.0))
    y.backward()
    assert y.data == 0.5
    assert y.parents[0].grad == 0.25


def test_two_input_user_op_gradient_and_hessian_match_sympy():
    sp = sympy_module()
    sa, sb = sympy_symbols(2)
    exact = sp.sqrt(sa**2 + sb**2)
    point = [1.2, -0.7]
    a, b = Value(point[0]), Value(point[1])
    out = hypot(a, b)
    out.backward()
    for leaf, s, i in ((a, sa, 0), (b, sb, 1)):
        assert leaf.grad == pytest.approx(sympy_derivative(exact, [s], [sa, sb], point), rel=1e-13)
        assert leaf.grad == pytest.approx(partial_difference(math.hypot, point, i), rel=1e-8)
    leaves = [Value(x) for x in point]
    h = hessian(hypot(*leaves), leaves)
    for i, si in enumerate((sa, sb)):
        for j, sj in enumerate((sa, sb)):
            assert h[i][j] == pytest.approx(sympy_derivative(exact, [si, sj], [sa, sb], point), rel=1e-12)


def test_user_op_composes_with_builtins_and_backward_create_graph():
    sp = sympy_module()
    (s,) = sympy_symbols(1)
    x = Value(0.6)
    y = softsign(x.sin() * 3) * x.exp()
    exact = sympy_softsign(3 * sp.sin(s)) * sp.exp(s)
    y.backward(create_graph=True)
    first = x.grad
    assert first.data == pytest.approx(sympy_derivative(exact, [s], [s], [0.6]), rel=1e-13)
    x.grad = 0.0
    first.backward()
    assert x.grad == pytest.approx(sympy_derivative(exact, [s, s], [s], [0.6]), rel=1e-12)


def test_user_op_node_carries_its_op_and_local_derivatives():
    x = Value(2.0)
    y = softsign(x)
    assert y.op == "softsign" and y._op == "softsign"
    assert isinstance(y._op, Op)
    assert y.parents == (x,)
    assert y.local_grads == pytest.approx((1 / 9,), rel=1e-15)


def test_user_op_accepts_numbers_as_inputs():
    assert softsign(3.0).data == 0.75
    a = Value(3.0)
    out = hypot(a, 4)
    out.backward()
    assert out.data == 5.0
    assert a.grad == pytest.approx(0.6, rel=1e-15)


def test_user_op_inside_no_grad_records_nothing():
    with no_grad():
        y = softsign(Value(1.0))
    assert y.parents == () and y.op == ""
    assert y.data == 0.5


def test_gradcheck_accepts_a_correct_user_op_and_rejects_a_wrong_one():
    assert gradcheck(lambda a, b: hypot(a, b) * softsign(a), [0.8, -1.3])
    wrong_softsign = Op("wrong_softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)),))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, b: a * b + wrong_softsign(b), [0.8, -1.3])
    assert "inputs[1]" in str(info.value)


def test_a_bare_partial_works_for_first_and_second_order():
    # partials may return one derivative without a tuple for a one-input op (backward accepts it);
    # differentiating twice must accept it too
    bare = Op("bare_softsign", lambda x: x / (1 + abs(x)), lambda x, out: 1 / (1 + abs(x)) ** 2)
    x = Value(1.0)
    bare(x).backward()
    assert x.grad == 0.25
    (first,) = grad(bare(x), [x], create_graph=True)
    assert first.data == 0.25
    (second,) = grad(first, [x])
    assert second.data == pytest.approx(-2 / 8, rel=1e-15)  # d/dx (1+x)^-2 = -2(1+x)^-3 at x = 1


def test_op_declaration_errors():
    with pytest.raises(TypeError, match=r"Op needs a non-empty symbol string, got ''"):
        Op("", abs, abs)
    with pytest.raises(TypeError, match=r"Op needs a non-empty symbol string, got 3"):
        Op(3, abs, abs)
    with pytest.raises(TypeError, match=r"Op 'q': forward and partials must be callables"):
        Op("q", 1.0, abs)


def test_op_application_errors_name_the_op():
    one_partial = Op("two_in", lambda a, b: a * b, lambda a, b, out: (b,))
    with pytest.raises(ValueError, match=r"op 'two_in': partials gave 1 derivatives for 2 inputs"):
        one_partial(Value(1.0), Value(2.0))
    text_out = Op("text_out", lambda a: "x", lambda a, out: (1.0,))
    with pytest.raises(TypeError, match=r"op 'text_out'.*forward.*str"):
        text_out(Value(1.0))
    with pytest.raises(TypeError, match=r"softsign.*str"):
        softsign("1.0")


# --------------------------------------------------------------------------- overflow inside a user's rule

# "Derivatives never raise": a rule written with arithmetic and autograd's documented functions may
# overflow in float arithmetic; the engine then re-evaluates it in limit arithmetic (±inf, nan), which must
# carry through every documented function and abs(). The oracle: sympy's exact value, rounded to a float.


@pytest.mark.parametrize("x", [2e154, -2e154, 1e300, -1e300, 1e308, -1.7976931348623157e308])
def test_the_readme_softsign_has_a_derivative_at_huge_inputs(x):
    (s,) = sympy_symbols(1)
    expected = sympy_derivative(sympy_softsign(s), [s], [s], [x])  # 1/(1+|x|)², tiny or subnormal
    leaf = Value(x)
    y = softsign(leaf)
    y.backward()
    assert y.data == (1.0 if x > 0 else -1.0)
    assert math.isclose(leaf.grad, expected, rel_tol=1e-12, abs_tol=1e-300)  # 1/inf = 0 beside 2.5e-309
    other = Value(x)
    (first,) = grad(softsign(other), [other])  # grad() goes through the same rule
    assert math.isclose(first.data, expected, rel_tol=1e-12, abs_tol=1e-300)


def _documented(name):
    """autograd's function ``name`` (abs: the builtin, as in the README) and its sympy counterpart."""
    sp = sympy_module()
    if name == "abs":
        return abs, sp.Abs
    return getattr(autograd, name), sympy_ops()[name]


SCALE = 1e200  # (SCALE·g(x))² overflows a float for every g(x) ≠ 0


@pytest.mark.parametrize(
    "name, x",
    [
        ("exp", 1.0), ("log", 2.0), ("sqrt", 2.0), ("tanh", 0.5), ("sigmoid", 0.5), ("relu", 2.0),
        ("softplus", 1.0), ("sin", 1.0), ("cos", 1.0), ("abs", -3.0),
    ],
)  # fmt: skip
def test_a_user_rule_through_each_documented_function_overflows_to_its_limit(name, x):
    # f(x) = (S·g(x))³ / (3S), f'(x) = (S·g(x))² · g'(x): the square overflows, the exact value is ±1e600·…
    g, sympy_g = _documented(name)
    (s,) = sympy_symbols(1)
    sympy_f = (SCALE * sympy_g(s)) ** 3 / (3 * SCALE)
    dg = {
        "exp": lambda x: autograd.exp(x), "log": lambda x: 1 / x, "sqrt": lambda x: 0.5 / autograd.sqrt(x),
        "tanh": lambda x: 1 - autograd.tanh(x) ** 2,
        "sigmoid": lambda x: autograd.sigmoid(x) * (1 - autograd.sigmoid(x)),
        "relu": lambda x: 1.0, "softplus": lambda x: autograd.sigmoid(x), "sin": lambda x: autograd.cos(x),
        "cos": lambda x: -autograd.sin(x), "abs": lambda x: -1.0 if x < 0 else 1.0,
    }[name]  # fmt: skip
    op = Op(
        f"cube_of_{name}",
        lambda x: (SCALE * g(x)) * (SCALE * g(x)) * (SCALE * g(x)) / (3 * SCALE),  # products overflow to ±inf
        lambda x, out: ((SCALE * g(x)) ** 2 * dg(x),),
    )
    expected = sympy_derivative(sympy_f, [s], [s], [x])
    assert math.isinf(expected)  # the oracle says: too large for a float
    leaf = Value(x)
    op(leaf).backward()
    assert leaf.grad == expected
    (first,) = grad(op(leaf), [leaf])
    assert first.data == expected
