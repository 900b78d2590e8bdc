"""Copying and pickling a ``Value`` and the graph behind it (``copy.copy``, ``copy.deepcopy``, ``pickle``).

Kept out of ``engine.py``, which a learner reads, and installed on ``Value`` by it. Both walk the graph in
``topological_order``, so a graph a million nodes deep copies and pickles without recursion:

- ``copy.copy(v)``: a new node with the same parents, op, local derivatives, gradient and attributes;
- ``copy.deepcopy(v)``: the whole graph behind ``v`` copied node by node, parents first;
- ``pickle``: a node pickles as (its ancestors, then itself); pickle saves the ancestors first, in
  topological order, so each one's parents are already saved when it is. Those ancestors are marked
  to pickle as themselves alone.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from . import engine, modes
from .graph import topological_order

_state = threading.local()


def _pickling() -> set[int]:
    """The nodes (by id) this thread is pickling as part of a graph already under way."""
    pending = getattr(_state, "pending", None)
    if pending is None:
        pending = _state.pending = set()
    return pending


def copy_value(self: Any) -> Any:
    """``copy.copy``: a twin node with the same parents (the graph behind it is shared)."""
    twin = engine._node(self._data, self._parents, self._op, self._local_grads)
    twin.grad = self.grad
    twin.__dict__.update(engine._attributes(self))
    return twin


def deepcopy_value(self: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy``: the graph behind ``self`` copied node by node in topological order (no recursion)."""
    if modes.active:
        modes.note_read(self)  # its leaves' numbers become the copy's: while compiled traces, a read
    for node in topological_order(self):
        if id(node) in memo:
            continue
        twin = engine._node(node._data, tuple(memo[id(p)] for p in node._parents), node._op, node._local_grads)
        memo[id(node)] = twin
        twin.grad = copy.deepcopy(node.grad, memo)
        for key, value in engine._attributes(node).items():
            setattr(twin, key, copy.deepcopy(value, memo))
    return memo[id(self)]


def reduce_value(self: Any, protocol: Any) -> tuple[Any, ...]:
    """``pickle``: (``unpickle``, (the ancestors not yet under way, then this node's state))."""
    if modes.active:
        modes.note_read(self)  # pickled bytes hold the numbers: while compiled traces, a read
    pending = _pickling()
    ancestors: list[Any] = []
    if self._parents and id(self) not in pending:
        ancestors = topological_order(self)[:-1]
        pending.update(id(node) for node in ancestors)
    pending.discard(id(self))
    state = (self._data, self.grad, self._op, self._parents, self._local_grads, engine._attributes(self) or None)
    return (unpickle, (ancestors, *state))


def unpickle(ancestors: list[Any], data: float, grad: Any, op: Any, parents: tuple[Any, ...],
             local: tuple[Any, ...] | None, extra: dict[str, Any] | None) -> Any:  # fmt: skip
    """A node rebuilt from its pickled state (its ``ancestors`` were rebuilt first, by pickle)."""
    node = engine._node(data, parents, op, local)
    node.grad = grad
    if extra:
        node.__dict__.update(extra)
    return node


def install(value_class: type) -> None:
    """Give ``Value`` its ``__copy__``, ``__deepcopy__`` and ``__reduce_ex__``."""
    methods = {"__copy__": copy_value, "__deepcopy__": deepcopy_value, "__reduce_ex__": reduce_value}
    for name, method in methods.items():
        setattr(value_class, name, method)
