"""Tests of autograd.graph: the one topological order, trace() and ancestors_within().

Every property is checked against an independent walk of ``_parents`` written here
(breadth-first reachability and distances), not against the functions under test.
"""

from __future__ import annotations

import math
import sys
from collections import Counter, deque

import pytest
from hypothesis import assume, given, settings
from oracles import engine_functions, program_strategy, run_program

from autograd.engine import Value
from autograd.graph import ancestors_within, topological_order, trace


def reachable(root):
    """Every node reachable from ``root`` through ``_parents`` (breadth first)."""
    seen = {root}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for parent in node._parents:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


def distances(root):
    """The fewest edges from each reachable node down to ``root`` (breadth first)."""
    distance = {root: 0}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for parent in node._parents:
            if parent not in distance:
                distance[parent] = distance[node] + 1
                queue.append(parent)
    return distance


def assert_topological(order, root):
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    assert order[-1] is root
    assert {id(n) for n in order} == {id(n) for n in reachable(root)}
    for node in order:
        for parent in node._parents:
            assert position[id(parent)] < position[id(node)], "a parent comes after its child"


def sample_graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    d = c + a  # a reached by two paths
    e = d * d  # d used twice by one node
    f = e.tanh() + c.exp()  # a diamond through c
    return a, b, c, d, e, f


def test_topological_order_of_a_small_graph():
    a, b, c, d, e, f = sample_graph()
    order = topological_order(f)
    assert_topological(order, f)
    assert len(order) == len(reachable(f))


def test_a_leaf_alone():
    x = Value(1.0)
    assert topological_order(x) == [x]
    nodes, edges = trace(x)
    assert nodes == [x] and edges == []


def test_leaves_false_drops_only_the_leaves_and_keeps_the_relative_order():
    *_, f = sample_graph()
    full = topological_order(f)
    interior = topological_order(f, leaves=False)
    assert interior == [node for node in full if node._parents]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(program_strategy(max_leaves=4, max_ops=12))
def test_topological_order_on_random_dags(case):
    point, program = case
    try:
        root = run_program(program, [Value(x) for x in point], engine_functions())
    except (ValueError, OverflowError, ZeroDivisionError):
        assume(False)  # the order is about structure; out-of-domain programs build no graph
    order = topological_order(root)
    assert_topological(order, root)
    nodes, edges = trace(root)
    assert nodes == order
    expected_edges = Counter((id(p), id(n)) for n in reachable(root) for p in n._parents)
    assert Counter((id(p), id(n)) for p, n in edges) == expected_edges


def test_million_deep_chain_without_recursion_error():
    assert sys.getrecursionlimit() < 1_000_000
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y.sin()
    order = topological_order(y)
    assert len(order) == 1_000_001
    assert order[0] is x and order[-1] is y
    assert order[500_000]._parents == (order[499_999],)
    assert ancestors_within(y, 2) == order[-3:]


def test_trace_gives_one_edge_per_use():
    a = Value(3.0)
    b = a * a
    nodes, edges = trace(b)
    assert nodes == [a, b]
    assert edges == [(a, b), (a, b)]


def test_trace_edges_of_the_sample_graph():
    a, b, c, d, e, f = sample_graph()
    nodes, edges = trace(f)
    assert nodes == topological_order(f)
    edge_ids = Counter((id(p), id(n)) for p, n in edges)
    assert edge_ids[(id(a), id(c))] == 1 and edge_ids[(id(b), id(c))] == 1
    assert edge_ids[(id(d), id(e))] == 2
    assert edge_ids[(id(a), id(d))] == 1
    assert sum(edge_ids.values()) == sum(len(n._parents) for n in reachable(f))


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4, 10])
def test_ancestors_within_depth(depth):
    *_, f = sample_graph()
    kept = ancestors_within(f, depth)
    distance = distances(f)
    assert {id(n) for n in kept} == {id(n) for n, k in distance.items() if k <= depth}
    full = topological_order(f)
    assert kept == [n for n in full if any(n is m for m in kept)]  # a subsequence of the one order
    assert kept[-1] is f


def test_ancestors_within_rejects_a_negative_depth():
    with pytest.raises(ValueError, match=r"depth must be >= 0, got -1"):
        ancestors_within(Value(1.0), -1)


def test_backward_visits_in_the_shared_order():
    # backward() in the shared order: a node's gradient is complete before it is pushed to its parents,
    # which the reused and diamond-shaped sample graph would expose as a wrong gradient otherwise
    a, b, c, d, e, f = sample_graph()
    f.backward()

    av, bv = 2.0, -3.0
    cv = av * bv
    dv = cv + av
    ev = dv * dv
    df_de = 1 - math.tanh(ev) ** 2
    df_dd = df_de * 2 * dv
    df_dc = df_dd + math.exp(cv)
    assert d.grad == pytest.approx(df_dd, rel=1e-14)
    assert c.grad == pytest.approx(df_dc, rel=1e-14)
    assert a.grad == pytest.approx(df_dc * bv + df_dd, rel=1e-14)
    assert b.grad == pytest.approx(df_dc * av, rel=1e-14)
