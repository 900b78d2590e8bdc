"""The one topological order of an expression graph, shared by backward, drawing and the stepper.

A node is anything with a ``_parents`` tuple (``autograd.Value``). The order is computed
iteratively, so a graph a million nodes deep needs no recursion.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def topological_order(root: Any, leaves: bool = True) -> list[Any]:
    """Every node ``root`` depends on, parents before children, ``root`` last.

    Depth-first post-order without recursion: a node is appended once all of its
    parents have been appended. Reverse it to walk the graph from the output back
    to the inputs, which is the order reverse accumulation needs. With
    ``leaves=False`` the nodes without parents are left out (backward needs only the
    others); the remaining nodes keep exactly the same relative order.
    """
    order: list[Any] = []
    entered: set[Any] = set()
    # The stack holds nodes to enter; a None above a node means "its parents are done: finish it".
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is None:
            order.append(stack.pop())
        elif node not in entered:
            entered.add(node)
            parents = node._parents
            if parents:
                stack.append(node)
                stack.append(None)
                for parent in parents:
                    if parent not in entered and (leaves or parent._parents):
                        stack.append(parent)
            elif leaves:
                order.append(node)
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
