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
    append = order.append
    entered: set[Any] = set()
    enter = entered.add
    # The stack holds nodes to enter; a None above a node means "its parents are done: finish it".
    stack: list[Any] = [root]
    push = stack.append
    pop = stack.pop
    # `while True`, ended by IndexError on the empty stack, not `while stack`: CPython 3.11
    # specializes a function's bytecode only after 8 calls or 8 *unconditional* backward
    # jumps, and `while stack` jumps back conditionally, so a walk run once per training
    # step would stay unspecialized (about twice as slow) for the first eight steps.
    while True:
        try:
            node = pop()
        except IndexError:
            return order
        if node is None:
            append(pop())
        elif node not in entered:
            enter(node)
            parents = node._parents
            if parents:
                push(node)
                push(None)
                for parent in parents:
                    if parent not in entered and (leaves or parent._parents):
                        push(parent)
            elif leaves:
                append(node)


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
