"""One registry: a primitive is one line of the rule table, and everything else derives from it.

The first test adds a primitive to a copy of the package in one line — softsign, x/(1 + |x|), with its
partial 1/(1 + |x|)² and a public name — and uses it everywhere in a fresh interpreter: from Python
(``autograd.softsign``), its derivative against central differences of its own forward and sympy, a second
derivative by ``create_graph=True`` against sympy, the command line (``stepgrad steps``), a drawing and a
compiled replay against eager. The other tests check the registry itself: unique names, every public
function exported, and every built-in's forward on numpy arrays equal to its float forward on a grid that
includes ±0, ±inf and nan.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import pytest
from oracles import central_difference, sympy_module

import autograd
from autograd import Op, Value, engine, expr, foreign

PACKAGE = pathlib.Path(autograd.__file__).parent
NN = PACKAGE.parent / "nn"
ROW = (  # one line of the table: symbol, forward, partials, public name
    'SOFTSIGN = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,), name="softsign")\n'
)
POINTS = (-2.5, -0.75, 0.5, 3.0)  # away from the kink at 0, where sympy's |x| has no derivative
H = 1e-3

# Run in the copy: every use of the new primitive, printed as JSON for the test to compare with its oracles.
USE = r"""
import json, sys
import autograd
from autograd import Value, compiled, draw_dot, engine, sum_values
from autograd.expr import FUNCTIONS

points = [float(a) for a in sys.argv[1:]]
out = {"file": autograd.__file__, "in_all": "softsign" in autograd.__all__, "cli_functions": list(FUNCTIONS)}
out["op"] = [str(engine.SOFTSIGN), engine.PRIMITIVES["softsign"] is engine.SOFTSIGN]
rows = []
for p in points:
    x = Value(p, label="x")
    y = autograd.softsign(x)
    y.backward(create_graph=True)
    first = x.grad
    x.grad = 0.0
    first.backward()  # d/dx of the first derivative: the second
    shifted = [autograd.softsign(p + k * 1e-3) for k in (-2, -1, 1, 2)]  # on floats: a float back
    rows.append({"data": y.data, "first": first.data, "second": x.grad, "shifted": shifted})
out["rows"] = rows
x = Value(0.5, label="x")
out["dot"] = draw_dot(autograd.softsign(x * 2.0)).source

w = Value(0.7, label="w")
step = compiled(lambda xs: sum_values([autograd.softsign(x * w) for x in xs]))
step([0.5, -1.25, 2.0])  # traces
w.grad = 0.0
replay = step([-0.3, 1.5, 0.25])
w_eager = Value(0.7)
eager = sum_values([autograd.softsign(x * w_eager) for x in (-0.3, 1.5, 0.25)])
eager.backward()
(program,) = step.programs
out["compiled"] = [replay.data, w.grad, eager.data, w_eager.grad, list(program.stats.element_wise)]
print(json.dumps(out))
"""


def copy_with_row(tmp_path: pathlib.Path, row: str = ROW) -> pathlib.Path:
    """The package (autograd and nn) copied to ``tmp_path`` with ``row`` added as the table's last line."""
    shutil.copytree(PACKAGE, tmp_path / "autograd", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(NN, tmp_path / "nn", ignore=shutil.ignore_patterns("__pycache__"))
    engine_py = tmp_path / "autograd" / "engine.py"
    source = engine_py.read_text(encoding="utf-8")
    end_of_table = "# fmt: on\n"
    assert source.count(end_of_table) == 1
    engine_py.write_text(source.replace(end_of_table, row + end_of_table), encoding="utf-8")
    return tmp_path


def run_in(folder: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(folder))  # STEPGRAD_PURE passes on: tests/test_both_engines.py sets it
    return subprocess.run([sys.executable, *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def softsign_float(x: float) -> float:
    return x / (1 + abs(x))


def test_a_primitive_added_in_one_line_works_everywhere(tmp_path):
    pytest.importorskip("numpy")
    pytest.importorskip("graphviz")
    sp = sympy_module()
    folder = copy_with_row(tmp_path)
    result = run_in(folder, "-c", USE, *map(str, POINTS))
    assert result.returncode == 0, result.stderr
    # the copy's engine ran with every accelerated copy: a new row changes no definition the accelerator copies
    assert result.stderr == ""
    out = json.loads(result.stdout)
    assert out["file"] == str(folder / "autograd" / "__init__.py")
    assert out["op"] == ["softsign", True] and out["in_all"] and "softsign" in out["cli_functions"]

    s = sp.Symbol("x", real=True)
    f = s / (1 + sp.Abs(s))
    for p, row in zip(POINTS, out["rows"]):
        assert row["data"] == pytest.approx(softsign_float(p), rel=1e-15)
        first = float(sp.diff(f, s).subs(s, p))  # 1/(1+|x|)²
        second = float(sp.diff(f, s, 2).subs(s, p))  # −2·sign(x)/(1+|x|)³
        assert row["first"] == pytest.approx(first, rel=1e-12)
        assert row["second"] == pytest.approx(second, rel=1e-12)
        # the derivative against central differences of the op's own forward (as the copy computed it)
        fm2, fm1, fp1, fp2 = row["shifted"]
        stencil = (-fp2 + 8 * fp1 - 8 * fm1 + fm2) / (12 * H)
        assert stencil == pytest.approx(row["first"], rel=1e-9)
        assert central_difference(softsign_float, p, H) == pytest.approx(row["first"], rel=1e-9)

    assert "n3op [label=softsign " in out["dot"]  # the drawing's op node shows the new op's symbol
    replay, w_grad, eager, w_eager_grad, element_wise = out["compiled"]
    assert replay == pytest.approx(eager, rel=1e-14) and w_grad == pytest.approx(w_eager_grad, rel=1e-14)
    assert element_wise == []  # its forward and partial take arrays: checked, then run as array kernels

    # the command line: `stepgrad steps 'softsign(x)' --at x=0.5` (the console script is `python -m nn`)
    cli = run_in(folder, "-m", "nn", "steps", "softsign(x)", "--at", "x=0.5")
    assert cli.returncode == 0, cli.stderr
    assert cli.stderr == ""
    assert "f = softsign(x)" in cli.stdout
    expected = 1 / 1.5**2  # 1/(1+|x|)² at x = 0.5
    assert f"∂f/∂x = {expected!r}" in cli.stdout.splitlines(), cli.stdout
    assert cli.stdout.splitlines()[0] == f"f = {softsign_float(0.5)!r}"


def test_the_table_line_is_needed(tmp_path):
    # Without the row, the same use fails: nothing else in the package knows softsign.
    shutil.copytree(PACKAGE, tmp_path / "autograd", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(NN, tmp_path / "nn", ignore=shutil.ignore_patterns("__pycache__"))
    result = run_in(tmp_path, "-m", "nn", "steps", "softsign(x)", "--at", "x=0.5")
    assert result.returncode != 0 and "calling 'softsign' is not allowed" in result.stderr


def test_a_primitive_of_two_inputs_added_in_one_line_reaches_the_command_line(tmp_path):
    # hypot(x, y) = √(x² + y²); ∂/∂x = x/hypot, ∂/∂y = y/hypot: at (3, 4) hypot = 5, so 3/5 and 4/5.
    row = 'HYPOT = Op("hypot", lambda x, y: math.hypot(x, y), lambda x, y, out: (x / out, y / out), name="hypot")\n'
    folder = copy_with_row(tmp_path, row)
    result = run_in(folder, "-m", "nn", "steps", "hypot(x, y)", "--at", "x=3,y=4")
    assert result.returncode == 0, result.stderr
    assert "∂f/∂x = 0.6" in result.stdout and "∂f/∂y = 0.8" in result.stdout, result.stdout
    wrong = run_in(folder, "-m", "nn", "steps", "hypot(x)", "--at", "x=3")
    assert wrong.returncode != 0 and "hypot() takes exactly 2 arguments, got 1" in wrong.stderr


# --------------------------------------------------------------------------- the registry itself

BUILTIN_FUNCTIONS = ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus", "sin", "cos", "abs", "maximum")


def test_the_registry_lists_the_tables_named_ops_once_in_table_order():
    assert list(engine.PRIMITIVES) == list(BUILTIN_FUNCTIONS)
    table = list(engine.TABLE.values())
    assert len({id(op) for op in table}) == len(table)
    names = [op.name for op in table if op.name is not None]
    assert len(names) == len(set(names)) == len(engine.PRIMITIVES)
    for name, op in engine.TABLE.items():
        assert getattr(engine, name) is op and op._remake == name
        assert pickle.loads(pickle.dumps(op)) is op
    assert engine.PRIMITIVES["relu"] is engine.RELU and str(engine.RELU) == "ReLU"  # a name is not a symbol


def test_every_named_op_has_its_public_function():
    for name, op in engine.PRIMITIVES.items():
        function = engine.FUNCTIONS[name]
        assert function.__name__ == name
        if name != "abs":  # Python's own abs(x) calls Value.__abs__: autograd does not shadow it
            assert getattr(autograd, name) is function and name in autograd.__all__
        x = Value(0.5)
        y = function(x)
        assert y.op is op and y.data == op.forward(0.5)
        assert function(0.5) == op.forward(0.5)
    assert not hasattr(autograd, "abs") and "abs" not in autograd.__all__
    assert len(autograd.__all__) == len(set(autograd.__all__))


def test_the_command_line_and_the_check_tool_take_their_names_from_the_registry():
    unary = [name for name, op in engine.PRIMITIVES.items() if op.arity == 1]
    assert set(expr.FUNCTIONS) == {*unary, "leaky_relu", "max"}
    for name in unary:
        assert foreign.op_for_symbol(name, 1) is engine.PRIMITIVES[name]
    assert foreign.op_for_symbol("ReLU", 1) is engine.RELU and foreign.op_for_symbol("max", 1) is None
    for op in (engine.ADD, engine.MUL, engine.DIV, engine.POW):  # the table's two-input ops, by symbol
        assert foreign.op_for_symbol(str(op), 2) is op


def test_op_fields_are_checked_and_kept_by_pickle():
    with pytest.raises(TypeError, match=r"Op 'f': name must be a Python identifier, got 'my f'"):
        Op("f", abs, lambda x, out: (1.0,), name="my f")
    with pytest.raises(TypeError, match=r"Op 'f': array must be a function of the numpy module, got 3"):
        Op("f", abs, lambda x, out: (1.0,), array=3)  # type: ignore[arg-type]
    op = Op("twice", _twice, _twice_partials, name="twice", array=_twice_array, total=True)
    copy = pickle.loads(pickle.dumps(op))
    assert (str(copy), copy.name, copy.array, copy.total) == ("twice", "twice", _twice_array, True)
    plain = Op("twice", _twice, _twice_partials)
    assert plain.__reduce__() == (Op, ("twice", _twice, _twice_partials))  # as earlier versions pickled it
    assert (plain.name, plain.array, plain.total, plain.arity) == (None, None, False, 1)
    assert engine.MAX.arity is None and engine.DIV.arity == 2 and engine.TANH.arity == 1


def _twice(x):
    return 2 * x


def _twice_partials(x, out):
    return (2.0,)


def _twice_array(np):
    return np.multiply


# Every built-in's forward on numpy arrays against its float forward, at ordinary numbers and at ±0, ±inf,
# nan and a number whose exp overflows. Where the float forward raises (no value there), the replay
# recomputes the number with the float forward and raises as eager does: those points are skipped.
GRID = [-math.inf, -1e300, -710.0, -3.0, -1.0, -0.5, -1e-300, -0.0, 0.0, 1e-300, 0.5, 1.0, 2.0, 710.0, 1e300]
GRID += [math.inf, math.nan]


def same_float(a: float, b: float) -> bool:
    """Equal, with nan equal to nan, zeros of the same sign, and finite numbers to a few units in the last place
    (numpy's exp, log, ... and the C library's may round differently)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if a == 0 or b == 0 or math.isinf(a) or math.isinf(b):
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    return math.isclose(a, b, rel_tol=4e-16, abs_tol=0.0)


def families():
    powers = [engine.power(k) for k in (2, 3, -1, -2, 0, 1, 0.5, 1.5, -0.5)]
    return powers + [engine.leaky_relu_op(alpha) for alpha in (0.01, 0.2, -1.0, math.inf)]


def _id(op: Op) -> str:
    remake = op._remake
    return remake if isinstance(remake, str) else f"{remake[0].__name__}({remake[1][0]})"


def arity_grid(op: Op) -> list[tuple[float, ...]]:
    arity = op.arity
    if arity is None:  # max: one, two and three inputs
        return [(a,) for a in GRID] + [(a, b) for a in GRID for b in GRID] + [(a, b, -a) for a in GRID for b in GRID]
    if arity == 1:
        return [(a,) for a in GRID]
    return [(a, b) for a in GRID for b in GRID]


@pytest.mark.parametrize("op", list(engine.TABLE.values()) + families(), ids=lambda op: _id(op))
def test_every_builtin_forward_on_arrays_is_its_float_forward(op):
    np = pytest.importorskip("numpy")
    if op.array is None:  # + and the n-ary sum: a compiled replay has its own sum kernels; the forward as written
        assert op is engine.ADD or op is engine.SUM
        on_arrays = op.forward
    else:
        on_arrays = op.array(np)
    rows = []
    for xs in arity_grid(op):
        try:
            rows.append((xs, float(op.forward(*xs))))
        except (ValueError, ZeroDivisionError):
            continue  # no value there: eager raises, and so does the replay (by the float forward)
    assert rows
    width = len(rows[0][0])
    for arity in sorted({len(xs) for xs, _ in rows}):
        picked = [(xs, y) for xs, y in rows if len(xs) == arity]
        columns = [np.array([xs[i] for xs, _ in picked], dtype=float) for i in range(arity)]
        with np.errstate(all="ignore"):
            got = np.asarray(on_arrays(*columns), dtype=float)
        bad = [(xs, y, g) for (xs, y), g in zip(picked, got.tolist()) if not same_float(g, y)]
        assert not bad, (str(op), width, bad[:5])


def test_a_users_op_with_an_array_forward_still_has_its_partials_checked_on_arrays() -> None:
    # The user vouches for the forward on arrays (array=), not for the partials: written with a Python `if`,
    # they give no array (an `if` on several numbers raises), so the replay evaluates them element by
    # element and agrees with eager instead of failing. Oracle: the piecewise derivative written out by hand.
    from autograd import compiled, sum_values

    def partials(x: float, out: float) -> tuple[float]:
        return (2.0,) if x > 0 else (3.0,)  # d/dx of 2x for x > 0, 3x below: a kink the user wrote with `if`

    kinked = Op(
        "kinked",
        lambda x: 2.0 * x if x > 0 else 3.0 * x,
        partials,
        array=lambda np: lambda x: np.where(x > 0, 2 * x, 3 * x),
    )
    xs = [Value(v) for v in (1.5, -0.5, 2.0, -4.0)]
    loss = compiled(lambda *vs: sum_values([kinked(v) for v in vs]))(*xs)
    assert loss.data == 2 * 1.5 + 3 * -0.5 + 2 * 2.0 + 3 * -4.0
    assert [v.grad for v in xs] == [2.0, 3.0, 2.0, 3.0]
