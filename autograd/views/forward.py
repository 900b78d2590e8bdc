"""The forward pass as a sequence of steps: ``forward_steps(root)``, beside ``backward_steps``.

A step is one operation of the graph in ``topological_order(root)``: the node computed, the inputs it
read, and the operation written out with numbers, e.g. ``n = x1w1x2w2 + b = -6.0000 + 6.8814 = 0.8814``.
Leaves (inputs, parameters, constants) hold their data from the start; every other value shows
``data ?`` until the frame that computes it. The values were computed when the graph was built: the
steps replay that computation for the eye, reading each node's recorded ``data`` (nothing is recomputed).

Drawing: the same one-layout drawing, widget, HTML page and terminal text as the backward stepper
(``views.stepper``, ``views.player``): the current node yellow, the inputs it read green. In a
grouped drawing a frame is every step through one box ("forward through Layer 1 ×100"). Steps are
ordered box by box where the boxes allow it (a topological order of the boxes, each box's own steps in
the graph's order); where two boxes feed each other, a box's frame is split into parts instead, so no
value is ever shown before the frame that computes it.

>>> from autograd import Value
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
>>> print(forward_steps(c)[0].explain())
step 1/1: c = a * b = 2.0000 × -3.0000 = -6.0000
"""

from __future__ import annotations

import heapq
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any, cast, overload

from ..engine import Value
from ..files import write_atomically
from ..graph import topological_order
from .drawing import Scene, _check_options, build_digraph, render_svg
from .groups import Group
from .labels import GROUP_FILL, HIGHLIGHT_FILL, MARK_FILL, PLAIN_FILL, format_number, negated, node_names
from .layout import LAYOUT_TIMEOUT
from .stepper import Drawing, NodeStep, Picture, _frozen, operation_text, step_index

__all__ = ["ForwardStep", "ForwardSteps", "WholeStep", "forward_steps", "operation_text", "step_through"]

MAX_OPERANDS = 6  # numbers written out in one step's line; a longer sum is shortened with "…"
INFIX = {"+": "+", "*": "×", "/": "/", "-": "-"}


def _numbers_text(node: Value) -> str:
    """The operation with its operands' numbers: ``2.0000 × -3.0000``, ``tanh(0.8814)``, ``-6.0000 + … (17 terms)``."""
    x = negated(node)
    if x is not None:
        return f"-({format_number(x.data)})"
    op = str(node._op)
    parents = node._parents
    if len(parents) >= 2 and op in INFIX:
        shown = [format_number(p.data) for p in parents[:MAX_OPERANDS]]
        more = f" {INFIX[op]} … ({len(parents)} terms)" if len(parents) > MAX_OPERANDS else ""
        return f" {INFIX[op]} ".join(shown) + more
    if len(parents) == 2 and op == "**":
        return f"{format_number(parents[0].data)} ** {format_number(parents[1].data)}"
    if len(parents) == 1 and op.startswith("**"):
        return f"{format_number(parents[0].data)}{op}"
    return f"{op}({', '.join(format_number(p.data) for p in parents)})"


class ForwardStep(NodeStep):
    """One operation of the forward pass: the node computed from its inputs (``node._parents``)."""

    _steps: ForwardSteps

    def __repr__(self) -> str:
        return f"ForwardStep(index={self.index}, node={self.name!r}, op={str(self.node._op)!r})"

    @property
    def inputs(self) -> tuple[Value, ...]:
        """The values this operation read."""
        return tuple(self.node._parents)

    def formula(self) -> str:
        """``name = operation in names = operation in numbers = value``."""
        in_names = operation_text(self.node, self._steps.names.__getitem__)
        head = self.name if in_names == self.name else f"{self.name} = {in_names}"  # a label that says it already
        return f"{head} = {_numbers_text(self.node)} = {format_number(self.node.data)}"

    def explain(self, number: int | None = None, total: int | None = None) -> str:
        """``step 3/5: n = x1w1x2w2 + b = -6.0000 + 6.8814 = 0.8814``."""
        return f"step {number or self.number}/{total or len(self._steps)}: {self.formula()}"

    def draw(self, **kwargs: Any) -> Picture:
        """The graph at this step: this node yellow, its inputs green, values not computed yet ``data ?``."""
        drawing = self._steps.drawing(**kwargs)
        return Picture(drawing.frame_svg(drawing.frame_of_step[self.index]))


class ForwardSteps(Sequence[ForwardStep]):
    """The forward pass of ``root`` as ``ForwardStep``s, one per operation (see ``forward_steps``)."""

    def __init__(self, root: Value):
        if not isinstance(root, Value):
            raise TypeError(f"forward_steps() needs an autograd.Value as root, got {type(root).__name__}")
        self.root = root
        self._drawings: dict[tuple[Any, ...], ForwardDrawing] = {}

    @cached_property
    def order(self) -> list[Value]:
        """``topological_order(root)``: every value after the values it is computed from."""
        return topological_order(self.root)

    @cached_property
    def _steps(self) -> list[ForwardStep]:
        return [ForwardStep(self, k, node) for k, node in enumerate(n for n in self.order if n._parents)]

    @cached_property
    def names(self) -> Mapping[Value, str]:
        """Each value's name, as the drawing writes it."""
        return node_names(self.order)

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, index: int) -> ForwardStep: ...

    @overload
    def __getitem__(self, index: slice) -> list[ForwardStep]: ...

    def __getitem__(self, index: int | slice) -> ForwardStep | list[ForwardStep]:
        if isinstance(index, slice):
            return self._steps[index]
        return self._steps[step_index(index, len(self), "forward")]

    def __iter__(self) -> Iterator[ForwardStep]:
        return iter(self._steps)

    def __repr__(self) -> str:
        return f"ForwardSteps(root={self.names[self.root]!r}, steps={len(self)})"

    def seed_line(self) -> str:
        """``forward pass of L: the leaves hold their data; every other value is computed in turn``."""
        return f"forward pass of {self.names[self.root]}: the leaves hold their data; each step computes one value"

    def explain(self) -> str:
        """Every step's line, in order."""
        head = self.seed_line()
        if not len(self):
            return head + f"\n({self.names[self.root]} is a leaf: there are no steps)"
        return "\n".join([head] + [step.explain() for step in self])

    def drawing(self, **options: Any) -> ForwardDrawing:
        """The graph laid out once for these drawing options (cached): every step is a state of it."""
        key = tuple(sorted((name, _frozen(value)) for name, value in options.items()))
        if key not in self._drawings:
            self._drawings[key] = ForwardDrawing(self, **options)
        return self._drawings[key]

    def _check_steps(self) -> None:
        if not self.root._parents:
            raise ValueError(f"forward_steps({self.names[self.root]}): the root is a leaf, there are no steps to show")

    def widget(self, **options: Any) -> Any:
        """A notebook widget to step through the forward pass (the backward stepper's widget)."""
        from .player import widget_class

        self._check_steps()
        return widget_class()(self.drawing(**options), options)

    def to_html(self, title: str | None = None, **options: Any) -> str:
        """One self-contained HTML page of the forward pass (the backward stepper's player); no network."""
        from .player import page

        self._check_steps()
        return page(self.drawing(**options), title or f"stepgrad: forward pass of {self.names[self.root]}")

    def save_html(self, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
        """Write ``to_html(**kwargs)`` to ``path`` atomically; returns the path."""
        return write_atomically(path, self.to_html(**kwargs))


class _ForwardFrame:
    """What the player shows at once: one step, or every consecutive step through one box."""

    def __init__(self, drawing: ForwardDrawing, item: Any, steps: list[ForwardStep], part: int, parts: int):
        self.drawing = drawing
        self.index = 0
        self.item = item
        self.steps = steps
        self.part, self.parts = part, parts

    @property
    def number(self) -> int:
        return self.index + 1

    def explain(self) -> str:
        total = len(self.drawing.frames)
        if not isinstance(self.item, Group):
            return self.steps[0].explain(self.number, total)
        label = self.drawing.scene.group_label(self.item)
        part = f", part {self.part} of {self.parts}" if self.parts > 1 else ""
        last = self.steps[-1]
        return (
            f"step {self.number}/{total}: forward through {label}{part}: {len(self.steps)} values computed\n"
            f"  the last: {last.formula()}"
        )


class ForwardDrawing(Drawing):
    """The graph of a forward pass laid out once; each frame is a state of it (see ``Drawing``).

    A state gives each drawn value a fill (yellow: the frame's node or box, green: the inputs it
    read) and a data text (``data ?`` until the frame that computes it). Options as ``Drawing``'s,
    without ``show_grad`` and ``tint`` (there are no gradients yet).
    """

    legend = ((HIGHLIGHT_FILL, "computed now"), (MARK_FILL, "its inputs"), (None, "data ? = not computed yet"))

    def __init__(
        self,
        steps: ForwardSteps,
        *,
        rankdir: str = "LR",
        edge_labels: bool = False,
        depth: int | None = None,
        open: Any = None,
        max_nodes: int = 1000,
        timeout: float | None = LAYOUT_TIMEOUT,
    ):
        _check_options(rankdir, max_nodes, depth, "svg")
        self.steps = steps  # type: ignore[assignment]
        self.scene = Scene(steps.root, depth, max_nodes, open)
        self.tint = False
        self.records = self.scene.records
        self._record_set = set(self.records)
        self.items = [*self.records, *self.scene.groups]
        self.frames = _forward_frames(self, steps)  # type: ignore[assignment]
        self.frame_of_step = [0] * len(steps)
        for frame in self.frames:
            for step in frame.steps:
                self.frame_of_step[step.index] = frame.index
        digraph = build_digraph(self.scene, rankdir=rankdir, show_grad=False, edge_labels=edge_labels, timeout=timeout)
        self.svg = render_svg(digraph)
        self.show_grad = True  # _split: one text slot per value, here its data field (the last one drawn)
        self._split(self.svg)

    def _marks(self, frame: Any) -> set[Any]:
        return _inputs_of(self.item_of, frame)

    def states(self) -> Iterator[dict[Any, tuple[str, str, str | None]]]:
        """For each frame in order, the items whose state changed (all of them at the first frame)."""
        yield from _forward_states(self.items, self.frames, self.item_of)

    def state(self, index: int) -> dict[Any, tuple[str, str, str | None]]:
        """Every item's state in frame ``index`` (0-based)."""
        return _forward_state_at(self.items, self.frames, self.item_of, index)


def _forward_frames(drawing: Any, steps: ForwardSteps) -> list[_ForwardFrame]:
    """Runs of steps through one item of ``drawing``, in a box-by-box order where the boxes allow one."""
    item_of = drawing.item_of
    runs: list[tuple[Any, list[ForwardStep]]] = []
    for step in _box_by_box(list(steps), item_of):
        item = item_of(step.node)
        key = item if isinstance(item, Group) else step
        if runs and runs[-1][0] is key:
            runs[-1][1].append(step)
        else:
            runs.append((key, [step]))
    parts: dict[Any, int] = {}
    for key, _ in runs:
        parts[key] = parts.get(key, 0) + 1
    seen: dict[Any, int] = {}
    frames = []
    for key, run in runs:
        seen[key] = seen.get(key, 0) + 1
        item = key if isinstance(key, Group) else item_of(key.node)
        frames.append(_ForwardFrame(drawing, item, run, seen[key], parts[key]))
    for k, frame in enumerate(frames):
        frame.index = k
    return frames


def _inputs_of(item_of: Callable[[Value], Any], frame: Any) -> set[Any]:
    """The items holding the inputs a frame's steps read, other than its own."""
    return {item_of(p) for step in frame.steps for p in step.node._parents} - {None, frame.item}


def _forward_state(item: Any, current: Any, marks: set[Any], computed: set[Value]) -> tuple[str, str, str | None]:
    """(fill, border width, data text): yellow computed now, green its inputs, ``data ?`` until computed."""
    if isinstance(item, Group):
        text, plain = None, GROUP_FILL
    else:
        known = not item._parents or item in computed
        text, plain = (f"data {format_number(item.data)}" if known else "data ?"), PLAIN_FILL
    if item is current:
        return HIGHLIGHT_FILL, "2.5", text
    if item in marks:
        return MARK_FILL, "2", text
    return plain, "1", text


def _forward_states(
    items: list[Any], frames: Sequence[Any], item_of: Callable[[Value], Any]
) -> Iterator[dict[Any, tuple[str, str, str | None]]]:
    """Per frame, the items whose forward state changed (all of them at the first frame)."""
    computed: set[Value] = set()
    previous: set[Any] = set(items)
    for frame in frames:
        fresh = {step.node for step in frame.steps}
        computed |= fresh
        marks = _inputs_of(item_of, frame)
        touched = previous | marks | {frame.item} | {item_of(n) for n in fresh}
        yield {item: _forward_state(item, frame.item, marks, computed) for item in items if item in touched}
        previous = marks | {frame.item}


def _forward_state_at(
    items: list[Any], frames: Sequence[Any], item_of: Callable[[Value], Any], index: int
) -> dict[Any, tuple[str, str, str | None]]:
    frame = frames[index]
    computed = {step.node for f in frames[: index + 1] for step in f.steps}
    marks = _inputs_of(item_of, frame)
    return {item: _forward_state(item, frame.item, marks, computed) for item in items}


def _box_by_box(steps: list[ForwardStep], item_of: Callable[[Value], Any]) -> list[ForwardStep]:
    """The steps in a topological order that finishes each box before the next, when the boxes form a DAG
    (each box's own steps keep the graph's order); otherwise the graph's own order (runs are split)."""
    box = {step.node: item_of(step.node) for step in steps}
    if not any(isinstance(b, Group) for b in box.values()):
        return steps
    key = {node: (b if isinstance(b, Group) else node) for node, b in box.items()}
    members: dict[Any, list[ForwardStep]] = {}
    for step in steps:
        members.setdefault(key[step.node], []).append(step)
    after: dict[Any, set[Any]] = {k: set() for k in members}
    waiting = dict.fromkeys(members, 0)
    for step in steps:
        here = key[step.node]
        for parent in step.node._parents:
            there = key.get(parent)
            if there is not None and there is not here and here not in after[there]:
                after[there].add(here)
                waiting[here] += 1
    keys = list(members)  # in order of first appearance: Kahn's algorithm, taking the earliest box ready
    position = {k: i for i, k in enumerate(keys)}
    heap = [position[k] for k in keys if waiting[k] == 0]
    heapq.heapify(heap)
    ordered: list[ForwardStep] = []
    while heap:
        k = keys[heapq.heappop(heap)]
        ordered.extend(members[k])
        for nxt in after[k]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(heap, position[nxt])
    if len(ordered) != len(steps):  # the boxes feed each other: keep the graph's order, split the runs
        return steps
    return ordered


class _BothDrawing(Drawing):
    """The backward pass's drawing (the one layout, with gradient fields) with a data slot per value too."""

    data_slots = True


class _Numbered:
    """A frame of one pass, numbered across both passes: ``step 7/11 (backward): ...``."""

    def __init__(self, frame: Any, index: int, total: int, direction: str):
        self.frame, self.item, self.steps = frame, frame.item, frame.steps
        self.index, self.total, self.direction = index, total, direction

    @property
    def number(self) -> int:
        return self.index + 1

    def explain(self) -> str:
        text = str(self.frame.explain())
        rest = text.split(": ", 1)[1] if text.startswith("step ") else text
        return f"step {self.number}/{self.total} ({self.direction}): {rest}"


class WholeStep:
    """The forward pass of ``root``, then its backward pass, as one sequence of frames on one drawing
    (``step_through``): values appear as the forward pass computes them (``data ?`` before), then
    gradients as the backward pass reaches them (``grad ?`` before). ``backward_starts`` is the first
    backward frame (1-based); the player's slider marks it."""

    def __init__(self, root: Value, gradient: float = 1.0):
        from .stepper import BackwardSteps

        self.forward = ForwardSteps(root)
        self.backward = BackwardSteps(root, gradient)
        self.root = root
        self._drawings: dict[tuple[Any, ...], WholeDrawing] = {}

    def seed_line(self) -> str:
        """What the page says first: the two passes and the backward seed."""
        return f"{self.forward.seed_line()}; then the {self.backward.seed_line()}"

    def explain(self) -> str:
        """Both passes' text, forward first."""
        return self.forward.explain() + "\n" + self.backward.explain()

    def drawing(self, **options: Any) -> WholeDrawing:
        """The graph laid out once for these options (cached); frames of both passes are states of it."""
        key = tuple(sorted((name, _frozen(value)) for name, value in options.items()))
        if key not in self._drawings:
            self._drawings[key] = WholeDrawing(self, **options)
        return self._drawings[key]

    def widget(self, **options: Any) -> Any:
        """A notebook widget playing both passes (the stepper's widget)."""
        from .player import widget_class

        self.forward._check_steps()
        return widget_class()(self.drawing(**options), options)

    def to_html(self, title: str | None = None, **options: Any) -> str:
        """One self-contained page playing both passes; no network."""
        from .player import page

        self.forward._check_steps()
        name = self.forward.names[self.root]
        drawing = cast(Drawing, self.drawing(**options))  # the player reads what both kinds have (frames, states, ...)
        return page(drawing, title or f"stepgrad: one whole step of {name}, forward then backward")

    def save_html(self, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
        """Write ``to_html(**kwargs)`` to ``path`` atomically; returns the path."""
        return write_atomically(path, self.to_html(**kwargs))


class WholeDrawing:
    """Both passes on the backward stepper's one layout: forward frames, then backward frames.

    A state is (fill, border width, gradient text, data text): during the forward pass every gradient
    reads ``grad ?`` and values not computed yet ``data ?``; during the backward pass every value is known.
    """

    legend = (
        (HIGHLIGHT_FILL, "current node"),
        (MARK_FILL, "its inputs (forward), just updated (backward)"),
        (None, "? = not computed yet"),
    )

    def __init__(self, whole: WholeStep, **options: Any):
        self.steps = whole
        self.back = _BothDrawing(whole.backward, **options)  # the layout; refuses a graph too big to draw
        self.scene, self.items, self.item_of, self.ident = (
            self.back.scene,
            self.back.items,
            self.back.item_of,
            self.back.ident,
        )
        self.forward_frames = _forward_frames(self, whole.forward)
        count = len(self.forward_frames) + len(self.back.frames)
        self.backward_starts = len(self.forward_frames) + 1
        self.frames = [_Numbered(f, k, count, "forward") for k, f in enumerate(self.forward_frames)] + [
            _Numbered(f, self.backward_starts - 1 + k, count, "backward") for k, f in enumerate(self.back.frames)
        ]

    @staticmethod
    def _data(item: Any) -> str | None:
        return None if isinstance(item, Group) else f"data {format_number(item.data)}"

    def states(self) -> Iterator[dict[Any, tuple[str, str, str | None, str | None]]]:
        """For each frame in order, the items whose state changed (all of them at the first frame)."""
        for changes in _forward_states(self.items, self.forward_frames, self.item_of):
            yield {item: (fill, pen, self._unknown(item), data) for item, (fill, pen, data) in changes.items()}
        for changes in self.back.states():  # the first backward frame lists every item
            yield {item: (*state, self._data(item)) for item, state in changes.items()}

    def _unknown(self, item: Any) -> str | None:
        return None if isinstance(item, Group) or not self.back.show_grad else "grad ?"

    def state(self, index: int) -> dict[Any, tuple[str, str, str | None, str | None]]:
        """Every item's state in frame ``index`` (0-based)."""
        if index < len(self.forward_frames):
            forward = _forward_state_at(self.items, self.forward_frames, self.item_of, index)
            return {item: (fill, pen, self._unknown(item), data) for item, (fill, pen, data) in forward.items()}
        back = self.back.state(index - len(self.forward_frames))
        return {item: (*state, self._data(item)) for item, state in back.items()}

    def frame_svg(self, index: int) -> str:
        """The SVG of the drawing in the state of frame ``index`` (0-based)."""
        return self.back.svg_of(self.state(index))


def step_through(root: Value, gradient: float = 1.0) -> WholeStep:
    """One whole step of ``root``: its forward pass, then its backward pass, as frames on one drawing.

    >>> step_through(o).widget()            # doctest: +SKIP
    """
    return WholeStep(root, gradient)


def forward_steps(root: Value) -> ForwardSteps:
    """The forward pass of ``root`` as steps, one per operation in topological order (see the module).

    >>> steps = forward_steps(o)            # doctest: +SKIP
    >>> print(steps.explain()); steps.widget()   # doctest: +SKIP
    """
    return ForwardSteps(root)
