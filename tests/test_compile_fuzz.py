"""A differential fuzzer: random graphs over every op, compiled and replayed, against the eager engine.

Each case is a random program (every built-in op, ``power(k)`` and ``leaky_relu``, ``sum_values`` and
``dot``, and user ops whose forward or partials use Python control flow, ``math.*`` or arrays), whose
leaves play the three roles a compiled function meets (a parameter it closes over, a ``Value``
argument, a number argument). It is traced at one point and replayed at others, the points drawn from
the edges of the floats: 0, −0.0, subnormals, ±1e300, the points where exp and squares overflow, ±inf,
nan. At every point the replay must equal eager — the loss and every gradient equal to rounding,
±inf and nan in the same places — or raise what eager raises, with the same message: for two failing
operations, the one eager meets first. A replay shows no numpy warning.

The default run (400 programs, about 1,000 replays) is sized for CI: a few seconds. A longer one:

    STEPGRAD_FUZZ_SCALE=50 .venv/bin/python -m pytest tests/test_compile_fuzz.py

and another seed with ``STEPGRAD_FUZZ_SEED=<int>``.
"""

from __future__ import annotations

import math
import os
import random
import re
import warnings
from typing import Any

import pytest

import autograd
from autograd import Op, Value, compiled, sum_values
from autograd.engine import power
from autograd.graph import topological_order

np = pytest.importorskip("numpy")  # the compile extra

FUZZ_SCALE = int(os.environ.get("STEPGRAD_FUZZ_SCALE", "1"))
FUZZ_SEED = int(os.environ.get("STEPGRAD_FUZZ_SEED", "20261206"))

# --------------------------------------------------------------------------- user ops of every kind


def _clip_forward(x: float) -> float:
    if x > 1.0:
        return 1.0
    elif x < -1.0:
        return -1.0
    return x


def _clip_partial(x: float, out: float) -> tuple[float]:
    if -1.0 < x < 1.0:
        return (1.0,)
    return (0.0,)


USER_OPS = {
    # Python `if` in forward and partials: evaluated element by element at every kernel size
    "relu_by_hand": Op("relu_by_hand", lambda x: x if x > 0 else 0.0, lambda x, out: (1.0 if x > 0 else 0.0,)),
    "two_slopes": Op("two_slopes", lambda x: 2 * x if x > 0 else -x, lambda x, out: (2.0 if x > 0 else -1.0,)),
    "clip": Op("clip", _clip_forward, _clip_partial),
    # an `if` on the output only
    "out_sign": Op("out_sign", lambda x: x * x * x, lambda x, out: (3 * x * x if out >= 0 else 3 * x * x,)),
    # math.*: element by element
    "hypot": Op("hypot", lambda a, b: math.hypot(a, b), lambda a, b, out: (a / out, b / out)),
    "log_by_hand": Op("log_by_hand", lambda x: math.log(x), lambda x, out: (1 / x,)),
    # arrays: run as numpy kernels
    # (1 + |x|)² as a product: the README's `** 2` raises OverflowError past 1.34e154 in eager's limit retry,
    # a bug of its own in issue 18 ("derivatives never raise"), fixed apart from the replay
    "softsign": Op("softsign", lambda x: x / (1 + abs(x)), lambda x, out: (1 / ((1 + abs(x)) * (1 + abs(x))),)),
    "smooth": Op(
        "smooth",
        lambda x: x * autograd.sigmoid(x),
        lambda x, out: (autograd.sigmoid(x) + x * autograd.sigmoid(x) * (1 - autograd.sigmoid(x)),),
    ),
    # a two-input op with a partial that is a constant
    "lerp": Op("lerp", lambda a, b: 0.25 * a + 0.75 * b, lambda a, b, out: (0.25, 0.75)),
}

# --------------------------------------------------------------------------- every op, unguarded

OPS: dict[str, Any] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "radd": lambda a, b: 2.5 + a,
    "rsub": lambda a, b: 1 - a,
    "rmul": lambda a, b: -0.5 * a,
    "rdiv": lambda a, b: 3 / a,
    "rpow": lambda a, b: 2**a,
    "neg": lambda a, b: -a,
    "square": lambda a, b: a**2,
    "cube": lambda a, b: a**3,
    "inverse": lambda a, b: a**-1,
    "root": lambda a, b: a**0.5,
    "pow_-1.5": lambda a, b: power(-1.5)(a),
    "pow_2.5": lambda a, b: power(2.5)(a),
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: a.log(),
    "sqrt": lambda a, b: a.sqrt(),
    "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: a.relu(),
    "leaky_relu": lambda a, b: a.leaky_relu(0.1),
    "softplus": lambda a, b: a.softplus(),
    "sin": lambda a, b: a.sin(),
    "cos": lambda a, b: a.cos(),
    "abs": lambda a, b: abs(a),
    "sum_values": lambda a, b: sum_values([a, b, a]),
    "dot": lambda a, b: autograd.dot([a, b], [b, 0.5]),
    "max": lambda a, b: a if a > b else b,  # Python control flow on traced numbers: frozen, and said
    "wrapped": lambda a, b: Value(a) * Value(b),  # code that wraps its inputs: Value(v) is v
}
for _name, _op in USER_OPS.items():
    OPS[_name] = (lambda op: lambda a, b: op(a, b) if op.partials.__code__.co_argcount == 3 else op(a))(_op)
FROZEN = {"max"}  # a trace reads numbers here: the replay keeps the traced branch (documented, not compared)

# The edges of the floats, and ordinary numbers between them
EDGES = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e300, -1e300, 709.782712893384, 709.79,
         -745.1332191019411, -745.2, 1.34e154, -1.35e154, math.inf, -math.inf, math.nan]  # fmt: skip
ORDINARY = [1.0, -1.0, 0.5, -2.5, 3.0, 0.1, -0.7, 2.0]


def _point(rng: random.Random, n: int, edges: float = 0.35) -> list[float]:
    return [rng.choice(EDGES) if rng.random() < edges else rng.choice(ORDINARY) for _ in range(n)]


def _program(rng: random.Random) -> list[tuple[str, int, int]]:
    names = sorted(OPS)
    return [(rng.choice(names), rng.randrange(64), rng.randrange(64)) for _ in range(rng.randint(1, 8))]


def _run(program: list[tuple[str, int, int]], leaves: list[Value], rows: int) -> Value:
    """The program on each row of the leaves (a kernel of ``rows`` nodes per op), summed."""
    n = len(leaves) // rows
    outputs = []
    for r in range(rows):
        nodes = leaves[r * n : (r + 1) * n]
        for name, i, j in program:
            nodes.append(OPS[name](nodes[i % len(nodes)], nodes[j % len(nodes)]))
        outputs.append(nodes[-1])
    return outputs[0] if rows == 1 else sum_values(outputs)


def _eager(program: list[tuple[str, int, int]], point: list[float], rows: int) -> Any:
    """(loss, gradients of parameters then Value arguments) by the eager engine, or the error it raises."""
    leaves = [Value(x) for x in point]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _run(program, leaves, rows)
            out.backward()
    except Exception as error:  # noqa: BLE001 - every error is compared
        return error
    order = list(range(0, len(point), 3)) + list(range(1, len(point), 3))
    size = _contributions(out)
    return out.data, [leaves[i].grad for i in order], [size.get(leaves[i], 0.0) for i in order]


def _contributions(out: Value) -> dict[Value, float]:
    """Σ|contribution| into each node's gradient: the scale of the rounding error of the sum that is its
    gradient, which another order of the same terms may change by about 1e-16 of it (absorption: eager
    adds 2e307 − 1 + (−2e307) = 0, the replay −1 + 2e307 − 2e307 = −1)."""
    size = {out: 1.0}
    for node in reversed(topological_order(out)):
        g = size.get(node, 0.0)
        for parent, local in zip(node.parents, node.local_grads):
            if g and local:
                size[parent] = size.get(parent, 0.0) + abs(g * local)
    return size


class _Leaves:
    """Leaf 0, 3, … is a parameter (closed over), 1, 4, … a Value argument, 2, 5, … a number argument."""

    def __init__(self, point: list[float]):
        self.params = [Value(x) for x in point[0::3]]
        self.move_to(point)

    def move_to(self, point: list[float]) -> None:
        for p, x in zip(self.params, point[0::3]):
            p.data, p.grad = x, 0.0
        self.values = [Value(x) for x in point[1::3]]
        self.numbers = list(point[2::3])

    def interleave(self, values: list[Value], numbers: list[Value]) -> list[Value]:
        roles = [self.params, values, numbers]
        return [roles[k % 3][k // 3] for k in range(len(self.params) + len(values) + len(numbers))]


def _compiled_call(step: Any, leaves: _Leaves) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # a replay shows no numpy warning
            warnings.simplefilter("ignore", autograd.TracerWarning)
            out = step(leaves.values, leaves.numbers)
    except Exception as error:  # noqa: BLE001
        return error
    return out.data, [v.grad for v in leaves.params + leaves.values]


def _same(a: float, b: float, rel: float = 1e-12, absolute: float = 1e-300) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * abs(b) + absolute


# Equal to rounding. A gradient's contributions are added in another order by the replay, and numpy's
# exp, tanh, … may differ from math's in the last bit; where a rule cancels (1 − tanh² near saturation,
# terms of opposite signs) one ulp of an O(1) number is a large relative difference in a small result:
# relative 1e-9, and absolute 1e-13 of the largest number compared or of the gradient's terms (Σ|term|).
REL, ABS = 1e-9, 1e-13


_NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[-+]?\d+)?|inf|nan)")


def _same_message(a: str, b: str) -> bool:
    """The same words, and numbers equal to rounding: an error names the number it met, and a replay's
    numbers equal eager's to rounding (numpy's tanh and math.tanh may differ in the last bit)."""
    words_a, words_b = _NUMBER.split(a), _NUMBER.split(b)
    numbers_a, numbers_b = _NUMBER.findall(a), _NUMBER.findall(b)
    return (
        words_a == words_b
        and len(numbers_a) == len(numbers_b)
        and all(_same(float(x), float(y)) for x, y in zip(numbers_a, numbers_b))
    )


def _disagreement(got: Any, expected: Any) -> str | None:
    if isinstance(expected, Exception) or isinstance(got, Exception):
        if type(got) is type(expected) and _same_message(str(got), str(expected)):
            return None
        return f"eager gave {expected!r}, the replay {got!r}"
    scale = max([1.0] + [abs(x) for x in [expected[0], *expected[1]] if math.isfinite(x)])
    if not _same(got[0], expected[0], REL, ABS * scale):
        return f"loss: eager {expected[0]!r}, replay {got[0]!r}"
    bad = [
        (i, g, e)
        for i, (g, e, size) in enumerate(zip(got[1], expected[1], expected[2]))
        if not _same(g, e, REL, ABS * max(scale, size))
    ]
    return f"gradients (index, replay, eager): {bad}" if bad else None


def _case(rng: random.Random) -> tuple[str, int]:
    """One random program traced at one point and replayed at four: ('ok' or why not compared, replays)."""
    program = _program(rng)
    rows = rng.choice([1, 1, 2, 3, 8])  # kernels of one node and of several
    n = rng.randint(2, 6) * rows
    first = _point(rng, n, edges=rng.choice([0.0, 0.1, 0.35]))  # traced at the edges, or replayed there
    leaves = _Leaves(first)

    def fn(values, numbers):
        return _run(program, leaves.interleave(values, numbers), rows)

    step = compiled(fn)
    expected = _eager(program, first, rows)
    got = _compiled_call(step, leaves)
    problem = _disagreement(got, expected)  # the trace is the eager call
    assert problem is None, f"trace of {program} on {rows} row(s) at {first}: {problem}"
    if isinstance(expected, Exception) or any(name in FROZEN for name, _, _ in program):
        return "not replayed", 0
    replays = 0
    for k in range(4):
        point = first if k == 0 else _point(rng, n)
        leaves.move_to(point)
        expected = _eager(program, point, rows)
        got = _compiled_call(step, leaves)
        problem = _disagreement(got, expected)
        assert problem is None, f"{program} on {rows} row(s), traced at {first}, replayed at {point}: {problem}"
        replays += 1
    return "ok", replays


def test_compiled_replays_equal_eager_on_random_graphs_at_the_edges_of_the_floats():
    rng = random.Random(FUZZ_SEED)
    counts = {"ok": 0, "not replayed": 0, "replays": 0}
    for _ in range(400 * FUZZ_SCALE):
        kind, replays = _case(rng)
        counts[kind] += 1
        counts["replays"] += replays
    # the fuzzer really compared: most programs replayed, at points where eager raises and where it does not
    assert counts["ok"] > 150 * FUZZ_SCALE and counts["replays"] > 600 * FUZZ_SCALE, counts
