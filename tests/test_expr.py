"""Tests for autograd.expr: the command line's safe expression parser.

Values and gradients are checked against sympy's exact derivatives of the same formula
written independently in sympy (or against hand-derived numbers); every refusal is
checked by its message.
"""

from __future__ import annotations

import ast
import math
import operator
import os
import random
import sys
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import close, sympy_derivative, sympy_module, sympy_value

from autograd import Value
from autograd import expr as expr_module
from autograd.expr import FUNCTIONS, ExprError, evaluate, parse_bindings

sp = sympy_module()
LEAKY_SLOPE = sp.Rational(1, 100)  # the engine's default alpha


def _sympy_functions() -> dict:
    """The whitelisted functions as textbook sympy formulas."""
    return {
        "exp": sp.exp,
        "log": sp.log,
        "sqrt": sp.sqrt,
        "tanh": sp.tanh,
        "sigmoid": lambda x: 1 / (1 + sp.exp(-x)),
        "relu": lambda x: sp.Piecewise((x, x > 0), (0, True)),
        "leaky_relu": lambda x, a=LEAKY_SLOPE: sp.Piecewise((x, x > 0), (a * x, True)),
        "softplus": lambda x: sp.log(1 + sp.exp(x)),
        "sin": sp.sin,
        "cos": sp.cos,
        "abs": sp.Abs,
    }


# (expression text, --at text, the same formula built in sympy from symbols S and functions F)
VALID = [
    ("x*y + sin(x)", "x=2,y=-3", lambda S, F: S["x"] * S["y"] + F["sin"](S["x"])),
    (
        "tanh(x1*w1 + x2*w2 + b)",
        "x1=2,w1=-3,x2=0,w2=1,b=6.8813735870195432",
        lambda S, F: F["tanh"](S["x1"] * S["w1"] + S["x2"] * S["w2"] + S["b"]),
    ),
    ("x**2", "x=-3", lambda S, F: S["x"] ** 2),
    ("x**-1.5", "x=0.7", lambda S, F: S["x"] ** sp.Rational(-3, 2)),
    ("2**x", "x=1.3", lambda S, F: 2 ** S["x"]),
    ("x**y", "x=1.7,y=0.6", lambda S, F: S["x"] ** S["y"]),
    ("-x + +y", "x=1.25,y=4", lambda S, F: -S["x"] + S["y"]),
    ("(x - y) / (x + y)", "x=3,y=0.5", lambda S, F: (S["x"] - S["y"]) / (S["x"] + S["y"])),
    ("x*x*x", "x=3", lambda S, F: S["x"] ** 3),
    ("x * (1/2)", "x=5", lambda S, F: S["x"] / 2),
    ("exp(x) / log(y)", "x=0.3,y=2.5", lambda S, F: F["exp"](S["x"]) / F["log"](S["y"])),
    ("sqrt(x*x + 1)", "x=-1.2", lambda S, F: F["sqrt"](S["x"] ** 2 + 1)),
    ("sigmoid(x) * softplus(-x)", "x=0.8", lambda S, F: F["sigmoid"](S["x"]) * F["softplus"](-S["x"])),
    ("relu(x) + relu(-x)", "x=-2", lambda S, F: F["relu"](S["x"]) + F["relu"](-S["x"])),
    ("leaky_relu(x)", "x=-2", lambda S, F: F["leaky_relu"](S["x"])),
    ("leaky_relu(x, 0.2)", "x=-2", lambda S, F: F["leaky_relu"](S["x"], sp.Rational(1, 5))),
    ("leaky_relu(x, -1/5)", "x=-2", lambda S, F: F["leaky_relu"](S["x"], sp.Rational(-1, 5))),
    ("abs(x) * cos(y)", "x=-0.4,y=2", lambda S, F: F["abs"](S["x"]) * F["cos"](S["y"])),
    ("1e-3 * x + 0.5", "x=7", lambda S, F: sp.Rational(1, 1000) * S["x"] + sp.Rational(1, 2)),
    ("(\n x + 1\n) * 2", "x=1", lambda S, F: (S["x"] + 1) * 2),
]


@pytest.mark.parametrize("text, at, formula", VALID, ids=[case[0] for case in VALID])
def test_value_and_gradients_match_sympy(text, at, formula):
    bindings = parse_bindings(at)
    symbols = {name: sp.Symbol(name, real=True) for name in bindings}
    reference = formula(symbols, _sympy_functions())
    names = list(bindings)
    point = [bindings[name] for name in names]
    ordered = [symbols[name] for name in names]

    root, leaves = evaluate(text, bindings)
    root.backward()

    assert close(root.data, sympy_value(reference, ordered, point), rel=1e-12)
    assert set(leaves) == set(bindings)
    for name in names:
        assert leaves[name].label == name
        expected = sympy_derivative(reference, [symbols[name]], ordered, point)
        assert close(leaves[name].grad, expected, rel=1e-12, abs_=1e-13), (name, leaves[name].grad, expected)


def test_tanh_neuron_hand_numbers():
    # o = tanh(n), n = x1 w1 + x2 w2 + b = 0.8814 -> o = 1/sqrt(2); do/dn = 1 - o^2 = 1/2
    root, leaves = evaluate("tanh(x1*w1 + x2*w2 + b)", parse_bindings("x1=2,w1=-3,x2=0,w2=1,b=6.8813735870195432"))
    root.backward()
    assert math.isclose(root.data, 1 / math.sqrt(2), rel_tol=1e-12)
    assert math.isclose(leaves["x1"].grad, -1.5, rel_tol=1e-12)  # do/dx1 = 1/2 * w1
    assert math.isclose(leaves["w1"].grad, 1.0, rel_tol=1e-12)  # do/dw1 = 1/2 * x1
    assert leaves["w2"].grad == 0.0  # do/dw2 = 1/2 * x2 = 0


def test_graph_shape_reuses_one_leaf_per_variable_and_labels_the_root():
    root, leaves = evaluate("x*x", {"x": 3.0})
    assert root.parents == (leaves["x"], leaves["x"])  # one leaf, used twice
    assert root.op == "*" and root.label == "f"
    squared, _ = evaluate("x**2", {"x": 3.0})
    assert squared.op == "**2"  # micrograd's symbol for a constant integer power
    halved, leaves = evaluate("x * (1/2)", {"x": 3.0})
    assert halved.parents[0] is leaves["x"] and halved.parents[1].data == 0.5  # constants are folded


def test_root_labels():
    root, leaves = evaluate("x", {"x": 2.0})
    assert root is leaves["x"] and root.label == "x"  # a lone variable keeps its name
    root, _ = evaluate("f * 2", {"f": 2.0})
    assert root.label == ""  # "f" is taken by a variable
    root, _ = evaluate("x + 1", {"x": 2.0}, root_label="L")
    assert root.label == "L"


def test_constant_expression_gives_a_leaf_root():
    root, leaves = evaluate("2 * 3 - 1", {})
    assert isinstance(root, Value) and root.data == 5.0 and root.parents == () and leaves == {}


def test_unused_binding_gets_zero_gradient():
    root, leaves = evaluate("x * 3", {"x": 1.0, "unused": 4.0})
    root.backward()
    assert leaves["x"].grad == 3.0 and leaves["unused"].grad == 0.0


def test_deep_but_allowed_nesting_is_evaluated_without_recursion():
    # 999 unary minuses: within the operator limit; the evaluator is iterative.
    root, leaves = evaluate("-" * 999 + "x", {"x": 2.0})
    root.backward()
    assert root.data == -2.0 and leaves["x"].grad == -1.0
    # 100 nested calls: the bracket-depth limit itself.
    root, leaves = evaluate("sin(" * 100 + "x" + ")" * 100, {"x": 0.5})
    expected = 0.5
    for _ in range(100):
        expected = math.sin(expected)
    assert math.isclose(root.data, expected, rel_tol=1e-12)


def _random_expressions():
    """Pairs (text, the same formula in sympy) built together from a small grammar over x and y.

    Every production is parenthesized, so the text means what the sympy tree means.
    """
    x, y = sp.symbols("x y", real=True)
    leaves = st.sampled_from(
        [("x", x), ("y", y), ("0.5", sp.Rational(1, 2)), ("2", sp.Integer(2)), ("1.5", sp.Rational(3, 2))]
    )
    functions = _sympy_functions()

    def extend(children):
        return st.one_of(
            st.tuples(st.sampled_from(["+", "-", "*"]), children, children).map(
                lambda t: (
                    f"({t[1][0]} {t[0]} {t[2][0]})",
                    {"+": t[1][1] + t[2][1], "-": t[1][1] - t[2][1], "*": t[1][1] * t[2][1]}[t[0]],
                )
            ),
            st.tuples(children, children).map(
                lambda t: (f"({t[0][0]} / (1 + {t[1][0]}**2))", t[0][1] / (1 + t[1][1] ** 2))
            ),
            st.tuples(st.sampled_from(["sin", "cos", "tanh", "sigmoid", "softplus"]), children).map(
                lambda t: (f"{t[0]}({t[1][0]})", functions[t[0]](t[1][1]))
            ),
            children.map(lambda c: (f"(-{c[0]})", -c[1])),
            children.map(lambda c: (f"({c[0]})**2", c[1] ** 2)),
            children.map(lambda c: (f"sqrt({c[0]}*{c[0]} + 1)", sp.sqrt(c[1] ** 2 + 1))),
            children.map(lambda c: (f"log(1 + {c[0]}**2)", sp.log(1 + c[1] ** 2))),
        )

    return st.recursive(leaves, extend, max_leaves=8), (x, y)


_EXPRESSIONS, _XY = _random_expressions()


@settings(max_examples=60, deadline=None)
@given(_EXPRESSIONS, st.floats(-2, 2), st.floats(-2, 2))
def test_random_expressions_match_sympy(pair, x, y):
    text, formula = pair
    root, leaves = evaluate(text, {"x": x, "y": y})
    root.backward()
    assert close(root.data, sympy_value(formula, _XY, [x, y]), rel=1e-9, abs_=1e-12), text
    for name, symbol in zip(("x", "y"), _XY):
        expected = sympy_derivative(formula, [symbol], _XY, [x, y])
        assert close(leaves[name].grad, expected, rel=1e-8, abs_=1e-10), (text, name, leaves[name].grad, expected)


# --------------------------------------------------------------------------- refusals


REFUSED = [
    ("x.__class__", "'x.__class__' is not allowed: use numbers, variables, + - * / **, parentheses and the functions"),
    ("__import__('os').system('x')", "\"__import__('os').system\" is not allowed"),
    ("math.exp(x)", "'math.exp' is not allowed"),
    ("(lambda: 1)()", "'lambda: 1' is not allowed"),
    ("[x][0]", "'[x][0]' is not allowed"),
    ("x[1:2]", "'x[1:2]' is not allowed"),
    ("open('f')", "calling 'open' is not allowed: the functions are " + ", ".join(FUNCTIONS)),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("tahn(x)", "calling 'tahn' is not allowed (did you mean tanh?): the functions are " + ", ".join(FUNCTIONS)),
    ("sigmod(x) + Exp(y)", "calling 'sigmod' is not allowed (did you mean sigmoid?)"),
    ("sin x", "invalid syntax at column 5 in 'sin x'; functions need parentheses: sin(x)"),
    ("2*exp 0.5 + y", "functions need parentheses: exp(0.5)"),
    ("x(2)", "calling an expression is not allowed (did you mean x*(2)?)"),
    ("2(x+1)", "calling an expression is not allowed (did you mean 2*(x+1)?)"),
    ("(x+1)(x-1)", "calling an expression is not allowed (did you mean (x+1)*(x-1)?)"),
    ("sqrt(x)(x)", "calling an expression is not allowed (did you mean sqrt(x)*(x)?)"),
    ("-x(y)", "calling an expression is not allowed (did you mean x*(y)?)"),
    ("[i for i in x]", "'[i for i in x]' is not allowed"),
    ("{i: 1 for i in x}", "'{i: 1 for i in x}' is not allowed"),
    ("sum(i for i in x)", "calling 'sum' is not allowed"),
    ("exp(i for i in x)", "'(i for i in x)' is not allowed"),
    ("x < y", "'x < y' is not allowed"),
    ("x and y", "'x and y' is not allowed"),
    ("x if y else 1", "'x if y else 1' is not allowed"),
    ("1if x else 2", "'1if x else 2' is not allowed"),
    ("(y := 1)", "'y := 1' is not allowed"),
    ("[x, y]", "'[x, y]' is not allowed"),
    ("(x, y)", "'(x, y)' is not allowed"),
    ("{x}", "'{x}' is not allowed"),
    ("{x: y}", "'{x: y}' is not allowed"),
    ("f'{x}'", "\"f'{x}'\" is not allowed"),
    ("'text'", "\"'text'\" is not allowed: use numbers"),
    ("b'x'", "\"b'x'\" is not allowed: use numbers"),
    ("True + x", "'True' is not allowed: use numbers"),
    ("None", "'None' is not allowed: use numbers"),
    ("...", "'...' is not allowed: use numbers"),
    ("2j * x", "'2j' is not allowed: use numbers"),
    ("x // 2", "the operator in 'x // 2' is not allowed: use + - * / **"),
    ("x % 2", "the operator in 'x % 2' is not allowed"),
    ("x @ y", "the operator in 'x @ y' is not allowed"),
    ("x << 1", "the operator in 'x << 1' is not allowed"),
    ("x ^ y", "the operator in 'x ^ y' is not allowed"),
    ("x & y", "the operator in 'x & y' is not allowed"),
    ("x | y", "the operator in 'x | y' is not allowed"),
    ("not x", "the operator in 'not x' is not allowed"),
    ("~x", "the operator in '~x' is not allowed"),
    ("await x", "'await x' is not allowed"),
    ("exp", "'exp' is a function: call it, as in exp(x)"),
    ("exp(x=1)", "keyword arguments (x=... in 'exp(x=1)') are not allowed"),
    ("leaky_relu(x, alpha=0.1)", "keyword arguments (alpha=... in 'leaky_relu(x, alpha=0.1)') are not allowed"),
    ("exp(**y)", "keyword arguments (**... in 'exp(**y)') are not allowed"),
    ("exp(*x)", "starred arguments are not allowed in 'exp(*x)'"),
    ("exp(x, y)", "exp() takes exactly one argument, got 2"),
    ("tanh()", "tanh() takes exactly one argument, got 0"),
    ("leaky_relu(x, 0.1, 2)", "leaky_relu takes x and an optional slope alpha, got 3 arguments"),
    (
        "leaky_relu(x, y)",
        "leaky_relu's slope alpha must be a number, not an expression of variables",
    ),
    ("", "the expression is empty"),
    ("   \n ", "the expression is empty"),
    ("x +", "invalid syntax in 'x +'"),
    ("(x", "invalid syntax at column 1 in '(x': '(' was never closed"),
    ("x = 1", "invalid syntax"),
    ("x\x00", "the expression contains a NUL character"),
    ("x\udcff", "invalid expression: 'utf-8' codec can't encode character"),  # a lone surrogate from argv
    ("1e999 * x", "the number 1e999 is too large for a float"),
    ("9" * 400, "the number " + "9" * 37 + "... is too large for a float"),
    ("9" * 5000, "Exceeds the limit (4300 digits) for integer string conversion"),
]


@pytest.mark.parametrize("text, message", REFUSED, ids=[repr(case[0])[:30] for case in REFUSED])
def test_refusals_name_what_is_not_allowed(text, message):
    with pytest.raises(ExprError) as caught:
        evaluate(text, {"x": 1.0, "y": 2.0})
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)  # one line


@pytest.mark.parametrize("text", ["x y", "(x", "x +", "exp(x) y", "xsin x", "x.sin y"])
def test_the_parentheses_hint_is_only_for_a_function_name_before_an_operand(text):
    with pytest.raises(ExprError, match="invalid syntax") as caught:
        evaluate(text, {"x": 1.0, "y": 2.0})
    assert "parentheses" not in str(caught.value)


def test_a_name_far_from_every_function_gets_no_guess():
    for text in ("open(x)", "sum(x)", "f(x)"):
        with pytest.raises(ExprError, match="is not allowed: the functions are") as caught:
            evaluate(text, {"x": 1.0})
        assert "did you mean" not in str(caught.value)


def test_unknown_name_says_how_to_bind_it():
    with pytest.raises(ExprError, match=r"^unknown name 'y': bind it with --at y=\.\.\.$"):
        evaluate("x + y", {"x": 1.0})


def test_hostile_input_has_no_side_effect(tmp_path):
    target = tmp_path / "pwned"
    hostile = f"__import__('os').system('touch {target}')"
    with pytest.raises(ExprError, match="is not allowed"):
        evaluate(hostile, {})
    with pytest.raises(ExprError, match="calling 'open' is not allowed"):
        evaluate(f"open('{target}', 'w')", {})
    assert not target.exists()


# --------------------------------------------------------------------------- absurd input


def test_huge_power_tower_is_an_overflow_error_not_a_huge_integer():
    with pytest.raises(ExprError) as caught:
        evaluate("9**9**9**9", {})
    # 9**9 = 387420489 is computed as a float; the next power overflows the float range
    assert str(caught.value) == "cannot evaluate '9**9**9': '**' overflows to inf"


@pytest.mark.parametrize(
    "text, message",
    [
        ("2**10000", "cannot evaluate '2**10000': '**' overflows to inf"),
        ("(-2)**10001", "cannot evaluate '(-2)**10001': '**' overflows to -inf"),
        ("x**9**9", "cannot evaluate 'x**9**9': '**' overflows to inf"),
        ("exp(x*1000)", "cannot evaluate 'exp(x*1000)': 'exp' overflows to inf"),
        ("x*1e308*10", "cannot evaluate 'x*1e308': '*' overflows to inf"),
        ("1e308 + 1e308", "cannot evaluate '1e308 + 1e308': '+' overflows to inf"),
        ("log(-x)", "cannot evaluate 'log(-x)': log() of -3.0 is undefined"),
        ("sqrt(0 - x)", "cannot evaluate 'sqrt(0 - x)': sqrt() of -3.0 is undefined"),
        ("x / 0", "cannot evaluate 'x / 0': division by zero: 3.0 / 0.0"),
        ("1 / (x - x)", "cannot evaluate '1 / (x - x)': division by zero: 1.0 / 0.0"),
        ("(-8)**(1/3)", "(-8.0) ** 0.3333333333333333 is not a real number: a negative base needs an integer exponent"),
        ("0**-1", "cannot evaluate '0**-1': 0.0 ** (-1.0) divides by zero"),
        ("exp(1000)", "cannot evaluate 'exp(1000)': 'exp' overflows to inf"),
        ("log(0)", "cannot evaluate 'log(0)': log() of 0.0 is undefined"),
        ("1/(2-2)", "cannot evaluate '1/(2-2)': 1.0 / 0.0 divides by zero"),
    ],
)
def test_math_errors_name_the_subexpression(text, message):
    with pytest.raises(ExprError) as caught:
        evaluate(text, {"x": 3.0})
    assert message in str(caught.value)


def test_length_limit():
    with pytest.raises(ExprError, match=r"^the expression is 1000000 characters long; the limit is 10000$"):
        evaluate("x" * 1_000_000, {"x": 1.0})
    with pytest.raises(ExprError, match="the expression is 10001 characters long"):
        evaluate("(" * 5000 + "x" + ")" * 5000, {"x": 1.0})


@pytest.mark.parametrize("depth", [101, 150, 1000])
def test_bracket_depth_limit(depth):
    with pytest.raises(ExprError, match=rf"^the expression nests brackets {depth} deep; the limit is 100$"):
        evaluate("(" * depth + "x" + ")" * depth, {"x": 1.0})


@pytest.mark.parametrize("text", ["-" * 3000 + "x", "+".join(["x"] * 3000), "**".join(["x"] * 2000)])
def test_operator_limit_guards_the_parser(text):
    with pytest.raises(ExprError, match=r"the expression has \d+ operators; the limit is 1000"):
        evaluate(text, {"x": 1.0})


def test_parser_recursion_is_reported():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)  # make Python's own parser give up on a 400-term sum
    try:
        with pytest.raises(ExprError, match=r"^the expression is too deeply nested to parse$"):
            evaluate("+".join(["x"] * 400), {"x": 1.0})
    finally:
        sys.setrecursionlimit(limit)


def test_node_limit(monkeypatch):
    monkeypatch.setattr(expr_module, "MAX_NODES", 10)
    with pytest.raises(ExprError, match=r"^the expression has more than 10 parts; the limit is 10$"):
        evaluate("+".join(["x"] * 6), {"x": 1.0})
    evaluate("+".join(["x"] * 5), {"x": 1.0})  # 9 parts: allowed


def test_non_text_expression():
    with pytest.raises(ExprError, match="the expression must be text, got int"):
        evaluate(3, {})  # type: ignore[arg-type]


def test_evaluate_checks_binding_values():
    with pytest.raises(ExprError, match=r"the value of 'x' must be a finite number, got inf"):
        evaluate("x", {"x": math.inf})
    with pytest.raises(ExprError, match=r"the value of 'x' must be a finite number, got 'a'"):
        evaluate("x", {"x": "a"})  # type: ignore[dict-item]


def test_python_syntax_warnings_are_not_printed():
    # Python's compiler warns about '1if' ("invalid decimal literal") on stderr; the one-line refusal is all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for text in ("1if x else 2", "2(x+1)", "x is 1", "'\\d'"):
            with pytest.raises(ExprError):
                evaluate(text, {"x": 1.0})
    assert [str(w.message) for w in caught] == []


# --------------------------------------------------------------------------- fuzzers
#
# Both run in process with a fixed seed, sized for CI (about a second each). For a long run, scale them:
#     STEPGRAD_FUZZ_SCALE=200 .venv/bin/python -m pytest tests/test_expr.py -k fuzz
# and change the seed with STEPGRAD_FUZZ_SEED=<int>.

FUZZ_SCALE = int(os.environ.get("STEPGRAD_FUZZ_SCALE", "1"))
FUZZ_SEED = int(os.environ.get("STEPGRAD_FUZZ_SEED", "20240611"))
POINT = {"x": 1.5, "y": -0.75, "z": 2.0}


class Undefined(Exception):
    """The oracle's verdict: this expression has no finite float value."""


def _finite(v: float) -> float:
    if isinstance(v, complex) or not math.isfinite(v):
        raise Undefined
    return v


def _oracle_sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v)) if v > -700 else 0.0


def _oracle_softplus(v: float) -> float:
    return math.log1p(math.exp(v)) if v < 30 else v + math.log1p(math.exp(-v))


ORACLE_FUNCTIONS = {  # plain float math, written here without the engine
    "exp": math.exp,
    "log": lambda v: math.log(v) if v > 0 else _raise(Undefined),
    "sqrt": lambda v: math.sqrt(v) if v >= 0 else _raise(Undefined),
    "tanh": math.tanh,
    "sigmoid": _oracle_sigmoid,
    "relu": lambda v: max(v, 0.0),
    "softplus": _oracle_softplus,
    "sin": math.sin,
    "cos": math.cos,
    "abs": abs,
    "leaky_relu": lambda v, a=0.01: v if v > 0 else a * v,
}


def _raise(error):
    raise error


def oracle(node: ast.expr, point: dict[str, float], magnitudes: list[float]) -> float:
    """The value of a generated tree by Python's float arithmetic; ``Undefined`` where there is none."""
    if isinstance(node, ast.Constant):
        value = float(node.value)
    elif isinstance(node, ast.Name):
        value = point[node.id]
    elif isinstance(node, ast.UnaryOp):
        value = -oracle(node.operand, point, magnitudes)
    elif isinstance(node, ast.BinOp):
        a, b = oracle(node.left, point, magnitudes), oracle(node.right, point, magnitudes)
        try:
            value = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}[type(node.op)](a, b)
        except KeyError:
            if isinstance(node.op, ast.Div):
                value = a / b if b != 0 else _raise(Undefined)
            elif a == 0 and b < 0:
                raise Undefined from None
            else:
                try:
                    value = a**b
                except OverflowError:
                    raise Undefined from None
    else:
        arguments = [oracle(argument, point, magnitudes) for argument in node.args]
        try:
            value = ORACLE_FUNCTIONS[node.func.id](*arguments)
        except OverflowError:
            raise Undefined from None
    magnitudes.append(abs(_finite(value)))
    return value


def random_tree(rng: random.Random, depth: int) -> ast.expr:
    """A random tree of the expression language (Python's own AST nodes, printed with ``ast.unparse``)."""
    if depth == 0 or rng.random() < 0.25:
        if rng.random() < 0.5:
            return ast.Name(id=rng.choice(sorted(POINT)), ctx=ast.Load())
        number = rng.choice([0, 1, 2, 3, 0.5, 2.5, 10, 1e-3, 0.1, 100, 1e3, rng.randint(0, 50), rng.uniform(0, 5)])
        return ast.Constant(value=number)
    kind = rng.random()
    if kind < 0.45:
        op = rng.choice([ast.Add(), ast.Sub(), ast.Mult(), ast.Div(), ast.Pow()])
        right = random_tree(rng, depth - 1)
        if isinstance(op, ast.Pow) and rng.random() < 0.6:  # mostly small constant powers, as people write them
            right = ast.Constant(value=rng.choice([2, 3, 0.5, -1, -0.5, 1.5, 0]))
        return ast.BinOp(left=random_tree(rng, depth - 1), op=op, right=right)
    if kind < 0.55:
        return ast.UnaryOp(op=ast.USub(), operand=random_tree(rng, depth - 1))
    name = rng.choice(sorted(ORACLE_FUNCTIONS))
    arguments = [random_tree(rng, depth - 1)]
    if name == "leaky_relu" and rng.random() < 0.5:
        arguments.append(ast.Constant(value=rng.choice([0.2, 0.1, 0.5])))
    return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=arguments, keywords=[])


def test_fuzz_grammar_expressions_match_python_float_arithmetic():
    rng = random.Random(FUZZ_SEED)
    outcomes = {"evaluated": 0, "refused": 0}
    for _ in range(600 * FUZZ_SCALE):
        tree = random_tree(rng, rng.randint(1, 6))
        text = ast.unparse(tree)
        magnitudes: list[float] = []
        try:
            expected = oracle(tree, POINT, magnitudes)
        except Undefined:
            expected = None
        try:
            root, _ = evaluate(text, POINT)
        except ExprError as error:
            assert str(error) and "\n" not in str(error), text
            # refused only where Python's floats have no value, or a number on the way is beyond 1e100
            # (where an engine's local derivative may overflow before its value does)
            tame = all(m == 0 or 1e-100 < m < 1e100 for m in magnitudes)
            assert expected is None or not tame, (text, expected, str(error))
            outcomes["refused"] += 1
            continue
        assert expected is not None, (text, root.data)
        scale = max(magnitudes, default=1.0)
        assert root.data == pytest.approx(expected, rel=1e-9, abs=1e-12 * max(1.0, scale)), text
        outcomes["evaluated"] += 1
    assert outcomes["evaluated"] > 300 * FUZZ_SCALE and outcomes["refused"] > 20 * FUZZ_SCALE, outcomes


SEEDS = [
    "tanh(x*w + b)",
    "x**2 + y**-0.5 * exp(-z)",
    "leaky_relu(x - 3, 0.2) / (1 + abs(y))",
    "__import__('os').system('touch pwned')",
    "(lambda: 1)()",
    "2(x+1)",
    "1if x else 2",
    "9**9**9**9",
    "f'{x}' + b'y' + [x][0]",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    """Insert, delete, replace or duplicate a few random bytes."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        where = rng.randint(0, len(buffer))
        action = rng.random()
        if action < 0.3:
            buffer[where:where] = bytes([rng.randrange(256)])
        elif action < 0.5 and buffer:
            del buffer[where : where + rng.randint(1, 3)]
        elif action < 0.7 and buffer:
            buffer[min(where, len(buffer) - 1)] = rng.choice(b"()+-*/.,=:;[]{}'\"!^%&|~@ xyz0123456789e\x00\xff")
        else:
            start = rng.randint(0, len(buffer))
            buffer[where:where] = buffer[start : start + rng.randint(1, 8)]
    return bytes(buffer)


def test_fuzz_bytes_either_evaluate_or_give_one_expr_error_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a construct that got through would touch files here
    rng = random.Random(FUZZ_SEED)
    corpus = [seed.encode() for seed in SEEDS]
    refused = 0
    for k in range(3000 * FUZZ_SCALE):
        if k % 3 == 0:  # raw bytes
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        else:  # mutations of the seeds and of earlier mutants
            data = _mutate(rng, rng.choice(corpus))
            if len(corpus) < 500 and rng.random() < 0.2:
                corpus.append(data)
        text = data.decode("utf-8", errors="surrogateescape")  # how Python decodes a command-line argument
        try:
            root, _ = evaluate(text, POINT)
        except ExprError as error:
            assert str(error) and "\n" not in str(error), repr(text)
            refused += 1
        else:
            assert math.isfinite(root.data), repr(text)
    assert refused > 2000 * FUZZ_SCALE
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- bindings


def test_bindings_parse():
    assert parse_bindings("x=1,w=-3") == {"x": 1.0, "w": -3.0}
    assert parse_bindings(" x = 1.5e-1 , θ=+2 ") == {"x": 0.15, "θ": 2.0}
    assert parse_bindings("") == {} and parse_bindings("  ") == {}
    assert list(parse_bindings("b=1,a=2")) == ["b", "a"]  # order kept


@pytest.mark.parametrize(
    "text, message",
    [
        ("x=1,", "empty entry in --at 'x=1,': write name=value pairs separated by commas"),
        ("x", "--at entry 'x' is not of the form name=value (e.g. x=1.5)"),
        ("x=1=2", "--at entry 'x=1=2' is not of the form name=value"),
        ("x:1", "--at entry 'x:1' is not of the form name=value"),
        ("1x=2", "--at entry '1x=2': '1x' is not a valid variable name"),
        ("=2", "--at entry '=2': '' is not a valid variable name"),
        ("lambda=1", "--at entry 'lambda=1': 'lambda' is not a valid variable name"),
        ("x.y=1", "'x.y' is not a valid variable name"),
        ("exp=1", "--at entry 'exp=1': 'exp' is a function name; pick another variable name"),
        ("abs=1", "'abs' is a function name"),
        ("x=1,x=2", "--at binds 'x' twice"),
        ("x=abc", "--at entry 'x=abc': the value of 'x' must be a number, got 'abc'"),
        ("x=", "the value of 'x' must be a number, got ''"),
        ("x=0x10", "the value of 'x' must be a number, got '0x10'"),
        ("x=inf", "--at entry 'x=inf': the value of 'x' must be finite, got inf"),
        ("x=nan", "the value of 'x' must be finite, got nan"),
        ("x=1e999", "the value of 'x' must be finite, got inf"),
        ("x=1" + "0" * 20_000, "--at is 20003 characters long in all; the limit is 10000"),
    ],
)
def test_binding_errors(text, message):
    with pytest.raises(ExprError) as caught:
        parse_bindings(text)
    assert message in str(caught.value)


def test_several_at_texts_share_one_namespace_and_one_size_limit():
    assert parse_bindings(["x=1", "", "y=2,z=3"]) == {"x": 1.0, "y": 2.0, "z": 3.0}
    with pytest.raises(ExprError, match=r"^--at binds 'x' twice$"):
        parse_bindings(["x=1", "y=2,x=3"])
    # 140 flags of 9,999 characters each: refused as a whole, not flag by flag
    flag = "x=" + "0" * 9_997
    with pytest.raises(ExprError, match=r"^--at is 1399860 characters long in all; the limit is 10000$"):
        parse_bindings([flag] * 140)


def test_the_number_of_variables_is_capped():
    names = [f"v{k}=1" for k in range(expr_module.MAX_VARIABLES)]
    assert len(parse_bindings(",".join(names))) == expr_module.MAX_VARIABLES == 1000
    with pytest.raises(ExprError, match=r"^--at binds more than 1000 variables; the limit is 1000$"):
        parse_bindings([",".join(names), "one_more=2"])


def test_bindings_must_be_text():
    with pytest.raises(ExprError, match="--at needs text like 'x=1,w=-3', got NoneType"):
        parse_bindings(None)  # type: ignore[arg-type]
    with pytest.raises(ExprError, match="--at needs text like 'x=1,w=-3', got int"):
        parse_bindings(["x=1", 2])  # type: ignore[list-item]


def test_expr_error_is_a_value_error():
    assert issubclass(ExprError, ValueError)
