"""Tests for autograd.expr: the command line's safe expression parser.

Values and gradients are checked against sympy's exact derivatives of the same formula
written independently in sympy (or against hand-derived numbers); every refusal is
checked by its message.
"""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import close, sympy_derivative, sympy_module, sympy_value

from autograd import Value
from autograd import expr as expr_module
from autograd.expr import FUNCTIONS, ExprError, evaluate, parse, parse_bindings

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
    ("x.__class__", "attribute access 'x.__class__' is not allowed"),
    ("__import__('os').system('x')", "attribute access \"__import__('os').system\" is not allowed"),
    ("math.exp(x)", "attribute access 'math.exp' is not allowed"),
    ("(lambda: 1)()", "lambda expression 'lambda: 1' is not allowed"),
    ("[x][0]", "subscript '[x][0]' is not allowed"),
    ("x[1:2]", "subscript 'x[1:2]' is not allowed"),
    ("open('f')", "calling 'open' is not allowed: the functions are " + ", ".join(FUNCTIONS)),
    ("__import__('os')", "calling '__import__' is not allowed"),
    ("x(2)", "calling 'x' is not allowed"),
    ("[i for i in x]", "comprehension '[i for i in x]' is not allowed"),
    ("{i: 1 for i in x}", "comprehension '{i: 1 for i in x}' is not allowed"),
    ("sum(i for i in x)", "calling 'sum' is not allowed"),
    ("exp(i for i in x)", "generator expression '(i for i in x)' is not allowed"),
    ("x < y", "comparison 'x < y' is not allowed"),
    ("x and y", "boolean operator 'x and y' is not allowed"),
    ("x if y else 1", "conditional expression 'x if y else 1' is not allowed"),
    ("(y := 1)", "assignment expression 'y := 1' is not allowed"),
    ("[x, y]", "list '[x, y]' is not allowed"),
    ("(x, y)", "tuple '(x, y)' is not allowed"),
    ("{x}", "set '{x}' is not allowed"),
    ("{x: y}", "dictionary '{x: y}' is not allowed"),
    ("f'{x}'", "f-string \"f'{x}'\" is not allowed"),
    ("'text'", "strings ('text') are not allowed"),
    ("b'x'", "strings (b'x') are not allowed"),
    ("True + x", "booleans (True) are not allowed: use numbers"),
    ("None", "'None' is not allowed: use numbers"),
    ("...", "'...' is not allowed: use numbers"),
    ("2j * x", "complex numbers (2j) are not allowed"),
    ("x // 2", "operator '//' in 'x // 2' is not allowed: use + - * / **"),
    ("x % 2", "operator '%' in 'x % 2' is not allowed"),
    ("x @ y", "operator '@' in 'x @ y' is not allowed"),
    ("x << 1", "operator '<<' in 'x << 1' is not allowed"),
    ("x ^ y", "operator '^' in 'x ^ y' is not allowed"),
    ("x & y", "operator '&' in 'x & y' is not allowed"),
    ("x | y", "operator '|' in 'x | y' is not allowed"),
    ("not x", "operator 'not' in 'not x' is not allowed"),
    ("~x", "operator '~' in '~x' is not allowed"),
    ("await x", "await 'await x' is not allowed"),
    ("exp", "'exp' is a function: call it, as in exp(x)"),
    ("exp(x=1)", "keyword arguments (x=... in 'exp(x=1)') are not allowed"),
    ("leaky_relu(x, alpha=0.1)", "keyword arguments (alpha=... in 'leaky_relu(x, alpha=0.1)') are not allowed"),
    ("exp(**y)", "keyword arguments (**... in 'exp(**y)') are not allowed"),
    ("exp(*x)", "starred arguments '*x' are not allowed"),
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


def test_parse_is_an_ast_check_only():
    tree = parse("tanh(x) + unknown_name")  # names are checked later, against the bindings
    assert tree.body.__class__.__name__ == "BinOp"


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
        ("x**9**9", "cannot evaluate 'x**9**9': '**' overflows to inf"),
        ("exp(x*1000)", "cannot evaluate 'exp(x*1000)': 'exp' overflows to inf"),
        ("x*1e308*10", "cannot evaluate 'x*1e308': '*' overflows to inf"),
        ("1e308 + 1e308", "cannot evaluate '1e308 + 1e308': '+' overflows to inf"),
        ("log(-x)", "cannot evaluate 'log(-x)': log() of -3.0 is undefined"),
        ("sqrt(0 - x)", "cannot evaluate 'sqrt(0 - x)': sqrt() of -3.0 is undefined"),
        ("x / 0", "cannot evaluate 'x / 0': division by zero: 3.0 / 0.0"),
        ("1 / (x - x)", "cannot evaluate '1 / (x - x)': division by zero: 1.0 / 0.0"),
        ("(-8)**(1/3)", "a negative base needs an integer exponent"),
        ("0**-1", "zero to a negative power divides by zero"),
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


def test_parser_recursion_is_reported(monkeypatch):
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)  # make Python's own parser give up on a 400-term sum
    try:
        with pytest.raises(ExprError, match=r"^the expression is too deeply nested to parse$"):
            parse("+".join(["x"] * 400))
    finally:
        sys.setrecursionlimit(limit)


def test_node_limit(monkeypatch):
    monkeypatch.setattr(expr_module, "MAX_NODES", 10)
    with pytest.raises(ExprError, match=r"^the expression has more than 10 parts; the limit is 10$"):
        parse("+".join(["x"] * 6))
    parse("+".join(["x"] * 5))  # 9 parts: allowed


def test_non_text_expression():
    with pytest.raises(ExprError, match="the expression must be text, got int"):
        parse(3)  # type: ignore[arg-type]


def test_evaluate_checks_binding_values():
    with pytest.raises(ExprError, match=r"the value of 'x' must be a finite number, got inf"):
        evaluate("x", {"x": math.inf})
    with pytest.raises(ExprError, match=r"the value of 'x' must be a finite number, got 'a'"):
        evaluate("x", {"x": "a"})  # type: ignore[dict-item]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xy0123456789.e+-*/() ,_abcdefghijklmnopqrstuvwz[]'\"<>=:!%&|^~@", max_size=60))
def test_any_text_either_evaluates_or_raises_expr_error(text):
    try:
        root, _ = evaluate(text, {"x": 1.5, "y": -0.5})
    except ExprError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert math.isfinite(root.data)


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
        ("x=1" + "0" * 20_000, "--at is 20003 characters long; the limit is 10000"),
    ],
)
def test_binding_errors(text, message):
    with pytest.raises(ExprError) as caught:
        parse_bindings(text)
    assert message in str(caught.value)


def test_bindings_must_be_text():
    with pytest.raises(ExprError, match="--at needs text like 'x=1,w=-3', got NoneType"):
        parse_bindings(None)  # type: ignore[arg-type]


def test_expr_error_is_a_value_error():
    assert issubclass(ExprError, ValueError)
