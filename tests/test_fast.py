"""The accelerator (autograd/_fast.py) against the reference engine it copies.

Every copy in ``_fast.COPIES`` must build exactly the node its rule builds — the same value,
op, parents and local derivatives, bit for bit — and the fast backward loop must give the
reference chain rule's gradients bit for bit. The reference here is the rule table itself
(``Op.forward``/``Op.partials``) and the reference's one-node chain rule (``_push``), which
the accelerator keeps on every node. Under ``STEPGRAD_PURE=1`` the accelerator is not
installed, so there is nothing to compare and this module is skipped; the test command
also runs the oracle suites with ``STEPGRAD_PURE=1`` (tests/test_both_engines.py).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracles import engine_functions, program_strategy, run_program

from autograd import dot, engine, sum_values
from autograd.engine import ADD, MUL, RELU, SUM, Value
from autograd.graph import topological_order

pytestmark = pytest.mark.skipif(not engine.ACCELERATED, reason="STEPGRAD_PURE=1: the accelerator is not installed")

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 1e-320, 1e308]),
    st.integers(-(10**6), 10**6),
)


def bits(x):
    """A float as something == compares exactly (nan equal to nan, 0.0 apart from -0.0)."""
    return ("nan",) if isinstance(x, float) and math.isnan(x) else (x, math.copysign(1.0, x))


def assert_node_is_rule(node, rule, parents):
    xs = [p.data for p in parents]
    assert node.op is rule
    assert node.parents == tuple(parents) and all(a is b for a, b in zip(node.parents, parents))
    assert bits(node.data) == bits(rule.forward(*xs))
    expected = rule.partials(*xs, node.data)
    assert len(node.local_grads) == len(expected)
    assert [bits(d) for d in node.local_grads] == [bits(float(d)) for d in expected]


def constant_of(node, value):
    assert node.is_constant and bits(node.data) == bits(float(value)) and not node.parents
    return node


def test_every_copy_is_listed_with_the_rule_it_copies():
    from autograd import _fast

    assert set(_fast.COPIES) <= {name.split(".")[-1] for name in _fast.STANDS_IN_FOR}
    assert set(_fast.COPIES) == {
        "__add__",
        "__radd__",
        "__mul__",
        "__rmul__",
        "relu",
        "sum_values",
        "dot",
        "_accumulate",
    }
    for name in ("__add__", "__mul__", "relu", "dot", "sum_values", "_accumulate"):
        doc = getattr(_fast, name).__doc__ or ""
        assert "copy of" in doc or "inlined" in doc, name


@settings(max_examples=300, deadline=None, derandomize=True)
@given(numbers, numbers)
def test_add_and_mul_copies_build_the_rules_nodes(a, b):
    x, y = Value(a), Value(b)
    assert_node_is_rule(x + y, ADD, [x, y])
    assert_node_is_rule(x * y, MUL, [x, y])
    # a number operand becomes a constant leaf, in micrograd's operand order
    for node, rule in ((x + b, ADD), (b + x, ADD), (x * b, MUL), (b * x, MUL)):
        assert node.parents[0] is x
        assert_node_is_rule(node, rule, [x, constant_of(node.parents[1], b)])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(numbers)
def test_relu_copy_builds_the_rules_node(a):
    x = Value(a)
    assert_node_is_rule(x.relu(), RELU, [x])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(numbers, min_size=0, max_size=6), st.lists(numbers, min_size=0, max_size=6), numbers)
def test_sum_values_and_dot_copies_build_the_rules_nodes(xs, ws, start):
    values = [Value(x) for x in xs]
    total = sum_values(values)
    if values:
        assert_node_is_rule(total, SUM, values)
    else:
        constant_of(total, 0.0)
    n = min(len(xs), len(ws))
    weights, inputs = [Value(w) for w in ws[:n]], values[:n]
    result = dot(weights, inputs, start=start)
    terms = list(result.parents) if result.parents else []
    if float(start) != 0:
        constant_of(terms.pop(0), start)
    if n or float(start) != 0:
        assert_node_is_rule(result, SUM, list(result.parents))
    for product, w, x in zip(terms, weights, inputs):
        assert_node_is_rule(product, MUL, [w, x])


def reference_backward(root, gradient=1.0):
    """backward() as the reference engine writes it: one order, the chain rule at each node."""
    order = topological_order(root)
    for node in order:
        if node.parents:
            node.grad = 0.0
    root.grad += gradient
    for node in reversed(order):
        if node.parents:
            node._backward()  # the node's own closure, or the reference chain rule (_push)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(program_strategy(max_leaves=4, max_ops=14), st.sampled_from([1.0, -2.5, math.inf, math.nan, 0.0]))
def test_fast_backward_equals_the_reference_chain_rule_bit_for_bit(case, seed):
    point, program = case
    results = []
    for run in (reference_backward, Value.backward):
        leaves = [Value(x) for x in point]
        try:
            root = run_program(program, leaves, engine_functions())
        except (ValueError, ZeroDivisionError):
            assume(False)  # out of the domain: no graph to compare
        run(root, seed)
        results.append([bits(n.grad) for n in topological_order(root)])
    assert results[0] == results[1]


def test_layout_round_trips_through_parents_and_local_grads():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    for parents, local in (((), ()), ((a,), (0.5,)), ((a, b), (2.0, 1.0)), ((a, b, c), (1.0, 2.0, 3.0))):
        node = Value(0.0, parents, local)
        assert node.parents == parents and node.local_grads == local
        assert node._children == parents and node._local_grads == local
    handmade = Value(0.0, (a, b), "+")  # micrograd's: no local derivatives until a closure comes
    assert handmade.parents == (a, b) and handmade._local_grads is None


@settings(max_examples=100, deadline=None, derandomize=True)
@given(program_strategy(max_leaves=4, max_ops=12))
def test_backward_walk_is_the_shared_order_and_zeroes_exactly_the_interior(case):
    # backward() walks with marks in the nodes instead of a set; it must produce the very
    # same list as topological_order(root, leaves=False), reset exactly those gradients,
    # and leave every leaf's gradient alone.
    from autograd._fast import _interior_order_zeroing_grads

    point, program = case
    leaves = [Value(x) for x in point]
    try:
        root = run_program(program, leaves, engine_functions())
    except (ValueError, OverflowError, ZeroDivisionError):
        assume(False)  # out of the domain: no graph
    assume(root.parents)  # a leaf has no interior to walk
    nodes = topological_order(root)
    for i, node in enumerate(nodes):
        node.grad = float(i + 1)  # stale gradients everywhere
    expected = topological_order(root, leaves=False)
    walked = _interior_order_zeroing_grads(root)
    assert walked == expected
    for i, node in enumerate(nodes):
        if node.parents:
            assert node.grad == 0.0
        else:
            assert node.grad == float(i + 1)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(program_strategy(max_leaves=4, max_ops=14), st.sampled_from([1.0, -2.5, math.inf, math.nan]))
def test_grads_copy_equals_the_reference_chain_rule_bit_for_bit(case, seed):
    from autograd import _fast

    point, program = case
    leaves = [Value(x) for x in point]
    try:
        root = run_program(program, leaves, engine_functions())
    except (ValueError, ZeroDivisionError):
        assume(False)  # out of the domain: no graph
    order = topological_order(root)
    fast = _fast._accumulate(order, seed, False)
    reference = _fast._reference_accumulate(order, seed, False)
    assert {id(n): bits(g) for n, g in fast.items()} == {id(n): bits(g) for n, g in reference.items()}


def test_fingerprints_of_engine_py_are_current():
    # The contract that keeps "run what you read" fast: _fast.FINGERPRINTS is engine.py's table.
    # After a change to engine.py (and checking the copies above still copy it), regenerate it with
    #     python -m autograd._fingerprints --write
    import pathlib

    from autograd import _fast, _fingerprints

    source = pathlib.Path(engine.__file__).read_bytes()
    current = _fingerprints.table(source)
    stored = _fingerprints._TABLE.search(pathlib.Path(_fast.__file__).read_text(encoding="utf-8"))
    assert stored is not None
    assert stored.group("table") == current, (
        "autograd/engine.py changed: check the copies in autograd/_fast.py, then run "
        f"`python -m autograd._fingerprints --write`; the new table is\n{current}"
    )
    assert _fast.edited(engine.__file__) == []


def test_an_unedited_engine_gets_every_copy():
    from autograd import _fast

    assert _fast.SET_ASIDE == []
    assert set(_fast.watched()) == set(_fast.FINGERPRINTS)
    for name in _fast.STANDS_IN_FOR:
        if name.startswith("Value."):
            method = name.split(".")[1]
            assert Value.__dict__[method] is getattr(_fast, method), name
        else:
            assert getattr(engine, name) is getattr(_fast, "_lift" if name == "_constant" else name), name
