"""The one topological order of an expression graph, shared by backward, drawing and the stepper.

A node is anything with a ``_parents`` tuple (``autograd.Value``). The order is computed
iteratively, so a graph a million nodes deep needs no recursion.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def topological_order(root: Any) -> list[Any]:
    """Every node ``root`` depends on, parents before children, ``root`` last.

    Depth-first post-order without recursion: a node is appended once all of its
    parents have been appended. Reverse it to walk the graph from the output back
    to the inputs, which is the order reverse accumulation needs.
    """
    order: list[Any] = []
    append = order.append
    seen = {root}
    add = seen.add
    # Each stack entry is a node and an iterator over the parents still to visit.
    stack = [(root, iter(root._parents))]
    push = stack.append
    pop = stack.pop
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in seen:
                add(parent)
                if parent._parents:
                    push((parent, iter(parent._parents)))
                    break
                append(parent)  # a leaf is finished as soon as it is seen
        else:
            pop()
            append(node)
    return order


def trace(root: Any) -> tuple[list[Any], list[tuple[Any, Any]]]:
    """The nodes of ``root``'s graph in topological order and its edges ``(parent, child)``.

    An operand used twice by one node (``a * a``) gives two edges, one per use.
    """
    nodes = topological_order(root)
    edges = [(parent, node) for node in nodes for parent in node._parents]
    return nodes, edges


def ancestors_within(root: Any, depth: int) -> list[Any]:
    """The nodes at most ``depth`` edges upstream of ``root`` (``root`` is depth 0), in topological order."""
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    keep = {root}
    frontier: Iterable[Any] = [root]
    for _ in range(depth):
        nxt = []
        for node in frontier:
            for parent in node._parents:
                if parent not in keep:
                    keep.add(parent)
                    nxt.append(parent)
        frontier = nxt
    return [node for node in topological_order(root) if node in keep]
