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
>>> from autograd.stepper import backward_steps
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
widget and the HTML page (``autograd.player``) apply those states in the browser.
"""

from __future__ import annotations

import html
import math
import numbers
import os
import pathlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, overload

from .engine import Value, _own_backward, chain_rule
from .files import write_atomically
from .graph import topological_order
from .groups import Group
from .layout import LAYOUT_TIMEOUT
from .viz import (
    GROUP_FILL,
    HIGHLIGHT_FILL,
    MARK_FILL,
    PLAIN_FILL,
    Scene,
    _as_float,
    _check_options,
    _tint,
    build_digraph,
    drawing_bundle,
    format_number,
    is_constant,
    negated,
    node_names,
    render_svg,
)

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
    """What a step of either pass has (``Step`` backward, ``autograd.forward.ForwardStep`` forward): its
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


class Picture:
    """One drawn frame: its SVG text (``.svg``), shown in Jupyter at the cell's width, never below readable."""

    def __init__(self, svg: str):
        self.svg = svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **_: Any) -> dict[str, str]:
        return drawing_bundle(self.svg, exclude)

    def __repr__(self) -> str:
        return f"Picture({len(self.svg)} characters of SVG)"


_GROUP = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>.*?</g>', re.S)


def _text_width(text: str) -> int:
    """Roughly how wide ``text`` is in Helvetica (thousandths of an em), to find the widest gradient text."""
    narrow = {".": 278, ",": 278, "-": 333, " ": 278, "i": 222, "f": 278, "?": 556}
    return sum(narrow.get(ch, 556) for ch in text)


class Frame:
    """What the player shows at once: one step, or, in a grouped drawing, the steps through one box, shown
    when the last of them is done (a true moment of the pass); a box whose steps interleave with another
    frame's that update drawn values is split into parts (``Drawing._frames``)."""

    def __init__(self, drawing: Drawing, item: Any, steps: list[Step]):
        self.drawing = drawing
        self.index = 0  # set once the frames are in order
        self.item = item  # the drawn value or Group the steps go through (None: outside the drawing)
        self.steps = steps
        self.last = steps[-1].index  # the step of the pass after which this frame is shown
        self.part: tuple[int, int] | None = None  # (k, n): part k of n, for a box whose steps had to be split

    @property
    def number(self) -> int:
        return self.index + 1

    def explain(self) -> str:
        """The step's explanation, or for a box: how many steps went through it and what they updated."""
        total = len(self.drawing.frames)
        if not isinstance(self.item, Group):
            return self.steps[0].explain(self.number, total)
        names = self.drawing.steps.names
        root = self.drawing.steps.root_name
        label = self.drawing.scene.group_label(self.item)
        if self.part is not None:
            label += f", part {self.part[0]} of {self.part[1]}"
        lines = [
            f"step {self.number}/{total}: backward through {label}: {_count(len(self.steps), 'step')} "
            f"(the last is step {self.last + 1} of the pass)"
        ]
        into: dict[Any, list[Any]] = {}
        for step in self.steps:
            for u in step.updates:
                item = self.drawing.item_of(u.parent)
                if item is not None and item is not self.item and not is_constant(u.parent):
                    into.setdefault(item, []).append(u)
        boxes = [item for item in into if isinstance(item, Group)]
        for item, updates in into.items():
            if not isinstance(item, Group):  # every drawn gradient the frame changed is named: its cause
                before, after = updates[0].before, updates[-1].after
                lines.append(f"  ∂{root}/∂{names[item]}: {format_number(before)} → {format_number(after)}")
        for item in boxes[:MAX_LINES]:
            lines.append(f"  into {self.drawing.scene.group_label(item)}: {_count(len(into[item]), 'gradient update')}")
        if len(boxes) > MAX_LINES:
            lines.append(f"  … and {len(boxes) - MAX_LINES} more boxes")
        return "\n".join(lines)


MAX_LINES = 12  # boxes listed for a box's frame (the drawn values it updated are all listed)


def _count(n: int, noun: str) -> str:
    """``1 step``, ``20 steps``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Drawing:
    """The graph of a backward pass laid out once (one ``dot`` run); each frame is a state of it.

    A frame is one step, or, in a grouped drawing (``autograd.groups``), the steps that go through one
    box ("backward through softmax"), split into parts where needed so that a drawn gradient changes only
    in the frame that computes it. A state gives each drawn value a fill (yellow:
    the frame's node or box, green: what it just updated), a border width and a gradient text
    (``grad ?`` until the pass reaches it). The gradient fields are laid out as wide as the widest
    text they will show, so applying a state changes colours and texts only: nothing moves.

    Options: ``rankdir``, ``show_grad``, ``tint``, ``edge_labels``, ``depth``, ``open``,
    ``max_nodes``, ``timeout`` (as in ``draw_dot``). A graph too big to draw is refused before the
    pass runs.
    """

    data_slots = False  # True: each value's data text changes from frame to frame too (autograd.forward)

    def __init__(
        self,
        steps: BackwardSteps,
        *,
        rankdir: str = "LR",
        show_grad: bool = True,
        tint: bool = False,
        edge_labels: bool = False,
        depth: int | None = None,
        open: Any = None,
        max_nodes: int = 1000,
        timeout: float | None = LAYOUT_TIMEOUT,
    ):
        _check_options(rankdir, max_nodes, depth, "svg")
        self.steps = steps
        self.scene = Scene(steps.root, depth, max_nodes, open)  # refuses a graph too big to draw, at once
        self.show_grad = show_grad
        self.tint = tint
        steps.run()
        self.records = self.scene.records
        self._record_set = set(self.records)
        self.items: list[Any] = [*self.records, *self.scene.groups]
        self.frames = self._frames()
        self.frame_of_step = [0] * len(steps)
        for k, frame in enumerate(self.frames):
            frame.index = k
            for step in frame.steps:
                self.frame_of_step[step.index] = k
        widest: dict[Value, str] = {}
        for node in self.records:
            texts = ["grad ?", self._grad_text(steps._initial[node] if steps._initial else node.grad)]
            widest[node] = max(texts, key=_text_width)
        for step in steps:
            for u in step.updates:
                if u.parent in widest:
                    widest[u.parent] = max(widest[u.parent], self._grad_text(u.after), key=_text_width)
        digraph = build_digraph(
            self.scene, rankdir=rankdir, show_grad=show_grad, grad_text=widest.__getitem__,
            edge_labels=edge_labels, timeout=timeout,
        )  # fmt: skip
        self.svg = render_svg(digraph)  # the one layout
        self._split(self.svg)

    def _frames(self) -> list[Frame]:
        """The frames, in the order of the pass (backward()'s order: the steps are never reordered).

        A step through a box joins that box's frame; a step of a drawn value is a frame of its own. A
        frame is shown right after its last step, so what it shows is a true moment of the pass. The
        pass interleaves boxes, so a frame is cut short where the invariant demands it: **a drawn value's
        gradient changes only in the frame whose steps changed it** (the frame draws it as just updated
        and says so). A step is *visible* if it updates a drawn value; the frame holding visible steps
        not yet shown (at most one, the *hot* frame) is shown before any other frame's step that is
        visible or that ends a frame. Steps that update only boxes and hidden values change nothing a
        frame shows, so their frames stay open across the others: a box is split into parts ("part 1
        of 2") only where its visible steps interleave with another frame's.
        """
        drawn = self._record_set
        last_of: dict[Any, int] = {}  # each key's last step
        keys = []
        for step in self.steps:
            item = self.item_of(step.node)
            key = item if isinstance(item, Group) else step  # a value (or one not drawn): a frame per step
            keys.append(key)
            last_of[key] = step.index
        frames: list[Frame] = []
        open_: dict[Any, list[Step]] = {}
        hot: Any = None

        def show(key: Any) -> None:
            taken = open_.pop(key)
            item = key if isinstance(key, Group) else self.item_of(key.node)
            frames.append(Frame(self, item, taken))

        for step, key in zip(self.steps, keys):
            visible = any(u.parent in drawn for u in step.updates)
            ends = last_of[key] == step.index
            if hot is not None and hot is not key and (visible or ends):
                show(hot)
                hot = None
            open_.setdefault(key, []).append(step)
            if ends:
                show(key)
                hot = None if hot is key else hot
            elif visible:
                hot = key
        assert not open_ and hot is None
        parts: dict[Any, list[Frame]] = {}
        for frame in frames:
            if isinstance(frame.item, Group):
                parts.setdefault(frame.item, []).append(frame)
        for split in parts.values():
            if len(split) > 1:
                for k, frame in enumerate(split):
                    frame.part = (k + 1, len(split))
        return frames

    def item_of(self, node: Value) -> Any:
        """What stands for ``node`` in the drawing: itself, its box, or None (not drawn)."""
        return node if node in self._record_set else self.scene.group_of.get(node)

    def ident(self, item: Any) -> str:
        """The DOT name of a drawn value or box."""
        return item.ident if isinstance(item, Group) else self.scene.ident[item]

    @staticmethod
    def _grad_text(g: Any) -> str:
        return f"grad {format_number(g)}"

    def _split(self, svg: str) -> None:
        """Cut the SVG into fixed text and, per item, the places of its fill, border width and gradient text."""
        by_ident = {self.ident(item): item for item in self.items}
        self._pieces: list[str] = []
        self._slots: list[tuple[Any, str]] = []  # (item, "fill" | "text") between consecutive pieces
        last = 0
        for match in _GROUP.finditer(svg):
            item = by_ident.get(html.unescape(match.group(1)))
            if item is None:
                continue
            group_start = match.start()
            fill = svg.index('fill="', group_start) + len('fill="')
            fill_end = svg.index('"', fill)
            self._pieces.append(svg[last:fill])
            self._slots.append((item, "fill"))
            last = fill_end
            if self.data_slots and not isinstance(item, Group):  # the data field: the text before the grad field
                text = svg.rindex("<text", group_start, svg.rindex("<text", group_start, match.end()))
                text_start = svg.index(">", text) + 1
                self._pieces.append(svg[last:text_start])
                self._slots.append((item, "data"))
                last = svg.index("</text>", text_start)
            if self.show_grad and not isinstance(item, Group):
                text = svg.rindex("<text", group_start, match.end())
                text_start = svg.index(">", text) + 1
                text_end = svg.index("</text>", text_start)
                self._pieces.append(svg[last:text_start])
                self._slots.append((item, "text"))
                last = text_end
        self._pieces.append(svg[last:])

    # ---- states

    def states(self) -> Iterator[dict[Any, tuple[str, str, str | None]]]:
        """For each frame in order, the items whose state changed (all of them at the first frame):
        ``{item: (fill, border width, gradient text or None)}``."""
        steps = self.steps
        assert steps._initial is not None
        grads = dict(steps._initial)
        reached = {steps.root}
        previous: set[Any] = set(self.items)
        done = 0  # steps of the pass applied so far
        for frame in self.frames:
            for step in steps[done : frame.last + 1]:
                for u in step.updates:
                    grads[u.parent] = u.after
                    reached.add(u.parent)
            done = frame.last + 1
            marks = self._marks(frame)
            touched = previous | marks | {frame.item}
            if self.tint:
                touched = set(self.items)
            largest = self._largest(grads, reached) if self.tint else 0.0
            yield {
                item: self._state(item, frame.item, marks, grads, reached, largest)
                for item in self.items
                if item in touched
            }
            previous = marks | {frame.item}

    def _marks(self, frame: Frame) -> set[Any]:
        """The items a frame's steps updated, other than its own."""
        return {self.item_of(u.parent) for step in frame.steps for u in step.updates} - {None, frame.item}

    def state(self, index: int) -> dict[Any, tuple[str, str, str | None]]:
        """Every item's state in frame ``index`` (0-based)."""
        frame = self.frames[index]
        grads, reached = self.steps._state_after(frame.last)
        marks = self._marks(frame)
        largest = self._largest(grads, reached) if self.tint else 0.0
        return {item: self._state(item, frame.item, marks, grads, reached, largest) for item in self.items}

    def _largest(self, grads: dict[Value, Any], reached: set[Value]) -> float:
        mags = [abs(_as_float(grads[n])) for n in self.records if n in reached]
        return max((m for m in mags if math.isfinite(m)), default=0.0)

    def _state(
        self,
        item: Any,
        current: Any,
        marks: set[Any],
        grads: dict[Value, Any],
        reached: set[Value],
        largest: float,
    ) -> tuple[str, str, str | None]:
        plain = GROUP_FILL if isinstance(item, Group) else PLAIN_FILL
        text = None
        if self.show_grad and not isinstance(item, Group):
            text = self._grad_text(grads[item]) if item in reached else "grad ?"
        if item is current:
            return HIGHLIGHT_FILL, "2.5", text
        if item in marks:
            return MARK_FILL, "2", text
        if self.tint and item in reached and not isinstance(item, Group):
            return _tint(abs(_as_float(grads[item])), largest), "1", text
        return plain, "1", text

    def frame_svg(self, index: int) -> str:
        """The SVG of the drawing in the state of frame ``index`` (0-based)."""
        return self.svg_of(self.state(index))

    def svg_of(self, state: Mapping[Any, tuple[Any, ...]]) -> str:
        """The SVG of the drawing in ``state`` ({item: (fill, border width, gradient text[, data text])})."""
        out = [self._pieces[0]]
        for (item, slot), piece in zip(self._slots, self._pieces[1:]):
            fill, pen, text, *data = state[item]  # a drawing with data slots: (fill, pen, grad text, data text)
            if slot == "fill":
                out.append(f'{fill}" stroke-width="{pen}')
            else:
                out.append(html.escape((data[0] if slot == "data" else text) or ""))
            out.append(piece)
        return "".join(out)


def backward_steps(root: Value, gradient: float = 1.0) -> BackwardSteps:
    """The backward pass of ``root`` as steps: ``parent.grad += node.grad · ∂node/∂parent``, one node at a time.

    Same order and arithmetic as ``root.backward(gradient)``; ``.run()`` finishes it.

    >>> steps = backward_steps(o)               # doctest: +SKIP
    >>> print(steps[0].explain()); steps[0].draw()   # doctest: +SKIP

    ``root`` may also be a node of a learner's own micrograd-like class: stepgrad's pass runs over a
    copy of its graph, and each step also shows the learner's gradient (``autograd.check``).
    """
    if not issubclass(type(root), Value):  # a learner's own micrograd-like graph (type-based: reads no attribute)
        from .check import foreign_steps
        from .foreign import is_foreign_node

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
