"""check_backward: a learner's own micrograd, each classic slip found at its origin, against PyTorch.

The learners' engines are in tests/learners.py (micrograd-lecture style and microgpt style, one
slip injected each). Every expected gradient asserted here comes from PyTorch float64 (the
same expression built on tensors), never from stepgrad.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import pytest
from learners import microgpt_class, micrograd_class

from autograd import Value, backward_steps, check_backward, draw_dot
from autograd.foreign import ForeignGraphError

torch = pytest.importorskip("torch")

STYLES = {"micrograd": micrograd_class, "microgpt": microgpt_class}
POINT = {"x1": 2.0, "x2": -0.5, "w1": -3.0, "w2": 0.75, "b": 6.2}


def neuron(make):
    """A neuron with a product used twice: n = x1w1 + x2w2 + b + x1w1·x2, o = tanh(n). Returns its named nodes."""
    v = {name: make(value, name) for name, value in POINT.items()}
    v["x1w1"] = v["x1"] * v["w1"]
    v["x2w2"] = v["x2"] * v["w2"]
    v["s"] = v["x1w1"] + v["x2w2"]
    v["sb"] = v["s"] + v["b"]
    v["m"] = v["x1w1"] * v["x2"]
    v["n"] = v["sb"] + v["m"]
    v["o"] = v["n"].tanh()
    return v


def learner_graph(style, bug=None):
    cls = STYLES[style](bug)
    nodes = neuron(lambda value, name: cls(value))
    if style == "micrograd":
        for name, node in nodes.items():
            node.label = name
    return nodes


def torch_grads(build=neuron, root="o"):
    """∂root/∂node for every named node, by PyTorch float64."""

    def make(value, name):
        return torch.tensor(value, dtype=torch.float64, requires_grad=True)

    v = build(make)
    for t in v.values():
        if not t.is_leaf:
            t.retain_grad()
    v[root].backward()
    return {name: (1.0 if name == root else None if t.grad is None else t.grad.item()) for name, t in v.items()}


def name_of(nodes, node):
    return next(name for name, n in nodes.items() if n is node)


def assert_origin(nodes, report, truth):
    """The report's first node: its expected value is PyTorch's, its got differs, and every node downstream
    of it (toward the root) holds PyTorch's gradient: it is where the difference starts."""
    first = name_of(nodes, report.first)
    assert report.expected == pytest.approx(truth[first], rel=1e-12, abs=1e-15)
    assert report.got == nodes[first].grad
    assert report.got != pytest.approx(truth[first])
    downstream = {"x1w1": ["s", "m"], "x2": ["x2w2", "m"], "n": ["o"], "sb": ["n"], "m": ["n"], "s": ["sb"]}
    for name in downstream.get(first, []):
        assert nodes[name].grad == pytest.approx(truth[name], rel=1e-12)
    return first


# --------------------------------------------------------------------------- right engines


@pytest.mark.parametrize("style", STYLES)
def test_a_right_engine_is_ok_and_agrees_with_pytorch(style):
    nodes = learner_graph(style)
    nodes["o"].backward()
    truth = torch_grads()
    for name, node in nodes.items():
        assert node.grad == pytest.approx(truth[name], rel=1e-12)  # the learner's engine is right
    report = check_backward(nodes["o"])
    assert report.ok and report.first is None and not report.unchecked
    assert report.checked == len(nodes)
    assert "right" in str(report)


def test_microgpt_tanh_and_pow_log_exp_relu_are_inferred_without_an_op_symbol():
    V = microgpt_class()

    def build(make):
        v = {"a": make(1.3, "a"), "b": make(-0.4, "b")}
        v["p"] = v["a"] ** 3
        v["e"] = v["b"].exp()
        v["l"] = v["p"].log()
        v["r"] = (v["a"] * v["b"]).relu() if make is not None else None
        v["s"] = v["l"] * v["e"] + v["a"] * 2.5
        v["o"] = v["s"].tanh()
        return v

    nodes = build(lambda value, name: V(value))
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    assert report.ok, str(report)
    assert not report.unchecked, str(report)


# --------------------------------------------------------------------------- each classic slip


@pytest.mark.parametrize("style", STYLES)
def test_assign_instead_of_accumulate_is_found_where_a_value_is_used_twice(style):
    nodes = learner_graph(style, "assign")
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    assert not report.ok
    first = assert_origin(nodes, report, torch_grads())
    assert first in ("x1w1", "x2")  # the two values used twice
    assert "`=` where `+=` accumulates" in report.cause
    assert "used twice" in str(report)


def test_the_lectures_a_plus_a_bug():
    V = micrograd_class("assign")
    a = V(3.0, label="a")
    b = a + a
    b.label = "b"
    b.backward()
    assert a.grad == 1.0  # the lecture's bug: should be 2
    report = check_backward(b)
    assert report.first is a and report.expected == 2.0 and report.got == 1.0
    assert "`=` where `+=`" in report.cause
    c = a * a  # a·a: one parent in the set, two operands
    c.backward()
    report = check_backward(c)
    assert report.first is a and report.expected == 6.0 and report.got == 3.0


@pytest.mark.parametrize("style", STYLES)
def test_missing_upstream_factor(style):
    nodes = learner_graph(style, "upstream")
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    assert not report.ok
    first = assert_origin(nodes, report, torch_grads())
    if style == "microgpt":  # every op forgets it: the first is the tanh's input's input
        assert first == "sb" or first == "m"
    assert "upstream gradient" in report.cause and "is missing" in report.cause


@pytest.mark.parametrize("style", STYLES)
def test_tanh_derivative_from_the_input(style):
    nodes = learner_graph(style, "tanh_input")
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    first = assert_origin(nodes, report, torch_grads())
    assert first == "n"
    assert report.expected == pytest.approx(1 - math.tanh(nodes["n"].data) ** 2, rel=1e-12)
    assert "tanh's derivative at" in report.cause and "from its input" in report.cause


@pytest.mark.parametrize("style", STYLES)
def test_stale_gradients_from_an_earlier_backward(style):
    nodes = learner_graph(style)
    nodes["o"].backward()
    nodes["o"].backward()  # no zero_grad in between
    report = check_backward(nodes["o"])
    first = assert_origin(nodes, report, torch_grads())
    assert first == "n"
    assert report.got == pytest.approx(2 * report.expected)
    assert "earlier backward()" in report.cause and "2 passes" in report.cause


@pytest.mark.parametrize("style", STYLES)
def test_wrong_order_without_reversed(style):
    nodes = learner_graph(style, "order")
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    first = assert_origin(nodes, report, torch_grads())
    assert first in ("sb", "m")  # n is right (o pushes last); its parents got nothing
    assert "wrong order" in report.cause and "reversed()" in report.cause


def deep_and_shallow(make):
    """c is used near the output (u = c + …) and far from it (c·b·b): breadth-first visits it too early."""
    v = {"a": make(1.5, "a"), "b": make(-0.8, "b")}
    v["c"] = v["a"] * v["b"]
    v["cb"] = v["c"] * v["b"]
    v["cbb"] = v["cb"] * v["b"]
    v["u"] = v["c"] + v["cbb"]
    v["o"] = v["u"].tanh()
    return v


@pytest.mark.parametrize("style", STYLES)
def test_wrong_order_breadth_first(style):
    V = STYLES[style]("bfs")
    nodes = deep_and_shallow(lambda value, name: V(value))
    if style == "micrograd":
        for name, node in nodes.items():
            node.label = name
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    truth = torch_grads(deep_and_shallow)
    first = name_of(nodes, report.first)
    assert first in ("a", "b")  # c itself ends right, but passed on only u's part: a and b got too little
    assert report.expected == pytest.approx(truth[first], rel=1e-12)
    for name in ("u", "c", "cb", "cbb"):
        assert nodes[name].grad == pytest.approx(truth[name], rel=1e-12)
    assert "breadth-first" in report.cause and "passed its gradient on before it was complete" in report.cause
    if style == "micrograd":
        assert "(c)" in report.cause


def test_no_cause_is_claimed_where_no_slip_fits():
    nodes = learner_graph("micrograd")
    nodes["o"].backward()
    nodes["w2"].grad += 0.125  # an arbitrary wrong number
    report = check_backward(nodes["o"])
    assert report.first is nodes["w2"] and report.causes == []
    assert "no common slip fits" in str(report)


# --------------------------------------------------------------------------- unchecked


def test_an_unknown_op_is_listed_unchecked_with_what_flows_through_it():
    V = micrograd_class()
    x = V(0.7, label="x")
    w = V(1.5, label="w")
    odd = V(x.data * 3, (x,), "triple", label="odd")  # a learner's own op, unknown to stepgrad

    def _backward():
        x.grad += 3 * odd.grad

    odd._backward = _backward
    o = (odd * w).tanh()
    o.backward()
    report = check_backward(o)
    assert report.ok
    reasons = {u.name: u.reason for u in report.unchecked}
    assert "'triple'" in reasons["odd"] and "no rule" in reasons["odd"]
    assert reasons["x"] == "its gradient flows through odd"
    assert "unchecked (2)" in str(report)


def test_microgpt_local_grads_are_used_where_the_op_cannot_be_told():
    V = microgpt_class()
    a, b = V(2.0), V(2.0)
    c = a * b  # 2·2 = 2+2 = 2**2: the op cannot be told from the data
    c.grad = 1
    c.backward()
    report = check_backward(c)
    assert report.ok
    assert "your _local_grads are used" in report.unchecked[0].reason


def test_data_that_does_not_match_the_op_is_unchecked():
    V = micrograd_class()
    a = V(2.0, label="a")
    c = a + 1.0
    c.data = 10.0  # the learner changed a node's data after building it
    c.backward()
    report = check_backward(c)
    assert "is not +(" in report.unchecked[0].reason


# --------------------------------------------------------------------------- safety


def test_a_cycle_is_an_error_naming_a_node():
    V = micrograd_class()
    a = V(1.0, label="a")
    b = a + 1
    b.label = "b"
    a._prev = {b}
    b.grad = 1.0
    with pytest.raises(ForeignGraphError, match="cycle through node '[ab]'"):
        check_backward(b)


def test_too_many_nodes_is_a_clear_error():
    V = microgpt_class()
    x = V(1.0)
    for _ in range(50):
        x = x + 1.0
    x.grad = 1
    with pytest.raises(ForeignGraphError, match="more than max_nodes=20"):
        check_backward(x, max_nodes=20)


def test_a_200k_node_chain_is_checked_without_recursion_in_bounded_time():
    V = microgpt_class()
    x = start = V(0.5)
    k = V(1.0000001)
    for _ in range(200_000):
        x = x * k
    x.backward()  # the learners' engine here walks iteratively
    t0 = time.perf_counter()
    report = check_backward(x)
    assert time.perf_counter() - t0 < 90  # about 10 s on a busy machine
    assert report.ok and report.checked == 200_002
    assert start.grad == pytest.approx(1.0000001**200_000, rel=1e-9)


def test_ints_and_numpy_scalars():
    np = pytest.importorskip("numpy")
    V = micrograd_class()
    a = V(np.float64(1.5), label="a")
    b = V(3, label="b")
    c = a * b + np.int64(2)
    c.backward()
    assert check_backward(c).ok
    b.grad = np.float32(0.5)  # wrong, as a numpy scalar
    report = check_backward(c)
    assert report.first is b and report.expected == 1.5 and report.got == 0.5


def test_a_graph_mixing_stepgrad_values():
    V = microgpt_class()
    p, q = Value(1.5, label="p"), Value(-2.0, label="q")
    s = p * q + p  # a stepgrad computation inside the learner's graph
    x = V(0.3)
    o = (V(s.data, (s,), (1,)) * x).tanh()  # wrapped as the learner's node
    o.backward()  # microgpt's loop reads stepgrad's _children and _local_grads
    report = check_backward(o)
    assert report.ok, str(report)
    truth_p = (1 - math.tanh(s.data * 0.3) ** 2) * 0.3 * (q.data + 1)
    assert p.grad == pytest.approx(truth_p, rel=1e-12)
    p.grad = 0.0
    assert check_backward(o).first is p


class Forbidden(Exception):
    pass


def test_the_check_reads_attributes_only():
    V = micrograd_class()

    class Guarded(V):
        locked = False

        def __getattribute__(self, name):
            if type(self).locked:
                raise Forbidden(name)
            return super().__getattribute__(name)

        def __repr__(self):
            raise Forbidden("repr")

        def __eq__(self, other):
            raise Forbidden("eq")

        __hash__ = object.__hash__

    a = Guarded(2.0, label="a")
    b = Guarded(-1.0, label="b")
    c = Guarded(a.data * b.data, (a, b), "*", label="c")

    def _backward():
        a.grad += b.data * c.grad
        b.grad += a.data * c.grad

    c._backward = _backward
    c.backward()
    Guarded.locked = True
    try:
        report = check_backward(c)
        assert report.ok
        str(report)
    finally:
        Guarded.locked = False


def test_a_property_on_the_learners_class_is_refused_not_run():
    class P:
        def __init__(self, data):
            self._d = data
            self.grad = 1.0
            self._prev = set()

        @property
        def data(self):
            raise Forbidden("the property ran")

    with pytest.raises(ForeignGraphError, match="P.data is a property"):
        check_backward(P(1.0))


def test_bad_options_are_named():
    V = micrograd_class()
    c = V(1.0) * 2
    c.backward()
    with pytest.raises(ValueError, match=r"check_backward\(rel_tol=...\) must be a finite number >= 0, got -1"):
        check_backward(c, rel_tol=-1)
    with pytest.raises(ValueError, match=r"check_backward\(max_nodes=...\) must be a positive int, got 0"):
        check_backward(c, max_nodes=0)


def test_not_a_graph_and_no_backward_are_clear_errors():
    with pytest.raises(ForeignGraphError, match="has no data attribute"):
        check_backward(object())
    V = micrograd_class()
    with pytest.raises(ValueError, match="run your engine's backward"):
        check_backward(V(1.0) * 2)


# --------------------------------------------------------------------------- drawn and stepped


def test_report_draw_marks_the_first_wrong_node():
    nodes = learner_graph("micrograd", "tanh_input")
    nodes["o"].backward()
    report = check_backward(nodes["o"])
    source = report.draw().source
    assert "first wrong gradient: n: expected" in source
    wrong_line = next(line for line in source.splitlines() if "{ n |" in line)
    assert "#ef9a9a" in wrong_line and "right: " in wrong_line


def test_draw_dot_and_backward_steps_take_a_learners_graph():
    nodes = learner_graph("micrograd", "upstream")
    nodes["o"].backward()
    source = draw_dot(nodes["o"]).source
    assert "{ x1 | data 2.0000 | grad " in source  # the learner's labels, data and grads
    steps = backward_steps(nodes["o"])
    text = steps.explain()
    truth = torch_grads()
    assert steps[-1].node._op == "*"
    assert f"stepgrad's after the pass = {truth['w2']:.4f}" in text
    assert "✗ differs" in text
    page = steps.to_html()  # the player's page: each frame's text carries the learner's numbers too
    assert "your engine" in page and page.count("<svg") == 1


# --------------------------------------------------------------------------- the command line

SCRIPT = """
import math, sys
sys.path.insert(0, {tests!r})
from learners import micrograd_class
Value = micrograd_class({bug!r})
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
loss = (a * b + a).tanh()
loss.label = "loss"
loss.backward()
helper = 3  # not a node
"""


def run_check(tmp_path, bug, *args):
    import pathlib

    tests = str(pathlib.Path(__file__).resolve().parent)
    script = tmp_path / "mine.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tests=tests, bug=bug)))
    return subprocess.run(
        [sys.executable, "-m", "nn", "check", str(script), *args], capture_output=True, text=True, timeout=120
    )


def test_cli_check_exit_codes(tmp_path):
    right = run_check(tmp_path, None)
    assert right.returncode == 0, right.stderr
    assert "check_backward(loss): all 5 gradients checked are right" in right.stdout
    wrong = run_check(tmp_path, "assign")
    assert wrong.returncode == 1, wrong.stderr
    assert "the first, in backward order" in wrong.stdout and "`=` where `+=`" in wrong.stdout
    named = run_check(tmp_path, None, "--root", "helper")
    assert named.returncode == 2 and "helper" in named.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "nn", "check", str(tmp_path / "nope.py")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "nope.py" in missing.stderr


def test_cli_check_a_failing_script_and_a_script_without_roots(tmp_path):
    failing = tmp_path / "failing.py"
    failing.write_text("raise RuntimeError('my bug')\n")
    result = subprocess.run([sys.executable, "-m", "nn", "check", str(failing)], capture_output=True, text=True)
    assert result.returncode == 2 and "raised RuntimeError: my bug" in result.stderr
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    result = subprocess.run([sys.executable, "-m", "nn", "check", str(empty)], capture_output=True, text=True)
    assert result.returncode == 2 and "no micrograd-like root" in result.stderr


def test_a_stepgrad_graph_checks_against_itself_and_a_user_op():
    from autograd import Op

    softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
    x = Value(0.8, label="x")
    y = softsign(x * x + x)
    y.backward()
    assert x.grad == pytest.approx((2 * 0.8 + 1) / (1 + 0.8**2 + 0.8) ** 2, rel=1e-12)
    report = check_backward(y)
    assert report.ok and not report.unchecked and report.checked == 4


@pytest.mark.parametrize("style", STYLES)
def test_random_graphs_right_engines_ok_and_a_wrong_leaf_found(style):
    """Random DAGs with reuse (+, *, tanh, exp, **2) from a fixed seed: a right engine is ok; a leaf's gradient
    changed by hand is the only difference, with PyTorch's value expected there."""
    import random

    V = STYLES[style]()
    for seed in range(12):

        def build(make, rng=None):
            rng = random.Random(seed)
            pool = [make(round(rng.uniform(-1.5, 1.5), 3), f"x{i}") for i in range(3)]
            for _ in range(10):
                a, b = rng.choice(pool), rng.choice(pool)
                kind = rng.randrange(5)
                if kind == 0:
                    pool.append(a + b)
                elif kind == 1:
                    pool.append(a * b)
                elif kind == 2:
                    pool.append(a.tanh())
                elif kind == 3:
                    pool.append((a * 0.3).exp())
                else:
                    pool.append(a**2)
            out = pool[-1]
            for node in pool[3:-1]:
                out = out + node * 0.5
            return {**{f"x{i}": pool[i] for i in range(3)}, "out": out}

        nodes = build(lambda value, name: V(value))
        nodes["out"].backward()
        truth = torch_grads(build, "out")
        report = check_backward(nodes["out"])
        assert report.ok and not report.unchecked, (seed, str(report))
        name = next(f"x{i}" for i in range(3) if truth[f"x{i}"] is not None)  # a leaf the output uses
        for i in range(3):
            if truth[f"x{i}"] is not None:
                assert nodes[f"x{i}"].grad == pytest.approx(truth[f"x{i}"], rel=1e-9, abs=1e-12)
        nodes[name].grad += 0.25
        report = check_backward(nodes["out"])
        assert [m.node for m in report.mismatches] == [nodes[name]], (seed, str(report))
        assert report.expected == pytest.approx(truth[name], rel=1e-9, abs=1e-12)


def test_cli_check_runs_a_learners_own_nn_py_not_stepgrads(tmp_path):
    """micrograd's layout: engine.py and nn.py beside the script; `from nn import Neuron` is the learner's."""
    (tmp_path / "engine.py").write_text(
        "class Value:\n"
        "    def __init__(self, data, _children=(), _op=''):\n"
        "        self.data, self.grad, self._prev, self._op = data, 0.0, set(_children), _op\n"
        "        self._backward = lambda: None\n"
        "    def __add__(self, other):\n"
        "        other = other if isinstance(other, Value) else Value(other)\n"
        "        out = Value(self.data + other.data, (self, other), '+')\n"
        "        def _backward():\n"
        "            self.grad += out.grad\n"
        "            other.grad += out.grad\n"
        "        out._backward = _backward\n"
        "        return out\n"
        "    def __mul__(self, other):\n"
        "        other = other if isinstance(other, Value) else Value(other)\n"
        "        out = Value(self.data * other.data, (self, other), '*')\n"
        "        def _backward():\n"
        "            self.grad += other.data * out.grad\n"
        "            other.grad += self.data * out.grad\n"
        "        out._backward = _backward\n"
        "        return out\n"
        "    def backward(self):\n"
        "        topo, seen = [], set()\n"
        "        def build(v):\n"
        "            if v not in seen:\n"
        "                seen.add(v)\n"
        "                for c in v._prev:\n"
        "                    build(c)\n"
        "                topo.append(v)\n"
        "        build(self)\n"
        "        self.grad = 1.0\n"
        "        for v in reversed(topo):\n"
        "            v._backward()\n"
    )
    (tmp_path / "nn.py").write_text(
        "from engine import Value\n\n"
        "class Neuron:\n"
        "    def __init__(self, w, b):\n"
        "        self.w, self.b = [Value(x) for x in w], Value(b)\n"
        "    def __call__(self, x):\n"
        "        out = self.b\n"
        "        for wi, xi in zip(self.w, x):\n"
        "            out = out + wi * xi\n"
        "        return out\n"
    )
    (tmp_path / "train.py").write_text(
        "from nn import Neuron\n\nn = Neuron([0.5, -1.5], 0.25)\n"
        "loss = n([2.0, 3.0]) * n([2.0, 3.0])\nloss.backward()\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "nn", "check", str(tmp_path / "train.py")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all" in result.stdout and "gradients checked are right" in result.stdout
