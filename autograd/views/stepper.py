"""The backward pass as a sequence of inspectable steps: ``backward_steps(root)``.

A step processes one node of the graph exactly as ``Value.backward()`` does: it reads
the node's gradient ``g = ∂L/∂node`` (the *upstream* gradient) and pushes it to every
parent by the chain rule,

    ∂L/∂parent += ∂L/∂node · ∂node/∂parent,

in reversed ``topological_order(root)``, with the same reset of intermediate gradients
and the same seeding ``root.grad += gradient`` first. The arithmetic is the same
operations in the same order, so after the last step every ``.grad`` equals
``backward()``'s bit for bit.

Steps are the non-leaf nodes only: a leaf has no parents, so there is nothing to push
from it; its gradient is complete once the steps that feed it have run (their updates
show it).

>>> from autograd import Value
>>> from autograd.views.stepper import backward_steps
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
>>> steps = backward_steps(c)
>>> print(steps[0].explain())
step 1/1: c = a * b, ∂c/∂c = 1.0000
  ∂c/∂a += ∂c/∂c · ∂c/∂a = 1.0000 × -3.0000 = -3.0000   (∂c/∂a: 0.0000 → -3.0000)
  ∂c/∂b += ∂c/∂c · ∂c/∂b = 1.0000 × 2.0000 = 2.0000   (∂c/∂b: 0.0000 → 2.0000)

The sequence is lazy (nothing changes until a step is asked for) and replayable: steps
are recorded as they run, so any step can be read or drawn again, in any order, and is
drawn from the gradients recorded for that moment, not from the live ``.grad``.

Drawing: the graph is laid out once (one ``dot`` run per set of drawing options, see
``Drawing``), with every gradient field as wide as the widest text it will show; a step
is a state of that one drawing (the current node, the parents it just updated, the
gradients known so far), so nodes never move from one step to the next. The notebook
widget and the HTML page (``views.player``) apply those states in the browser.
"""

from __future__ import annotations

import numbers
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

from ..engine import Value, _own_backward, chain_rule
from ..files import write_atomically
from ..graph import topological_order
from .labels import (
    format_number,
    is_constant,
    negated,
    node_names,
)
from .step_drawing import Drawing, Picture

__all__ = ["BackwardSteps", "Drawing", "Picture", "Step", "Update", "backward_steps"]


@dataclass(frozen=True)
class Update:
    """One chain-rule update of a parent: ``after = before + contribution``, ``contribution = upstream · local``."""

    parent: Value
    local: Any  # ∂node/∂parent (None for a node with a hand-written micrograd _backward)
    contribution: Any
    before: Any
    after: Any
    names: Mapping[Value, str] = field(repr=False, compare=False)

    @property
    def parent_name(self) -> str:
        """The parent's name as it reads in ∂L/∂name (made when first read: a big pass names few nodes)."""
        return self.names[self.parent]


def operation_text(node: Value, name: Callable[[Value], str]) -> str:
    """The operation that made ``node``, in its operands as ``name`` writes them: ``x1 * w1``, ``-x``,
    ``x / y``, ``tanh(n)``, ``x**2`` (micrograd's '**k' op), ``x ** y``. (The forward and backward steppers'.)"""
    x = negated(node)
    if x is not None:
        return f"-{name(x)}"
    operands = [name(p) for p in node._parents]
    op = str(node._op)
    if (len(operands) == 2 and op in ("**", "/", "-")) or (len(operands) >= 2 and op in ("+", "*")):
        return f" {op} ".join(operands)
    if len(operands) == 1 and op.startswith("**"):  # a constant power, micrograd's symbol '**k'
        return f"{operands[0]}{op}"
    return f"{op}({', '.join(operands)})"


def step_index(index: object, count: int, direction: str) -> int:
    """``index`` (an int, negative from the end) as a position among ``count`` steps of the ``direction`` pass;
    ``TypeError``/``IndexError`` naming it otherwise."""
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"step index must be an int, got {type(index).__name__}")
    if not -count <= index < count:
        raise IndexError(f"step index {index} out of range: this {direction} pass has {count} steps")
    return index % count


class NodeStep:
    """What a step of either pass has (``Step`` backward, ``views.forward.ForwardStep`` forward): its
    position in the pass and the node it processes."""

    def __init__(self, steps: Any, index: int, node: Value):
        self._steps = steps
        self.index = index
        self.node = node

    @property
    def name(self) -> str:
        """The node's name as its pass writes it (inside ∂L/∂name in the backward pass)."""
        return str(self._steps.names[self.node])

    @property
    def number(self) -> int:
        """The step's number as a person reads it: 1 for the first step (``index + 1``)."""
        return self.index + 1


class Step(NodeStep):
    """One node of the backward pass: its upstream gradient and the updates it made to its parents."""

    _steps: "BackwardSteps"

    def __init__(self, steps: "BackwardSteps", index: int, node: Value, upstream: Any, updates: tuple[Update, ...]):
        super().__init__(steps, index, node)
        self.upstream = upstream
        self.updates = updates

    def __repr__(self) -> str:
        return f"Step(index={self.index}, node={self.name!r}, op={str(self.node._op)!r}, upstream={self.upstream!r})"

    def formula(self) -> str:
        """How this node was computed, in its operands' names: ``x1w1 = x1 * w1``, ``v2 = -x``, ``q = x / y``,
        ``o = tanh(n)``."""
        return f"{self.name} = {operation_text(self.node, self._steps.names.__getitem__)}"

    def explain(self, number: int | None = None, total: int | None = None) -> str:
        """The chain-rule lines of this step with numbers, e.g.
        ``∂o/∂w1 += ∂o/∂n · ∂n/∂w1 = 0.5000 × 2.0000 = 1.0000   (∂o/∂w1: 0.0000 → 1.0000)``.

        Constants (the ``2`` in ``x*2``) get their gradient too, as in ``backward()``, but it
        means nothing to anyone, so it is not listed. ``number``/``total`` renumber the step (a
        grouped drawing counts its frames, not the steps inside its boxes).
        """
        root = self._steps.root_name
        node = self.name
        where = f"step {number or self.number}/{total or len(self._steps)}"
        lines = [f"{where}: {self.formula()}, ∂{root}/∂{node} = {format_number(self.upstream)}"]
        for u in self.updates:
            if is_constant(u.parent):
                continue
            target = f"∂{root}/∂{u.parent_name}"
            change = f"({target}: {format_number(u.before)} → {format_number(u.after)})"
            if u.local is None:
                lines.append(
                    f"  {target} += (hand-written _backward of {node}) = {format_number(u.contribution)}   {change}"
                )
                continue
            numbers_ = f"{format_number(self.upstream)} × {format_number(u.local)} = {format_number(u.contribution)}"
            lines.append(f"  {target} += ∂{root}/∂{node} · ∂{node}/∂{u.parent_name} = {numbers_}   {change}")
        return "\n".join(lines)

    def grads(self) -> tuple[dict[Value, Any], set[Value]]:
        """The gradients right after this step and the nodes reached so far in this pass (the rest are unknown)."""
        return self._steps._state_after(self.index)

    def draw(self, **kwargs: Any) -> "Picture":
        """The graph right after this step: this node highlighted, its just-updated parents marked,
        gradients not yet reached in this pass shown as ``?``. Every step is drawn on the same layout
        (``BackwardSteps.drawing(**kwargs)``); keyword arguments are ``Drawing``'s options.
        """
        return Picture(self.to_svg(**kwargs))

    def to_svg(self, **kwargs: Any) -> str:
        """SVG text of ``draw(**kwargs)``, at its natural size."""
        drawing = self._steps.drawing(**kwargs)
        return drawing.frame_svg(drawing.frame_of_step[self.index])


def _gradient_seed(gradient: Any) -> float:
    if type(gradient) is float:
        return gradient
    if isinstance(gradient, numbers.Real) and not isinstance(gradient, Value):
        return float(gradient)
    raise TypeError(f"backward_steps(gradient=...) needs a real number, got {type(gradient).__name__} {gradient!r}")


class BackwardSteps(Sequence[Step]):
    """The backward pass of ``root`` as a lazy, replayable sequence of ``Step``s (see ``backward_steps``)."""

    def __init__(self, root: Value, gradient: float = 1.0):
        if not isinstance(root, Value):
            raise TypeError(f"backward_steps() needs an autograd.Value as root, got {type(root).__name__}")
        self.root = root
        self.gradient = _gradient_seed(gradient)
        self.root_name = _math_name(root.label) if root.label else "L"
        self._done: list[Step] = []
        self._initial: dict[Value, Any] | None = None
        self._drawings: dict[tuple[Any, ...], Drawing] = {}

    # ---- the graph, read when first needed (a drawing too big to make is refused before this walk)

    @cached_property
    def order(self) -> list[Value]:
        """``topological_order(root)``: the order of ``backward()``; the steps are its non-leaves, reversed."""
        return topological_order(self.root)

    @cached_property
    def _pending(self) -> list[Value]:
        return [node for node in reversed(self.order) if node._parents]

    @cached_property
    def names(self) -> Mapping[Value, str]:
        """Each node's name inside ∂L/∂name: the drawing's name, parenthesized unless a simple identifier."""
        return _MathNames(node_names(self.order))

    # ---- running

    def _start(self) -> None:
        """Reset intermediate gradients and seed the root, exactly as backward() does."""
        if self._initial is not None:
            return
        for node in self.order:
            if node._parents:
                node.grad = 0.0
        self.root.grad += self.gradient
        self._initial = {node: node.grad for node in self.order}

    def _advance(self) -> Step:
        """Process the next node: parent.grad += node.grad · ∂node/∂parent for each parent."""
        self._start()
        index = len(self._done)
        node = self._pending[index]
        g = node.grad
        updates = []
        names = self.names
        local = node._local_grads
        if local is None or _own_backward(node) is not None:  # a hand-written _backward: run it as backward() does
            before = [parent.grad for parent in node._parents]
            node._backward()
            for parent, b in zip(node._parents, before):
                updates.append(Update(parent, None, parent.grad - b, b, parent.grad, names))
        else:
            for parent, d, flow in zip(node._parents, local, chain_rule(g, local)):  # backward()'s step
                before = parent.grad
                if flow is not None:  # None: a zero factor contributes nothing
                    parent.grad += flow
                updates.append(Update(parent, d, 0.0 if flow is None else flow, before, parent.grad, names))
        step = Step(self, index, node, g, tuple(updates))
        self._done.append(step)
        return step

    def run(self) -> "BackwardSteps":
        """Run all remaining steps; afterwards every ``.grad`` equals ``backward()``'s."""
        self._start()
        while len(self._done) < len(self._pending):
            self._advance()
        return self

    # ---- the sequence

    def __len__(self) -> int:
        return len(self._pending)

    @overload
    def __getitem__(self, index: int) -> Step: ...

    @overload
    def __getitem__(self, index: slice) -> list[Step]: ...

    def __getitem__(self, index: int | slice) -> Step | list[Step]:
        """Step ``index`` (running the pass up to it if needed)."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        index = step_index(index, len(self), "backward")
        while len(self._done) <= index:
            self._advance()
        return self._done[index]

    def __iter__(self) -> Iterator[Step]:
        self._start()
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        return f"BackwardSteps(root={self.root_name!r}, steps={len(self)}, done={len(self._done)})"

    def _state_after(self, index: int) -> tuple[dict[Value, Any], set[Value]]:
        """Gradients after step ``index`` (replayed from the recorded updates) and the nodes reached so far."""
        self[index]
        assert self._initial is not None
        grads = dict(self._initial)
        reached = {self.root}
        for step in self._done[: index + 1]:
            for u in step.updates:
                grads[u.parent] = u.after
                reached.add(u.parent)
        return grads, reached

    # ---- text, notebook and HTML

    def seed_line(self) -> str:
        """``backward pass of L: seed ∂L/∂L = 1.0000``."""
        root = self.root_name
        return f"backward pass of {root}: seed ∂{root}/∂{root} = {format_number(self.gradient)}"

    def explain(self) -> str:
        """Every step's explanation, one block per step (runs the whole pass)."""
        self.run()
        head = self.seed_line()
        if not len(self):
            return head + f"\n({self.root_name} is a leaf: there are no steps)"
        return "\n".join([head] + [step.explain() for step in self])

    def drawing(self, **options: Any) -> "Drawing":
        """The graph of this pass laid out once for these drawing options (cached): every step is a state of it."""
        key = tuple(sorted((name, _frozen(value)) for name, value in options.items()))
        if key not in self._drawings:
            self._drawings[key] = Drawing(self, **options)
        return self._drawings[key]

    def widget(self, **options: Any) -> Any:
        """A notebook widget to step through the pass: slider (1-based), prev/next, Play, zoom and pan,
        the drawing (laid out once, the current node kept in view) and the explanation.

        Set or read ``widget.step`` (1 to ``len(steps)``); ``widget.text`` is that step's explanation.
        Keyword arguments are ``Drawing``'s options.
        """
        from .player import widget_class

        if not self.root._parents:
            raise ValueError(f"backward_steps({self.root_name}): the root is a leaf, there are no steps to show")
        return widget_class()(self.drawing(**options), options)

    def to_html(self, title: str | None = None, **options: Any) -> str:
        """One self-contained HTML page: the drawing laid out once, a slider over every step (no cap),
        Play, ←/→ keys, zoom and pan, ``page.html#step-3`` opens at step 3; no network."""
        from .player import page

        if title is None:
            title = f"stepgrad: backward pass of {self.root_name}"
        if not self.root._parents:
            raise ValueError(f"backward_steps({self.root_name}): the root is a leaf, there are no steps to show")
        return page(self.drawing(**options), title)

    def save_html(self, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
        """Write ``to_html(**kwargs)`` to ``path`` atomically (nothing written if rendering fails); returns the path."""
        return write_atomically(path, self.to_html(**kwargs))


def backward_steps(root: Value, gradient: float = 1.0) -> BackwardSteps:
    """The backward pass of ``root`` as steps: ``parent.grad += node.grad · ∂node/∂parent``, one node at a time.

    Same order and arithmetic as ``root.backward(gradient)``; ``.run()`` finishes it.

    >>> steps = backward_steps(o)               # doctest: +SKIP
    >>> print(steps[0].explain()); steps[0].draw()   # doctest: +SKIP

    ``root`` may also be a node of a learner's own micrograd-like class: stepgrad's pass runs over a
    copy of its graph, and each step also shows the learner's gradient (``autograd.check``).
    """
    if not issubclass(type(root), Value):  # a learner's own micrograd-like graph (type-based: reads no attribute)
        from ..check import foreign_steps
        from ..foreign import is_foreign_node

        if is_foreign_node(root):
            return foreign_steps(root, gradient)
    return BackwardSteps(root, gradient)


class _MathNames(Mapping[Value, str]):
    """``NodeNames`` as they read inside ∂L/∂name (constants stay as they are: ``2``, ``-1``)."""

    def __init__(self, names: Mapping[Value, str]):
        self._names = names

    def __getitem__(self, node: Value) -> str:
        name = self._names[node]
        return name if is_constant(node) else _math_name(name)

    def __iter__(self) -> Iterator[Value]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _frozen(value: Any) -> Any:
    """A drawing option as a dictionary key (``open=[...]`` is a list)."""
    if isinstance(value, (list, tuple, set)):
        return tuple(_frozen(v) for v in value)
    return value


def _math_name(name: str) -> str:
    """A node name as it reads inside ∂L/∂name: parenthesized unless it is a simple identifier like ``w1``."""
    return name if name.isidentifier() else f"({name})"
