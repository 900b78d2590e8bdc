r"""The stepper's drawing: a pass laid out once (one ``dot`` run), each frame a state of that one layout.

``Drawing`` (and its ``Frame``\ s) turns the steps of ``stepper.BackwardSteps`` into per-frame states (fill,
border, gradient text of each drawn value) that ``player`` applies in the browser and ``frame_svg`` writes
as SVG; ``forward.ForwardDrawing`` is its twin for the forward pass. ``Picture`` is one drawn frame.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..engine import Value
from .drawing import Scene, _check_options, build_digraph, drawing_bundle, render_svg
from .groups import Group
from .labels import GROUP_FILL, HIGHLIGHT_FILL, MARK_FILL, PLAIN_FILL, _as_float, _tint, format_number, is_constant
from .layout import LAYOUT_TIMEOUT

if TYPE_CHECKING:  # pragma: no cover
    from .stepper import BackwardSteps, Step

__all__ = ["Drawing", "Frame", "Picture"]


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

    A frame is one step, or, in a grouped drawing (``views.groups``), the steps that go through one
    box ("backward through softmax"), split into parts where needed so that a drawn gradient changes only
    in the frame that computes it. A state gives each drawn value a fill (yellow:
    the frame's node or box, green: what it just updated), a border width and a gradient text
    (``grad ?`` until the pass reaches it). The gradient fields are laid out as wide as the widest
    text they will show, so applying a state changes colours and texts only: nothing moves.

    Options: ``rankdir``, ``show_grad``, ``tint``, ``edge_labels``, ``depth``, ``open``,
    ``max_nodes``, ``timeout`` (as in ``draw_dot``). A graph too big to draw is refused before the
    pass runs.
    """

    data_slots = False  # True: each value's data text changes from frame to frame too (views.forward)

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
