"""What a drawing writes: the names of values, numbers, constants, labels cut to size, and the colours.

Shared by every view (``drawing``, ``stepper``, ``forward``, ``player``): ``format_number`` (4 decimals),
``node_names`` (a label, a constant's value, ``L`` for an unlabelled root, else ``v1``, ``v2``, … in the
order an evaluation computes them), ``shorten`` (``MAX_LABEL`` characters), the fills of a node's states.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping
from typing import Any

from ..engine import Value

RANKDIRS = ("LR", "TB", "RL", "BT")

# Colours (fill) of the states a node can be in.
HIGHLIGHT_FILL = "#ffd54f"  # the node being processed (stepper)
MARK_FILL = "#a5d6a7"  # a node whose gradient was just updated (stepper)
PLAIN_FILL = "#ffffff"
OP_FILL = "#eceff1"
CONSTANT_FILL = "#f5f5f5"
GROUP_FILL = "#e3f2fd"  # a box standing for the nodes of a closed scope
FRAME_COLOR = "#78909c"  # the dashed frame and name of a scope opened beside closed boxes
STUB_FONT = "#757575"
FONT_SIZE = 14  # points of the node text: 14 px at the natural size, ≥ 12 px at the players' smallest default zoom
# The one font of node and edge labels, as a list: Graphviz measures the text in the first family installed
# (Arial, or Liberation Sans, its metric twin on Linux), the same a browser shows, so boxes fit their text; a
# bare "Helvetica" was measured in DejaVu Sans, ~10 % wider than the Helvetica/Arial a browser draws.
FONT_NAME = "Arial,Helvetica,sans-Serif"


def format_number(x: Any) -> str:
    """A number (or a ``Value``'s data) with 4 decimals; scientific notation when that would hide it."""
    x = _as_float(x)
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-4):
        return f"{x:.4e}"
    return f"{x:.4f}"


def is_constant(node: Value) -> bool:
    """True for a leaf lifted from a Python number (the ``2`` in ``x*2``, the ``-1`` in ``-x``)."""
    return node.is_constant


def constant_text(x: float) -> str:
    """A constant as a student writes it: ``2``, ``-1``, ``0.5``, ``1e-08``."""
    return f"{x:g}" if math.isfinite(x) else str(x)


def negated(node: Value) -> Value | None:
    """``x`` when ``node`` is ``x * -1`` (how the engine builds ``-x``), else None."""
    parents = node._parents
    if node._op == "*" and len(parents) == 2:
        a, b = parents
        if is_constant(b) and b.data == -1.0 and not is_constant(a):
            return a
        if is_constant(a) and a.data == -1.0 and not is_constant(b):
            return b
    return None


class NodeNames(Mapping[Value, str]):
    """Display names for the nodes of a topological order (root last): the label, a constant's value,
    ``L`` for an unlabelled root (as in the stepper's ∂L/∂name), else ``v1``, ``v2``, … numbered in the
    order an evaluation from left to right computes the nodes (a left operand before a right one), so
    ``x*y + sin(x)`` reads ``f = v1 + v2``. The names are made when first read (a graph never drawn or
    stepped pays nothing)."""

    def __init__(self, order: list[Value]):
        self._order = order
        self._number: dict[Value, int] | None = None
        self._root_is_l = False

    def _count(self) -> dict[Value, int]:
        """Number the unnamed nodes: a depth-first post-order from the root, parents left to right."""
        number: dict[Value, int] = {}
        if not self._order:
            return number
        root = self._order[-1]

        def unnamed(node: Value) -> bool:
            return not node.label and not is_constant(node)

        self._root_is_l = unnamed(root) and not any(node.label == "L" for node in self._order)
        entered: set[Value] = set()
        stack: list[tuple[Value, bool]] = [(root, False)]
        while stack:
            node, parents_done = stack.pop()
            if parents_done:
                if unnamed(node) and not (node is root and self._root_is_l):
                    number[node] = len(number) + 1
            elif node not in entered:
                entered.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in reversed(node._parents) if parent not in entered)
        return number

    def __getitem__(self, node: Value) -> str:
        if self._number is None:
            self._number = self._count()
        if node.label:
            return node.label
        if is_constant(node):
            return constant_text(node.data)
        if self._root_is_l and node is self._order[-1]:
            return "L"
        return f"v{self._number[node]}"

    def __iter__(self) -> Iterator[Value]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)


def node_names(order: list[Value]) -> NodeNames:
    """The display names of the nodes of a topological order (see ``NodeNames``)."""
    return NodeNames(order)


MAX_LABEL = 120  # characters of a label drawn; a longer one is cut and ends in "…" (dot refuses > 16,384)
MAX_TOOLTIP = 1000  # characters of a tooltip


def shorten(text: str, limit: int = MAX_LABEL) -> str:
    """``text`` as drawn: at most ``limit`` characters, a longer text cut to ``limit − 1`` and ``…``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escape_record(text: str) -> str:
    """Text safe inside a Graphviz record field (its special characters backslash-escaped), shortened."""
    text = shorten(text)
    out = []
    for ch in text:
        if ch in '\\{}|<>"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def _escape_plain(text: str, limit: int = MAX_LABEL) -> str:
    """Text safe as a plain Graphviz label, shortened: backslashes and quotes escaped, never read as HTML."""
    import graphviz

    text = shorten(text, limit)
    escaped: str = graphviz.nohtml(text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
    return escaped


def _require_value(root: Any, where: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{where} needs an autograd.Value as root, got {type(root).__name__}")
    return root


def _tint(magnitude: float, largest: float) -> str:
    """A fill colour from white (0) to saturated blue (largest |grad|), linear in |grad|."""
    if largest <= 0 or not math.isfinite(magnitude) or not math.isfinite(largest):
        share = 1.0 if magnitude and not math.isfinite(magnitude) else 0.0
    else:
        share = min(1.0, magnitude / largest)
    # interpolate white (255,255,255) -> (100, 149, 237) cornflower blue
    r = round(255 - share * (255 - 100))
    g = round(255 - share * (255 - 149))
    b = round(255 - share * (255 - 237))
    return f"#{r:02x}{g:02x}{b:02x}"


def _as_float(x: Any) -> float:
    """The float inside a gradient (a number, or a Value when gradients were built with create_graph)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"a gradient must be a number or a Value, got {type(x).__name__}")
