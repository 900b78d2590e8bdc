"""Learners' own engines, as people write them while following micrograd's lecture and microgpt.

``micrograd_class(bug)`` is the lecture's ``Value`` (a set ``_prev``, an ``_op`` symbol, ``_backward``
closures); ``microgpt_class(bug)`` is microgpt's (``__slots__``, a ``_children`` tuple and
``_local_grads``, one chain-rule loop). ``bug`` injects one classic slip:

- ``"assign"``: ``=`` where ``+=`` accumulates (the slip the lecture's own notebook owns up to);
- ``"upstream"``: the local derivative without the upstream gradient (micrograd: in ``*`` only);
- ``"tanh_input"``: tanh's derivative from its input x, ``1 - x**2``, instead of its output;
- ``"order"``: the backward loop walks the topological order without ``reversed()``;
- ``"bfs"``: the backward loop walks nodes breadth-first from the output.

Gradients left from an earlier ``backward()`` need no bug: call ``backward()`` twice.
Nothing here imports ``autograd``: these are the learner's code, checked from outside.
"""

from __future__ import annotations

import math
from typing import Any

BUGS = ("assign", "upstream", "tanh_input", "order", "bfs")


def _walk(root: Any, parents: str, bug: str | None) -> list[Any]:
    """The visiting order of a learner's backward: reversed topological order (iterative), or the bug's."""
    if bug == "bfs":
        seen, queue = {id(root)}, [root]
        for node in queue:
            for p in getattr(node, parents):
                if id(p) not in seen:
                    seen.add(id(p))
                    queue.append(p)
        return queue
    topo: list[Any] = []
    visited: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            topo.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in getattr(node, parents))
    return topo if bug == "order" else list(reversed(topo))


def micrograd_class(bug: str | None = None) -> type:
    """The lecture's Value, with ``bug`` injected."""

    class Value:
        def __init__(self, data, _children=(), _op="", label=""):
            self.data = data
            self.grad = 0.0
            self._backward = lambda: None
            self._prev = set(_children)
            self._op = _op
            self.label = label

        def __repr__(self):
            return f"Value(data={self.data})"

        def __add__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data + other.data, (self, other), "+")

            def _backward():
                if bug == "assign":
                    self.grad = 1.0 * out.grad
                    other.grad = 1.0 * out.grad
                else:
                    self.grad += 1.0 * out.grad
                    other.grad += 1.0 * out.grad

            out._backward = _backward
            return out

        def __mul__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Value(self.data * other.data, (self, other), "*")

            def _backward():
                if bug == "assign":
                    self.grad = other.data * out.grad
                    other.grad = self.data * out.grad
                elif bug == "upstream":
                    self.grad += other.data
                    other.grad += self.data
                else:
                    self.grad += other.data * out.grad
                    other.grad += self.data * out.grad

            out._backward = _backward
            return out

        def __pow__(self, other):
            out = Value(self.data**other, (self,), f"**{other}")

            def _backward():
                self.grad += other * (self.data ** (other - 1)) * out.grad

            out._backward = _backward
            return out

        def __rmul__(self, other):
            return self * other

        def __radd__(self, other):
            return self + other

        def __truediv__(self, other):
            return self * other**-1

        def __neg__(self):
            return self * -1

        def __sub__(self, other):
            return self + (-other)

        def tanh(self):
            x = self.data
            t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
            out = Value(t, (self,), "tanh")

            def _backward():
                if bug == "tanh_input":
                    self.grad += (1 - x**2) * out.grad
                else:
                    self.grad += (1 - t**2) * out.grad

            out._backward = _backward
            return out

        def exp(self):
            out = Value(math.exp(self.data), (self,), "exp")

            def _backward():
                self.grad += out.data * out.grad

            out._backward = _backward
            return out

        def relu(self):
            out = Value(0 if self.data < 0 else self.data, (self,), "ReLU")

            def _backward():
                self.grad += (out.data > 0) * out.grad

            out._backward = _backward
            return out

        def backward(self):
            order = _walk(self, "_prev", bug)
            self.grad = 1.0
            for node in order:
                node._backward()

    return Value


def microgpt_class(bug: str | None = None) -> type:
    """microgpt's Value (slots, children, local grads), with ``bug`` injected; plus a tanh."""

    class Value:
        __slots__ = ("data", "grad", "_children", "_local_grads")

        def __init__(self, data, children=(), local_grads=()):
            self.data = data
            self.grad = 0
            self._children = children
            self._local_grads = local_grads

        def __add__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            return Value(self.data + other.data, (self, other), (1, 1))

        def __mul__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            return Value(self.data * other.data, (self, other), (other.data, self.data))

        def __pow__(self, other):
            return Value(self.data**other, (self,), (other * self.data ** (other - 1),))

        def log(self):
            return Value(math.log(self.data), (self,), (1 / self.data,))

        def exp(self):
            return Value(math.exp(self.data), (self,), (math.exp(self.data),))

        def relu(self):
            return Value(max(0, self.data), (self,), (float(self.data > 0),))

        def tanh(self):
            t = math.tanh(self.data)
            local = 1 - self.data**2 if bug == "tanh_input" else 1 - t**2
            return Value(t, (self,), (local,))

        def __neg__(self):
            return self * -1

        def __radd__(self, other):
            return self + other

        def __sub__(self, other):
            return self + (-other)

        def __rmul__(self, other):
            return self * other

        def __truediv__(self, other):
            return self * other**-1

        def backward(self):
            order = _walk(self, "_children", bug)
            self.grad = 1
            for v in order:
                for child, local_grad in zip(v._children, v._local_grads):
                    if bug == "assign":
                        child.grad = local_grad * v.grad
                    elif bug == "upstream":
                        child.grad += local_grad
                    else:
                        child.grad += local_grad * v.grad

    return Value
