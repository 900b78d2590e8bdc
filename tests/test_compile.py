"""autograd.compiled: compiled == eager (random DAGs over every op and user-defined ops, micrograd's demo
step, the GPT), PyTorch float64 as an outside oracle, retracing, frozen reads, the engine's numeric
policy on replay, returned values, bad input, and numpy as an optional dependency."""

from __future__ import annotations

import copy
import inspect
import math
import pickle
import random
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracles import PROGRAM_OPS, engine_functions, program_is_tame, program_strategy

import autograd
from autograd import Op, TraceError, TracerWarning, Value, compiled, no_grad, sum_values
from nn import MLP, document_loss, softmax
from nn.gpt import GPT, eager_step

sys.path.insert(0, str(Path(__file__).resolve().parent / "benchmarks"))
from bench_compile import _w1_loss  # noqa: E402 - micrograd's demo step, exactly as benchmarked
from bench_engine import _moons  # noqa: E402

np = pytest.importorskip("numpy")  # the compile extra; present wherever the dev extra is installed

# --------------------------------------------------------------------------- comparing two evaluations


def same(a: float, b: float, rel: float = 1e-12) -> bool:
    """a == b to ``rel`` relative (1e-300 absolute), with nan == nan and ±inf == ±inf."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * abs(b) + 1e-300


def assert_same(got: list[float], expected: list[float], rel: float = 1e-12, what: str = "") -> None:
    assert len(got) == len(expected)
    bad = [(i, g, e) for i, (g, e) in enumerate(zip(got, expected)) if not same(g, e, rel)]
    assert not bad, f"{what}: {len(bad)} of {len(got)} differ, e.g. {bad[:3]}"


# --------------------------------------------------------------------------- user-defined ops
# Each kind a compiled program meets: a forward and partials that take arrays; a forward written with
# math.* (element by element) and partials that take arrays; both written with math.* (element by
# element); partials that use autograd's functions; a two-input op.

softsign = Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / (1 + abs(x)) ** 2,))
hypot = Op("hypot", lambda a, b: math.hypot(a, b), lambda a, b, out: (a / out, b / out))
x_sin_x = Op("x·sin x", lambda x: x * math.sin(x), lambda x, out: (math.sin(x) + x * math.cos(x),))
K = 1.702
gelu_sigmoid = Op(
    "gelu_sigmoid",
    lambda x: x * autograd.sigmoid(K * x),
    lambda x, out: (autograd.sigmoid(K * x) + K * x * autograd.sigmoid(K * x) * (1 - autograd.sigmoid(K * x)),),
)

ALL_OPS = dict(PROGRAM_OPS)
ALL_OPS.update(
    {
        "softsign": lambda F, a, b: softsign(a),
        "hypot": lambda F, a, b: hypot(a, b + 1.5),  # never (0, 0): hypot's partials divide by it
        "x_sin_x": lambda F, a, b: x_sin_x(a),
        "gelu_sigmoid": lambda F, a, b: gelu_sigmoid(a),
        "sum_values": lambda F, a, b: sum_values([a, b, a * b]),
        "dot": lambda F, a, b: autograd.dot([a, b, 2.0], [b, b, a]),
    }
)
USER_OPS = ("softsign", "hypot", "x_sin_x", "gelu_sigmoid")


def run(program: list[tuple[str, int, int]], leaves: list[Value]) -> Value:
    nodes = list(leaves)
    F = engine_functions()
    for op, i, j in program:
        nodes.append(ALL_OPS[op](F, nodes[i % len(nodes)], nodes[j % len(nodes)]))
    return nodes[-1]


def all_ops_program() -> st.SearchStrategy:
    instruction = st.tuples(st.sampled_from(sorted(ALL_OPS)), st.integers(0, 50), st.integers(0, 50))
    leaf = st.floats(-2.0, 2.0, allow_nan=False).map(lambda v: round(v, 3))
    return st.tuples(st.lists(leaf, min_size=3, max_size=6), st.lists(instruction, min_size=1, max_size=9))


class Leaves:
    """A program's leaves in the three roles a compiled function meets: leaf 0, 3, … is a parameter
    (a Value made outside the function), 1, 4, … a Value argument, 2, 5, … a number argument."""

    def __init__(self, point: list[float]):
        self.params = [Value(x) for x in point[0::3]]
        self.values = [Value(x) for x in point[1::3]]
        self.numbers = list(point[2::3])

    def move_to(self, point: list[float]) -> None:
        for p, x in zip(self.params, point[0::3]):
            p.data = x
        self.values = [Value(x) for x in point[1::3]]
        self.numbers = list(point[2::3])

    @staticmethod
    def interleave(params: list[Value], values: list[Value], numbers: list[Value]) -> list[Value]:
        out: list[Value] = []
        for k in range(len(params) + len(values) + len(numbers)):
            out.append([params, values, numbers][k % 3][k // 3])
        return out

    def grads(self) -> list[float]:
        return [v.grad for v in self.params + self.values]

    def zero(self) -> None:
        for v in self.params + self.values:
            v.grad = 0.0


def eager(program: list[tuple[str, int, int]], point: list[float]) -> tuple[float, list[float]] | Exception:
    """The eager engine's loss and gradients (parameters, then Value arguments), or the error it raises."""
    leaves = [Value(x) for x in point]
    try:
        out = run(program, leaves)
        out.backward()
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        return error
    order = list(range(0, len(point), 3)) + list(range(1, len(point), 3))  # as Leaves.grads()
    return out.data, [leaves[i].grad for i in order]


def compiled_call(step, leaves: Leaves) -> tuple[float, list[float]] | Exception:
    leaves.zero()
    try:
        out = step(leaves.values, leaves.numbers)
    except (ValueError, ZeroDivisionError, OverflowError) as error:
        return error
    return out.data, leaves.grads()


def assert_agree(got, expected, where: str) -> None:
    if isinstance(expected, Exception):
        assert isinstance(got, Exception), f"{where}: eager raised {expected!r}, compiled returned {got}"
        assert type(got) is type(expected) and str(got) == str(expected), where
        return
    assert not isinstance(got, Exception), f"{where}: compiled raised {got!r}, eager gave {expected}"
    assert same(got[0], expected[0]), (where, got[0], expected[0])
    assert_same(got[1], expected[1], what=where)


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(all_ops_program(), st.integers(0, 2**32 - 1))
def test_random_dags_over_every_op_compiled_equal_eager(case, seed):
    """Trace at one point, replay at the same point and at another: loss and every gradient equal eager's
    to 1e-12 relative, or the same error with the same message."""
    point, program = case
    leaves = Leaves(point)

    def fn(values, numbers):
        return run(program, Leaves.interleave(leaves.params, values, numbers))

    step = compiled(fn)
    expected = eager(program, point)
    first = compiled_call(step, leaves)
    if isinstance(expected, Exception):  # the trace is the eager call: it raises what eager raises
        assert_agree(first, expected, "trace")
        return
    assert first[0] == expected[0] and first[1] == expected[1]  # the trace is the eager computation itself
    assert_agree(compiled_call(step, leaves), expected, "replay at the traced point")
    rng = random.Random(seed)
    moved = [round(x + rng.uniform(-1.5, 1.5), 3) for x in point]
    leaves.move_to(moved)
    assert_agree(compiled_call(step, leaves), eager(program, moved), f"replay at {moved}")
    assert step.traces == 1 and step.replays == 2


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.filter_too_much])
@given(program_strategy(max_leaves=3, max_ops=7))
def test_random_dags_compiled_agree_with_pytorch_float64(case):
    """An outside oracle for the replayed numbers: PyTorch in float64, at a point the trace did not see."""
    pytest.importorskip("torch")
    from oracles import TorchFunctions, run_program, torch_value_and_grad

    point, program = case
    moved = [round(x * 0.9 + 0.05, 3) for x in point]
    assume(program_is_tame(program, point) and program_is_tame(program, moved))
    leaves = [Value(x) for x in point]
    step = compiled(lambda: run_program(program, leaves, engine_functions()))
    step()
    for leaf, x in zip(leaves, moved):
        leaf.data = x
        leaf.grad = 0.0
    out = step()
    value, grads = torch_value_and_grad(lambda *ts: run_program(program, ts, TorchFunctions()), moved)
    assert out.data == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert [leaf.grad for leaf in leaves] == pytest.approx(grads, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("name", USER_OPS)
def test_user_defined_ops_compile_with_no_extra_code(name):
    """Each user op compiles: on arrays where its forward and partials take arrays, element by element
    where they use math.* — the program says which — and the replay equals eager."""
    op = {"softsign": softsign, "hypot": hypot, "x_sin_x": x_sin_x, "gelu_sigmoid": gelu_sigmoid}[name]
    w = Value(0.7)

    def fn(xs):
        return sum_values([op(*([x * w] if op is not hypot else [x * w, x + 1.0])) for x in xs])

    step = compiled(fn)
    step([0.5, -1.25, 2.0])
    w.grad = 0.0
    out = step([-0.3, 1.5, 0.25])
    w_eager = Value(0.7)
    expected = sum_values(
        [op(*([x * w_eager] if op is not hypot else [x * w_eager, x + 1.0])) for x in (-0.3, 1.5, 0.25)]
    )
    expected.backward()
    assert same(out.data, expected.data) and same(w.grad, w_eager.grad)
    (program,) = step.programs
    uses_math = {"softsign": False, "hypot": True, "x_sin_x": True, "gelu_sigmoid": False}[name]
    assert (str(op) in program.stats.element_wise) == uses_math


# --------------------------------------------------------------------------- micrograd's demo step (W1)


def test_micrograds_demo_step_compiled_equals_eager_for_ten_sgd_steps():
    X, y = _moons()
    random.seed(1337)
    ours, theirs = MLP(2, [16, 16, 1]), MLP(2, [16, 16, 1])
    for p, q in zip(ours.parameters(), theirs.parameters()):
        q.data = p.data
    step = compiled(_w1_loss(ours, y))
    eager_loss = _w1_loss(theirs, y)
    for k in range(10):
        ours.zero_grad()
        theirs.zero_grad()
        got = step(X)
        expected = eager_loss([[Value(a), Value(b)] for a, b in X])
        expected.backward()
        assert same(got.data, expected.data), k
        assert_same([p.grad for p in ours.parameters()], [p.grad for p in theirs.parameters()], what=f"step {k}")
        learning_rate = 1.0 - 0.9 * k / 100
        for model in (ours, theirs):
            for p in model.parameters():
                p.data -= learning_rate * p.grad
    (program,) = step.programs
    s = program.stats
    assert (step.traces, step.replays) == (1, 9)
    assert s.nodes_traced == len(autograd.topological_order(expected)) == 38_718
    assert s.parameters == 337 and s.inputs == 200
    assert s.levels_traced > 300 and s.levels < 15  # micrograd's sum() chains flattened into n-ary sums
    assert s.kernels == len(program.kernels()) and s.kernels <= s.levels + 2
    # every node of the traced graph is a leaf (constant, parameter, input) or computed by one kernel
    assert sum(n for _, _, n in program.kernels()) == s.nodes_traced - s.constants - s.parameters - s.inputs
    assert [op for _, op, _ in program.kernels()].count("Σ a·b") >= 3  # the layers, as dot products


def test_micrograds_demo_step_compiled_agrees_with_pytorch_float64():
    """The replayed loss and all 337 gradients against the same network in PyTorch (float64)."""
    torch = pytest.importorskip("torch")
    from nn import to_torch

    X, y = _moons()
    model = MLP(2, [16, 16, 1], seed=3)
    step = compiled(_w1_loss(model, y))
    step(X)
    for p in model.parameters():  # a replay at other weights than the trace's
        p.data *= 0.9
        p.grad = 0.0
    loss = step(X)
    net = to_torch(model)
    scores = net(torch.tensor(X, dtype=torch.float64)).squeeze(1)
    labels = torch.tensor(y, dtype=torch.float64)
    total = torch.relu(1 - labels * scores).mean() + 1e-4 * sum((p * p).sum() for p in net.parameters())
    total.backward()
    assert loss.data == pytest.approx(total.item(), rel=1e-12)
    layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    expected = []
    for layer, linear in zip(model.layers, layers):
        for i, neuron in enumerate(layer.neurons):
            expected += [linear.weight.grad[i, j].item() for j in range(len(neuron.w))] + [linear.bias.grad[i].item()]
    got = [
        g for layer in model.layers for neuron in layer.neurons for g in [w.grad for w in neuron.w] + [neuron.b.grad]
    ]
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("poison", [math.inf, -math.inf, math.nan, 1e308])
def test_non_finite_weights_in_matrix_products_follow_the_engines_rules(poison):
    """micrograd's demo network computes its layers as matrix products; a weight of ±inf or nan (or one
    that overflows) gives the eager engine's numbers, with zero factors contributing nothing."""
    X, y = _moons(40)
    ours = MLP(2, [16, 16, 1], seed=5)
    theirs = MLP(2, [16, 16, 1], seed=5)
    step = compiled(_w1_loss(ours, y))
    step(X)
    for model in (ours, theirs):
        model.layers[1].neurons[3].w[7].data = poison
        model.layers[0].neurons[2].w[1].data = -poison
        model.zero_grad()
    got = step(X)
    expected = _w1_loss(theirs, y)([[Value(a), Value(b)] for a, b in X])
    expected.backward()
    assert same(got.data, expected.data)
    assert_same([p.grad for p in ours.parameters()], [p.grad for p in theirs.parameters()], what=str(poison))
    assert any(p.grad == 0.0 for p in ours.parameters())  # gradients stopped by zero factors, not nan


# --------------------------------------------------------------------------- the GPT


@pytest.fixture(scope="module")
def gpt_setup():
    from nn import CharTokenizer, load_names

    names = load_names()
    return GPT(seed=7), CharTokenizer.from_documents(names)


def test_gpt_compiled_equals_eager_on_every_gradient(gpt_setup):
    """Documents of four lengths, one length twice (a replay): the loss and all 4,192 gradients equal
    the eager step's — microgpt's graph, tokens as indices — to 1e-12."""
    model, tokenizer = gpt_setup
    step = compiled(lambda inputs, targets: document_loss(model, inputs, targets))
    params = model.parameters()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TracerWarning)  # softmax's shift: tested below
        for doc in ("emma", "olivia", "ava", "anna", "christopher"):
            tokens = tokenizer.encode(doc)
            model.zero_grad()
            expected_loss = eager_step(model, *model.inputs_and_targets(tokens))
            expected = [p.grad for p in params]
            model.zero_grad()
            got = step(*model.inputs_and_targets(tokens, one_hot=True))
            assert same(got.data, expected_loss), doc
            assert_same([p.grad for p in params], expected, what=doc)
    assert step.traces == 4 and step.replays == 1  # "anna" has the length of "emma"


# --------------------------------------------------------------------------- structures and the cache


def test_a_new_input_structure_is_traced_and_returns_the_eager_result():
    w = Value(2.0)
    step = compiled(lambda xs: sum_values([x * w for x in xs]).tanh())
    first = step([0.1, 0.2])
    assert first.parents and first.data == math.tanh(0.1 * 2.0 + 0.2 * 2.0)  # the eager node, with its graph
    second = step([0.3, 0.4, 0.5])  # three numbers: another structure
    assert second.parents and step.traces == 2 and step.replays == 0
    third = step([0.5, 0.5])
    assert not third.parents and step.traces == 2 and step.replays == 1  # a replay: a new leaf
    assert third.data == pytest.approx(math.tanh(2.0))
    assert third.grad == 1.0  # ∂loss/∂loss, as the eager root after backward()
    assert len(step.programs) == 2
    step.clear()
    step([0.5, 0.5])
    assert step.traces == 3


def test_nesting_and_value_arguments_are_structure():
    """Nesting, lengths, list or tuple, number or Value, and which Value arguments are the same object."""
    step = compiled(lambda a, b: a[0] * b[0] + a[1] * b[1])
    x, y = Value(1.0), Value(2.0)
    step([1.0, 2.0], [3.0, 4.0])
    step((1.0, 2.0), [3.0, 4.0])
    step([x, 2.0], [3.0, 4.0])
    step([x, y], [3.0, 4.0])
    step([x, x], [3.0, 4.0])  # one Value twice: another program (its gradient is the sum of both uses)
    assert step.traces == 5
    x.grad = 0.0
    z = Value(5.0)
    out = step([z, z], [3.0, 4.0])  # replays the x, x program
    assert step.replays == 1 and out.data == 35.0 and z.grad == 7.0


def test_a_structure_beyond_the_cache_is_an_error_and_computes_nothing():
    w = Value(1.0)
    step = compiled(lambda xs: sum_values([x * w for x in xs]), cache_size=2)
    step([1.0])
    step([1.0, 2.0])
    w.grad = 0.0
    with pytest.raises(ValueError) as info:
        step([1.0, 2.0, 3.0])
    message = str(info.value)
    assert "cache already holds 2 programs (cache_size=2)" in message and "larger cache_size" in message
    assert "nothing was computed" in message and w.grad == 0.0
    step([4.0])  # the cached structures still replay
    assert w.grad == 4.0


def test_gradients_accumulate_like_backward_and_reach_value_arguments():
    w = Value(3.0)
    step = compiled(lambda x, c: x * x * w + c)
    x = Value(2.0)
    step(x, 1.0)  # traced: eager backward, w.grad = x² = 4, x.grad = 2xw = 12
    step(x, 1.0)  # replayed: accumulates, as a second backward() would
    assert (w.grad, x.grad) == (8.0, 24.0)
    other = Value(-1.0)
    step(other, 5.0)
    assert (w.grad, other.grad, x.grad) == (9.0, -6.0, 24.0)


def test_parameters_are_read_fresh_on_every_call():
    w = Value(1.0)
    step = compiled(lambda x: x * w)
    assert step(2.0).data == 2.0
    w.data = 10.0  # an optimizer's update between calls
    assert step(2.0).data == 20.0


def test_what_a_replay_returns():
    """The loss, then anything: Values computed inside come back as new leaves with their numbers and
    their gradients ∂loss/∂v; parameters and Value arguments as themselves; other objects as they were."""
    w = Value(0.5)

    def fn(x, n):
        h = x * w
        loss = (h * n).tanh()
        return loss, [h, {"label": "kept"}], (w, x), 7

    step = compiled(fn)
    x = Value(2.0)
    step(x, 3.0)
    out = step(x, 3.0)
    loss, (h, kept), (param, value), seven = out
    assert loss.data == pytest.approx(math.tanh(3.0)) and not loss.parents and loss.grad == 1.0
    assert h.data == 1.0 and h.grad == pytest.approx(3.0 * (1 - math.tanh(3.0) ** 2))  # ∂loss/∂h
    assert kept == {"label": "kept"} and seven == 7
    assert param is w and value is x


def test_a_constant_loss_and_a_loss_that_is_a_parameter():
    w = Value(4.0)
    step = compiled(lambda: w)
    step()
    out = step()
    assert out is w and w.grad == 2.0  # backward() of a leaf adds 1 each time
    const = compiled(lambda x: Value(2.0) * 3.0 + 0 * x)
    const(1.0)
    assert const(5.0).data == 6.0


# --------------------------------------------------------------------------- frozen reads


def _softmax_with_a_shift_read_from_data(zs):
    """A user's softmax that reads its shift with .data: frozen at trace time (nn.losses' shift is a node)."""
    m = max(v.data for v in zs)
    e = [(v - m).exp() for v in zs]
    return e[0] / sum(e)


def test_a_number_read_from_data_warns_once_naming_the_line():
    source, first = inspect.getsourcelines(_softmax_with_a_shift_read_from_data)
    line = first + next(i for i, text in enumerate(source) if "max(v.data" in text)
    step = compiled(_softmax_with_a_shift_read_from_data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        step([1.0, 2.0, 3.0])
        step([1.0, 2.0, 3.0, 4.0])  # another trace: the same line warns no more
        step([5.0, 1.0, 0.0])  # a replay
    frozen = [w for w in caught if issubclass(w.category, TracerWarning)]
    assert len(frozen) == 1
    message = str(frozen[0].message)
    assert frozen[0].filename == __file__ and frozen[0].lineno == line
    assert f"{__file__}:{line}" in message
    assert "frozen" in message and "strict=True" in message
    assert "harmless only where the result does not depend on that number" in message
    assert "autograd.maximum(*z)" in message  # the way not to freeze a max
    # the frozen shift (3, from the first call) is harmless while nothing overflows, and wrong once it does
    assert step([5.0, 1.0, 0.0]).data == pytest.approx(softmax([5.0, 1.0, 0.0])[0].data, rel=1e-15)
    assert math.isnan(step([800.0, 1.0, 0.0]).data) and softmax([800.0, 1.0, 0.0])[0].data == 1.0


def test_strict_makes_a_frozen_read_an_error():
    step = compiled(_softmax_with_a_shift_read_from_data, strict=True)
    with pytest.raises(TraceError) as info:
        step([1.0, 2.0])
    assert "frozen into the compiled program" in str(info.value) and not step.programs


def test_python_control_flow_on_a_traced_value_is_frozen_and_says_so():
    def fn(x):
        if x > 0:  # decided at trace time
            return x * 2
        return x * -3

    step = compiled(fn)
    with pytest.warns(TracerWarning) as caught:
        step(1.0)
    assert f"{__file__}:{fn.__code__.co_firstlineno + 1}" in str(caught[0].message)
    assert "an input of the traced function" in str(caught[0].message)
    assert step(-1.0).data == -2.0  # the branch of the trace, as JAX's jit and torch.jit.trace freeze it


def test_reading_a_parameter_or_no_grad_inside_warns_and_constants_do_not():
    w = Value(2.0)
    with pytest.warns(TracerWarning, match="a parameter"):
        compiled(lambda x: x * w.data)(1.0)
    with pytest.warns(TracerWarning, match="under no_grad"):

        def detached(x):
            with no_grad():
                shift = x * 2
            return x - shift

        compiled(detached)(1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)

        def reads_a_constant(x):
            c = Value(3.0)
            return x * c.data

        assert compiled(reads_a_constant)(2.0).data == 6.0


# --------------------------------------------------------------------------- numbers on replay


@pytest.mark.parametrize(
    "fn, traced_at, replayed_at",
    [
        (lambda x: x.log(), 1.0, -1.0),
        (lambda x: x.log(), 1.0, 0.0),
        (lambda x: 1 / x, 2.0, 0.0),
        (lambda x: x.sqrt(), 4.0, -4.0),
        (lambda x: x.sin(), 1.0, math.inf),
        (lambda x: x**-1, 2.0, 0.0),
        (lambda x: (x * -1) ** 0.5, -4.0, 4.0),
        (lambda x: 1 / (1 / x), 2.0, math.inf),  # 1/∞ = 0 is a value; then 1/0 has none
    ],
)
def test_an_op_with_no_value_raises_the_engines_error_on_replay(fn, traced_at, replayed_at):
    step = compiled(fn)
    step(traced_at)
    with pytest.raises((ValueError, ZeroDivisionError)) as compiled_error:
        step(replayed_at)
    with pytest.raises((ValueError, ZeroDivisionError)) as eager_error:
        fn(Value(replayed_at))
    assert type(compiled_error.value) is type(eager_error.value)
    assert str(compiled_error.value) == str(eager_error.value)


def test_ieee_values_flow_and_zero_factors_contribute_nothing():
    """±inf and nan flow as in the eager engine, and a zero factor stops a gradient (0 · ∞ is 0, not nan)."""

    def loss_with(w):
        return lambda x, y: (x * w).relu() * y + (x * w).exp()

    w = Value(1.0)
    step = compiled(loss_with(w))
    step(1.0, 2.0)
    for x, y in [(-1.0, math.inf), (1000.0, 1.0), (math.nan, 1.0), (-math.inf, 0.0), (2.0, -math.inf)]:
        w.grad = 0.0
        got = step(x, y).data
        w_eager = Value(1.0)
        expected = loss_with(w_eager)(Value(x), Value(y))
        expected.backward()
        assert same(got, expected.data) and same(w.grad, w_eager.grad), (x, y, got, w.grad, w_eager.grad)


def test_relu_keeps_the_sign_of_zero():
    step = compiled(lambda x: x.relu() * 1.0)
    step(1.0)
    assert math.copysign(1.0, step(-0.0).data) == -1.0  # 0.0 if x < 0 else x: relu(-0.0) is -0.0


# --------------------------------------------------------------------------- what cannot be compiled, bad input


def test_bad_arguments_say_where_and_what():
    step = compiled(lambda *args: Value(1.0))
    cases = [
        ((["a"],), TypeError, "args[0][0] is str 'a': arguments are numbers, Values and (nested) lists"),
        (({"x": 1.0},), TypeError, "args[0] is dict {'x': 1.0}"),
        (([1.0, None],), TypeError, "args[0][1] is NoneType None"),
        ((1.0, [True]), TypeError, "args[1][0] is a bool (True): pass 1.0 or 0.0"),
        ((complex(1, 2),), TypeError, "args[0] is complex (1+2j)"),
        ((10**400,), OverflowError, "compiled: args[0]"),
        ((Value(1.0) * 2,), ValueError, "args[0] is a Value computed by an operation (*, data 2.0)"),
    ]
    for args, error, message in cases:
        with pytest.raises(error) as info:
            step(*args)
        assert message in str(info.value), (args, str(info.value))
    nested: list = []
    nested.append(nested)
    with pytest.raises(ValueError, match=r"nested more than 64 levels deep \(a list that contains itself\?\)"):
        step(nested)
    with pytest.raises(TypeError, match="pass arguments by position; got keyword argument"):
        step(x=1.0)
    assert step.traces == 0


def test_static_arguments_are_part_of_the_key():
    def fn(x, label):
        return x * (1.0 if label == "up" else -1.0)

    step = compiled(fn, static_argnums=1)
    assert step(2.0, "up").data == 2.0 and step(2.0, "down").data == -2.0
    assert step(3.0, "up").data == 3.0 and step.traces == 2
    with pytest.raises(TypeError, match=r"args\[1\] is static \(static_argnums\) and must be hashable"):
        step(1.0, ["up"])


def test_compiled_checks_its_own_arguments():
    with pytest.raises(ValueError, match="cache_size must be a positive int, got 0"):
        compiled(lambda: Value(1.0), cache_size=0)
    with pytest.raises(ValueError, match="strict must be True or False, got 'yes'"):
        compiled(lambda: Value(1.0), strict="yes")
    with pytest.raises(TypeError, match="fn must be callable, got int 3"):
        compiled(3)
    with pytest.raises(ValueError, match="static_argnums must hold ints >= 0"):
        compiled(lambda: Value(1.0), static_argnums=[-1])
    decorated = compiled(cache_size=3)(lambda x: x * 2)
    assert decorated.cache_size == 3 and decorated(2.0).data == 4.0


def test_what_cannot_be_compiled_is_refused_with_the_reason():
    outside = Value(2.0) * Value(3.0)
    with pytest.raises(TraceError, match="used a Value computed outside it"):
        compiled(lambda x: x * outside)(1.0)
    with pytest.raises(TypeError, match="must return the Value to differentiate .* returned float 2.0"):
        compiled(lambda x: 2.0)(1.0)
    with pytest.raises(TypeError, match="returned list"):
        compiled(lambda x: [x * 2])(1.0)

    def by_hand(x):  # microgpt's constructor: local derivatives given as numbers
        return Value(x.data * 2, (x,), (2.0,))

    with pytest.raises(TraceError, match=r"built by hand with Value\(data, children, \.\.\.\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TracerWarning)
            compiled(by_hand)(1.0)

    def closure(x):  # micrograd's style: a _backward closure on a node
        out = x * 2
        out._backward = lambda: None
        return out

    with pytest.raises(TraceError, match="has its own _backward closure"):
        compiled(closure)(1.0)
    inner = compiled(lambda x: x * 2)
    with pytest.raises(TraceError, match="called while another compiled function is being traced"):
        compiled(lambda x: inner(x))(1.0)


def test_program_stats_and_drawing():
    pytest.importorskip("matplotlib")
    w = [Value(0.1 * i) for i in range(4)]
    step = compiled(lambda xs: sum_values([(x * wi).tanh() for x, wi in zip(xs, w)]) * 0.5)
    step([1.0, 2.0, 3.0, 4.0])
    (program,) = step.programs
    s = program.stats
    assert s.nodes_traced == 4 + 4 + 4 + 4 + 1 + 1 + 1  # w, inputs, products, tanh, sum, 0.5, result
    assert program.kernels() == [(1, "*", 4), (2, "tanh", 4), (3, "+", 1), (4, "*", 1)]
    assert s.trace_seconds > 0 and s.schedule_seconds > 0
    figure = program.draw()
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.texts] == ["4", "4", "1", "1"]
    assert "19 scalar nodes → 4 kernels in 4 levels" in ax.get_title()


# --------------------------------------------------------------------------- numpy is optional


def test_without_numpy_autograd_imports_and_compiled_names_the_extra():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["numpy"] = None  # import numpy now raises ImportError
        import autograd
        from autograd import Value
        print((Value(2.0) * 3).data)
        try:
            autograd.compiled(lambda x: x)
        except ImportError as error:
            print(error)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "6.0"
    assert lines[1] == (
        "autograd.compiled needs numpy, which is not installed: pip install 'stepgrad[compile]' (or pip install numpy)"
    )


# --------------------------------------------------------------------------- parameters in an array


def _two_layer_loss(model, xs, ys):
    return sum_values([(model(x) - y) ** 2 for x, y in zip(xs, ys)]) * (1 / len(xs))


def test_gradients_with_parameters_in_an_array_equal_a_replays_grads_and_touch_no_value():
    np = pytest.importorskip("numpy")
    model = MLP(2, [4, 1], seed=3)
    params = model.parameters()
    step = compiled(lambda xs, ys: _two_layer_loss(model, xs, ys))
    xs, ys = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]], [1.0, -1.0, 0.5]
    data = np.array([p.data for p in params])

    loss, grads = step.gradients(params, data, xs, ys)  # a new structure: traced, on the Values
    assert step.traces == 1 and all(p.grad == 0.0 for p in params)
    eager = _two_layer_loss(model, xs, ys)
    eager.backward()
    assert loss == eager.data and grads.tolist() == [p.grad for p in params]  # the trace is the eager step

    moved = data + 0.01 * np.arange(len(params))
    for p in params:  # sentinels: a replay must neither read nor write them
        p.data, p.grad = 123.0, -7.0
    loss, grads = step.gradients(params, moved, xs, ys)
    assert step.replays == 1 and all(p.data == 123.0 and p.grad == -7.0 for p in params)
    for p, x in zip(params, moved.tolist()):  # the same point the Value way: a replay writing .grad
        p.data, p.grad = x, 0.0
    replayed = step(xs, ys)
    assert loss == replayed.data and grads.tolist() == [p.grad for p in params]
    twin = MLP(2, [4, 1], seed=3)  # and eagerly, to rounding
    for p, x in zip(twin.parameters(), moved.tolist()):
        p.data = x
    fresh = _two_layer_loss(twin, xs, ys)
    fresh.backward()
    assert loss == pytest.approx(fresh.data, rel=1e-12)
    assert grads.tolist() == pytest.approx([p.grad for p in twin.parameters()], rel=1e-10, abs=1e-14)


def test_gradients_needs_every_leaf_it_reads_and_one_number_per_parameter():
    np = pytest.importorskip("numpy")
    model = MLP(2, [3, 1], seed=1)
    params = model.parameters()
    step = compiled(lambda xs, ys: _two_layer_loss(model, xs, ys))
    xs, ys = [[0.5, -1.0]], [1.0]
    with pytest.raises(ValueError, match=r"needs a list of Values and an array of one number per Value; got 13 params"):
        step.gradients(params, np.zeros(3), xs, ys)
    with pytest.raises(ValueError, match=r"reads 1 leaf Value\(s\) made outside it that are not in params"):
        step.gradients(params[1:], np.array([p.data for p in params[1:]]), xs, ys)
    with pytest.raises(TypeError, match="params must be a list of Values; params.0. is float 1.0"):
        step.gradients([1.0] * 13, np.zeros(13), xs, ys)
    with pytest.raises(TypeError, match="params must be a list of Values, got generator"):
        step.gradients((p for p in params), np.zeros(13), xs, ys)


def test_the_fused_kernels_assumptions_are_the_rule_tables():
    """compile's fused sum, dot and matmul kernels write ∂Σ/∂xᵢ = 1 and ∂(a·b) = (b, a) themselves
    (autograd/compile/kernels.py, _Kernel.backward); the rule table must say the same, on floats and on arrays."""
    np = pytest.importorskip("numpy")
    from autograd.engine import ADD, MUL, SUM

    rng = random.Random(11)
    for _ in range(20):
        a, b = rng.uniform(-5, 5), rng.uniform(-5, 5)
        assert tuple(MUL.partials(a, b, a * b)) == (b, a)
        assert tuple(ADD.partials(a, b, a + b)) == (1.0, 1.0)
        xs = [rng.uniform(-5, 5) for _ in range(rng.randint(1, 6))]
        assert all(d == 1.0 for d in SUM.partials(*xs, sum(xs))) and len(SUM.partials(*xs, sum(xs))) == len(xs)
    a, b = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    da, db = MUL.partials(a, b, a * b)
    assert da.tolist() == b.tolist() and db.tolist() == a.tolist()


# --------------------------------------------------------------------------- the replay never silently differs


def _eager_step_grad(fn, x: float, leaves: list[Value]) -> tuple[float, list[float]]:
    for leaf in leaves:
        leaf.grad = 0.0
    out = fn(x)
    out.backward()
    grads = [leaf.grad for leaf in leaves]
    for leaf in leaves:
        leaf.grad = 0.0
    return out.data, grads


# A rule for floats written with Python's `if`, the natural way: relu by hand, and a two-sided slope.
relu_by_hand = Op("relu_by_hand", lambda x: x if x > 0 else 0.0, lambda x, out: (1.0 if x > 0 else 0.0,))
two_slopes = Op("two_slopes", lambda x: 2 * x if x > 0 else -x, lambda x, out: (2.0 if x > 0 else -1.0,))


@pytest.mark.parametrize("op", [relu_by_hand, two_slopes], ids=str)
@pytest.mark.parametrize("width", [1, 2, 5])
def test_a_user_rule_with_python_if_gives_the_same_result_at_every_kernel_size(op, width):
    """A partial (or forward) written with `if` on its input is never frozen as the trace-time branch,
    whether the kernel holds one node or many: the replay takes the branch of its own numbers."""
    w = Value(2.0)

    def fn(xs):
        return sum_values([op(x * w) for x in xs])

    step = compiled(fn)
    step([1.0] * width)  # traced where every input is positive
    for point in ([-1.0] * width, [(-1.0) ** k * (k + 1) for k in range(width)]):
        w.grad = 0.0
        out = step(point)
        # the oracle: each term's slope by hand, d/dw op(x·w) = op'(x·w)·x
        slope = {"relu_by_hand": lambda z: 1.0 if z > 0 else 0.0, "two_slopes": lambda z: 2.0 if z > 0 else -1.0}
        expected_grad = sum(slope[str(op)](x * 2.0) * x for x in point)
        value = {"relu_by_hand": lambda z: max(z, 0.0), "two_slopes": lambda z: 2 * z if z > 0 else -z}
        assert out.data == pytest.approx(sum(value[str(op)](x * 2.0) for x in point), rel=1e-15)
        assert w.grad == pytest.approx(expected_grad, rel=1e-15, abs=0.0), (point, w.grad, expected_grad)
    (program,) = step.programs
    assert str(op) in program.stats.element_wise


def test_gradients_follow_the_params_list_as_it_is_now_and_refuse_a_parameter_listed_twice():
    a, b = Value(2.0), Value(3.0)
    step = compiled(lambda x: a * x + b * (2 * x))  # loss = a·x + 2b·x: ∂/∂a = x, ∂/∂b = 2x
    params = [a, b]
    loss, grads = step.gradients(params, np.array([2.0, 3.0]), 1.0)
    assert loss == 8.0 and grads.tolist() == [1.0, 2.0]
    loss, grads = step.gradients(params, np.array([2.0, 3.0]), 1.0)  # replayed
    assert loss == 8.0 and grads.tolist() == [1.0, 2.0]
    params.reverse()  # the same list, reordered in place: the numbers follow it
    loss, grads = step.gradients(params, np.array([3.0, 2.0]), 1.0)
    assert loss == 8.0 and grads.tolist() == [2.0, 1.0]
    params[:] = [a, b]
    loss, grads = step.gradients(params, np.array([5.0, 7.0]), 1.0)
    assert loss == 5.0 + 14.0 and grads.tolist() == [1.0, 2.0]
    for twice in ([a, b, a], [a, a, b]):
        with pytest.raises(ValueError, match=r"params\[2\] is params\[0\]|params\[1\] is params\[0\]") as info:
            step.gradients(twice, np.array([1.0, 2.0, 3.0]), 1.0)
        assert "listed twice" in str(info.value) and "data 2.0" in str(info.value)
    fresh = compiled(lambda x: a * x)
    with pytest.raises(ValueError, match="listed twice"):  # refused on the trace too, before anything runs
        fresh.gradients([a, a], np.array([1.0, 1.0]), 1.0)
    assert fresh.traces == 0


def test_an_argument_that_is_also_a_closed_over_leaf_is_not_conflated_with_it():
    w = Value(3.0)
    step = compiled(lambda x: x * w)
    out = step(w)  # the trace: eagerly w·w
    assert out.data == 9.0 and w.grad == 6.0
    w.grad = 0.0
    v = Value(5.0)
    out = step(v)  # JAX's semantics: the argument is an input, w the leaf the function closes over
    assert out.data == 15.0 and v.grad == 3.0 and w.grad == 5.0
    w.grad = 0.0
    out = step(w)  # and passed again as the argument, replayed
    assert out.data == 9.0 and w.grad == 6.0
    assert step.traces == 1 and step.replays == 2
    returned = compiled(lambda x: (x * w, x))(w)  # the trace returns the argument as itself
    assert returned[1] is w


@pytest.mark.parametrize(
    "read",
    [
        lambda y: repr(y),
        lambda y: str(y),
        lambda y: f"{y}",
        lambda y: format(y),
        lambda y: "%s" % (y,),  # noqa: UP031 - the old way of formatting reads the number too
        lambda y: y.local_grads,
        lambda y: copy.deepcopy(y),
        lambda y: pickle.dumps(y),
    ],
    ids=["repr", "str", "f-string", "format", "percent", "local_grads", "deepcopy", "pickle"],
)
def test_strict_catches_every_way_a_traced_number_reaches_python(read):
    def fn(x):
        y = x * 2.0
        read(y)
        return y * y

    with pytest.raises(TraceError, match="frozen into the compiled program"):
        compiled(fn, strict=True)(1.5)
    with pytest.warns(TracerWarning, match="a Value computed inside the traced function"):
        compiled(fn)(1.5)


def test_strict_lets_a_constant_be_shown():
    def fn(x):
        c = Value(3.0)
        repr(c), c.local_grads  # noqa: B018 - reads of a constant made inside: nothing traced is frozen
        return x * c

    assert compiled(fn, strict=True)(2.0).data == 6.0


@pytest.mark.parametrize(
    "fn, traced_at, replayed_at",
    [
        (lambda x: x**-1.5, 4.0, -math.inf),  # eager: a negative base needs an integer exponent
        (lambda x: x**0.5, 4.0, -math.inf),
        (lambda x: x ** Value(-1.5), 4.0, -math.inf),  # POW of two Values
        (lambda x: (x * 2.0) ** -2.5, 4.0, -math.inf),
    ],
)
def test_a_replay_raises_where_eager_raises_even_where_numpy_gives_a_finite_number(fn, traced_at, replayed_at):
    step = compiled(fn)
    step(traced_at)
    with pytest.raises(ValueError) as eager_error:
        fn(Value(replayed_at))
    with pytest.raises(ValueError) as compiled_error:
        step(replayed_at)
    assert str(compiled_error.value) == str(eager_error.value)


def test_when_two_operations_fail_the_replay_names_the_one_eager_meets_first():
    def fn(x, y):
        first = (x * 1.0).log()  # made first: eager fails here
        second = 1 / (y * 1.0)  # a later node, at a lower level and in another kernel
        return first + second

    step = compiled(fn)
    step(1.0, 1.0)
    with pytest.raises((ValueError, ZeroDivisionError)) as eager_error:
        fn(Value(-1.0), Value(0.0))
    with pytest.raises((ValueError, ZeroDivisionError)) as compiled_error:
        step(-1.0, 0.0)
    assert type(compiled_error.value) is type(eager_error.value) is ValueError
    assert str(compiled_error.value) == str(eager_error.value)

    def other_order(x, y):
        second = 1 / (y * 1.0)  # now the division is made first
        first = (x * 1.0).log()
        return first + second

    step = compiled(other_order)
    step(1.0, 1.0)
    with pytest.raises(ZeroDivisionError, match="division by zero: 1.0 / 0.0"):
        step(-1.0, 0.0)


def test_a_user_op_evaluated_element_by_element_raises_what_eager_raises_in_eager_order():
    log_by_hand = Op("log_by_hand", lambda x: math.log(x), lambda x, out: (1 / x,))
    root_by_hand = Op("root_by_hand", lambda x: x**0.5, lambda x, out: (0.5 / out,))

    def fn(x, y):
        a = log_by_hand(x * 1.0)
        b = root_by_hand(y * 1.0)  # (-1) ** 0.5 is complex in Python: the engine refuses it
        return a + b

    step = compiled(fn)
    step(1.0, 1.0)
    for point in ((-1.0, 4.0), (1.0, -4.0), (-1.0, -4.0)):
        with pytest.raises((ValueError, TypeError)) as eager_error:
            fn(Value(point[0]), Value(point[1]))
        with pytest.raises((ValueError, TypeError)) as compiled_error:
            step(*point)
        assert type(compiled_error.value) is type(eager_error.value), point
        assert str(compiled_error.value) == str(eager_error.value), point


def test_value_of_a_value_is_that_value_eagerly_and_under_tracing():
    a = Value(2.0)
    assert Value(a) is a and a.data == 2.0 and a.grad == 0.0
    with pytest.raises(TypeError, match=r"Value\(v\) of a Value v is v itself"):
        Value(a, label="a")
    w1, w2 = Value(0.5), Value(-1.5)

    def model(xs):  # micrograd-style code that wraps its inputs
        x1, x2 = [Value(x) for x in xs]
        return (x1 * w1 + x2 * w2).tanh()

    step = compiled(lambda a, b: model([Value(a), Value(b)]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TracerWarning)  # nothing is frozen
        step(1.0, 2.0)
    for point in ((0.3, -0.7), (2.0, 1.0)):
        w1.grad = w2.grad = 0.0
        out = step(*point)
        got = (out.data, w1.grad, w2.grad)
        z = point[0] * 0.5 + point[1] * -1.5  # the oracle: tanh by hand, d tanh = 1 − tanh²
        t = math.tanh(z)
        assert got == pytest.approx((t, (1 - t * t) * point[0], (1 - t * t) * point[1]), rel=1e-14)
    v = Value(0.25)  # a Value argument wrapped again: its gradient arrives
    w1.grad = w2.grad = 0.0
    step(v, 1.0)
    t = math.tanh(0.25 * 0.5 - 1.5)
    assert v.grad == pytest.approx((1 - t * t) * 0.5, rel=1e-14)


@pytest.mark.parametrize(
    "data, said",
    [
        (["1.0", "2.0"], r"data\[0\] is str '1.0'"),
        ([True, 2.0], r"data\[0\] is bool True"),
        ([1.0, 2.0 + 1j], r"data\[1\] is complex \(2\+1j\)"),
        ([Value(1.0), 2.0], r"data\[0\] is a Value \(data 1.0\): pass numbers"),
    ],
)
def test_gradients_refuses_data_that_is_not_numbers_by_name(data, said):
    a, b = Value(2.0), Value(3.0)
    step = compiled(lambda x: a * x + b)
    for _ in range(2):  # on the trace and on a replay
        with pytest.raises(TypeError, match=r"compiled: gradients\(params, data, \.\.\.\): " + said):
            step.gradients([a, b], data, 1.0)
        step.gradients([a, b], [2.0, 3.0], 1.0)


# --------------------------------------------------------------------------- the package's modules


def test_the_compile_package_keeps_the_names_compile_py_had_and_each_stage_is_short():
    """autograd.compile is a package of its stages: every name importers use from the module it was
    (public, and the private ones tests and nn read) still resolves, from the stage that defines it."""
    import autograd._compile_checks as old_checks
    import autograd.compile as package
    from autograd.compile import (
        ARRAY_FORWARDS,
        Compiled,
        Program,
        ProgramStats,
        _max_partials,
        _numpy,
        checks,
        function,
        program,
        schedule,
    )
    from autograd.compile.checks import numbers_array

    assert (Compiled, Program, ProgramStats) == (function.Compiled, program.Program, program.ProgramStats)
    assert isinstance(compiled(lambda x: x), Compiled)
    assert _numpy() is np and callable(ARRAY_FORWARDS[autograd.engine.MAX]) and callable(_max_partials)
    assert old_checks.numbers_array is numbers_array is checks.numbers_array
    assert not hasattr(schedule, "_RULE_BACKWARD")  # it reads no chain rule of the engine (engine._own_backward)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        package.nothing  # noqa: B018
    folder = Path(package.__file__).parent
    lines = {path.name: len(path.read_text(encoding="utf-8").splitlines()) for path in folder.glob("*.py")}
    assert set(lines) >= {"__init__.py", "trace.py", "schedule.py", "kernels.py", "program.py", "drawing.py"}
    assert max(lines.values()) <= 700, lines


def test_asking_the_compile_package_for_a_name_it_lacks_imports_no_numpy():
    # "numpy only when compiled": an unknown attribute is refused from the stages' sources, not by importing them
    code = (
        "import sys, autograd, autograd.compile as c\n"
        "print(getattr(c, 'nothing', None), hasattr(c, '_max_partials'), 'numpy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["None", "True", "False"]
