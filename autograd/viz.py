"""Drawing expression graphs with Graphviz: ``draw_dot(root)`` → a ``graphviz.Digraph``.

Each value is a record ``name | data | grad``; each non-leaf value gets a small op node
between its parents and itself, so edges follow the data flow (inputs → output). Node
names come from a counter over ``graph.topological_order(root)`` (never ``id()``), so a
graph renders to byte-identical SVG on every run.

>>> from autograd import Value
>>> from autograd.viz import draw_dot, to_svg
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
>>> c.backward()
>>> print(draw_dot(c).source)          # the DOT text; needs no Graphviz program  # doctest: +SKIP
>>> svg = to_svg(c)                     # needs the ``dot`` program            # doctest: +SKIP

The Python ``graphviz`` package is imported only inside the functions that draw.
"""

from __future__ import annotations

import math
import numbers
import os
import pathlib
import shutil
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .engine import Value
from .files import write_atomically
from .graph import ancestors_within, topological_order

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["GraphvizNotFound", "draw_dot", "node_names", "save_svg", "to_svg"]

RANKDIRS = ("LR", "TB", "RL", "BT")

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the graph cannot be rendered. Install Graphviz:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "  conda:         conda install -c conda-forge graphviz\n"
    "The DOT source is still available without it: draw_dot(root).source"
)

# Colours (fill) of the states a node can be in.
HIGHLIGHT_FILL = "#ffd54f"  # the node being processed (stepper)
MARK_FILL = "#a5d6a7"  # a node whose gradient was just updated (stepper)
PLAIN_FILL = "#ffffff"
OP_FILL = "#eceff1"
STUB_FONT = "#757575"


class GraphvizNotFound(RuntimeError):
    """The Graphviz ``dot`` program is missing, so a graph cannot be rendered (its DOT source still can)."""

    def __init__(self, message: str = INSTALL_HINT) -> None:
        super().__init__(message)


def format_number(x: Any) -> str:
    """A number (or a ``Value``'s data) with 4 decimals; scientific notation when that would hide it."""
    x = _as_float(x)
    if not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e6 or abs(x) < 1e-4):
        return f"{x:.4e}"
    return f"{x:.4f}"


def node_names(order: list[Value]) -> dict[Value, str]:
    """Display names for the nodes of a topological order: the label, or ``v<k>`` with k the node's position."""
    return {node: (node.label or f"v{k}") for k, node in enumerate(order)}


def _escape_record(text: str) -> str:
    """Text safe inside a Graphviz record field (its special characters backslash-escaped)."""
    out = []
    for ch in text:
        if ch in '\\{}|<>"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def _escape_plain(text: str) -> str:
    """Text safe as a plain Graphviz label: backslashes and quotes escaped, never read as an HTML-like label."""
    import graphviz

    return graphviz.nohtml(text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))


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


_digraph_class: Any = None


def _stepgrad_digraph_class() -> Any:
    """``graphviz.Digraph`` whose renderings raise ``GraphvizNotFound`` when ``dot`` is missing."""
    global _digraph_class
    if _digraph_class is None:
        import graphviz

        class StepgradDigraph(graphviz.Digraph):
            """A ``graphviz.Digraph`` that reports a missing ``dot`` as ``GraphvizNotFound``."""

            def pipe(self, *args: Any, **kwargs: Any) -> Any:
                try:
                    return super().pipe(*args, **kwargs)
                except graphviz.ExecutableNotFound as exc:
                    raise GraphvizNotFound() from exc

            def render(self, *args: Any, **kwargs: Any) -> Any:
                if shutil.which(self.engine) is None:  # before graphviz writes the DOT file it cannot render
                    raise GraphvizNotFound()
                try:
                    return super().render(*args, **kwargs)
                except graphviz.ExecutableNotFound as exc:
                    raise GraphvizNotFound() from exc

        _digraph_class = StepgradDigraph
    return _digraph_class


def draw_dot(
    root: Value,
    rankdir: str = "LR",
    *,
    show_grad: bool = True,
    highlight: Iterable[Value] = (),
    mark: Iterable[Value] = (),
    unknown_grad: Iterable[Value] = (),
    grads: Mapping[Value, Any] | None = None,
    tint: bool = False,
    edge_labels: bool = False,
    depth: int | None = None,
    max_nodes: int = 1000,
    fmt: str = "svg",
) -> "graphviz.Digraph":
    """The computation graph of ``root`` as a ``graphviz.Digraph`` (edges: operands → op → result).

    Each value is drawn as ``name | data | grad`` (name: its label, or ``v<k>`` with k its
    position in ``topological_order(root)``); each non-leaf value has a small op node.

    - ``rankdir``: ``"LR"`` (left to right) or ``"TB"`` (top to bottom), also ``"RL"``, ``"BT"``.
    - ``show_grad=False`` hides gradients; ``grads={node: g}`` shows ``g`` instead of ``node.grad``.
    - ``highlight`` / ``mark``: nodes filled yellow (current) / green (just updated);
      ``unknown_grad``: nodes whose gradient is shown as ``?`` (not computed yet).
    - ``tint=True`` shades nodes from white to blue by |grad| (relative to the largest).
    - ``edge_labels=True`` labels each operand → op edge with the local derivative ∂result/∂operand.
    - ``depth=k`` draws only the nodes at most k edges upstream of the root; operands
      outside are shown as small ``…`` stubs.
    - More than ``max_nodes`` values raise ``ValueError`` (Graphviz layout becomes unusable).

    >>> g = draw_dot(c, rankdir="TB", edge_labels=True)   # doctest: +SKIP
    >>> g                                                 # shows inline in Jupyter  # doctest: +SKIP
    """
    _require_value(root, "draw_dot()")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_dot(rankdir=...) must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_dot(max_nodes=...) must be a positive int, got {max_nodes!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"draw_dot(depth=...) must be None or an int >= 0, got {depth!r}")
    if not isinstance(fmt, str) or not fmt:
        raise ValueError(f"draw_dot(fmt=...) must be a Graphviz output format such as 'svg', got {fmt!r}")

    order = topological_order(root)
    position = {node: k for k, node in enumerate(order)}
    nodes = order if depth is None else ancestors_within(root, depth)
    if len(nodes) > max_nodes:
        smaller = "a smaller depth=... than " + str(depth) if depth is not None else "depth=3"
        raise ValueError(
            f"draw_dot: the graph has {len(nodes)} nodes, more than max_nodes={max_nodes}; Graphviz layout "
            f"becomes slow and the picture unreadable at this size. Draw a sub-graph instead: pass {smaller} "
            "to draw only the last levels before the root (e.g. draw_dot(root, depth=3)), or draw a smaller "
            "expression (e.g. a single neuron's output); pass a larger max_nodes=... only if you must."
        )

    highlight_set = set(highlight)
    mark_set = set(mark)
    unknown_set = set(unknown_grad)
    names = node_names(order)

    def grad_of(node: Value) -> Any:
        return grads[node] if grads is not None and node in grads else node.grad

    largest = 0.0
    if tint:
        for node in nodes:
            if node not in unknown_set:
                mag = abs(_as_float(grad_of(node)))
                if math.isfinite(mag):
                    largest = max(largest, mag)

    Digraph = _stepgrad_digraph_class()
    dot = Digraph(name="stepgrad", format=fmt, graph_attr={"rankdir": rankdir})
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    horizontal = rankdir in ("LR", "RL")  # records: braces make the fields run across the node

    kept = set(nodes)
    stubs: dict[Value, str] = {}
    for node in nodes:
        ident = f"n{position[node]}"
        fields = [_escape_record(names[node]), f"data {_escape_record(format_number(node.data))}"]
        if show_grad:
            if node in unknown_set:
                fields.append("grad ?")
            else:
                fields.append(f"grad {_escape_record(format_number(grad_of(node)))}")
        label = " | ".join(fields)
        label = "{ " + label + " }" if horizontal else label
        attrs = {"shape": "record", "style": "filled", "fillcolor": PLAIN_FILL}
        if tint and node not in unknown_set:
            attrs["fillcolor"] = _tint(abs(_as_float(grad_of(node))), largest)
        if node in mark_set:
            attrs["fillcolor"] = MARK_FILL
            attrs["penwidth"] = "2"
        if node in highlight_set:
            attrs["fillcolor"] = HIGHLIGHT_FILL
            attrs["penwidth"] = "2.5"
        dot.node(ident, label=label, **attrs)
        if node._parents:
            op_ident = ident + "op"
            dot.node(op_ident, label=_escape_plain(str(node._op)), shape="ellipse", style="filled", fillcolor=OP_FILL)
            dot.edge(op_ident, ident)
            local = node._local_grads if node._local_grads is not None else ()
            for k, parent in enumerate(node._parents):
                if parent in kept:
                    source = f"n{position[parent]}"
                else:
                    source = stubs.get(parent)
                    if source is None:
                        source = f"s{position[parent]}"
                        stubs[parent] = source
                        dot.node(
                            source,
                            label="…",
                            shape="plaintext",
                            fontcolor=STUB_FONT,
                            tooltip=_escape_plain(f"{names[parent]} (not drawn: outside depth={depth})"),
                        )
                edge_attrs = {}
                if edge_labels and k < len(local):
                    edge_attrs["label"] = _escape_plain(format_number(local[k]))
                dot.edge(source, op_ident, **edge_attrs)
    return dot


def _as_float(x: Any) -> float:
    """The float inside a gradient (a number, or a Value when gradients were built with create_graph)."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(f"a gradient must be a number or a Value, got {type(x).__name__}")


def _to_digraph(root_or_digraph: Any, where: str, kwargs: dict[str, Any]) -> Any:
    if isinstance(root_or_digraph, Value):
        return draw_dot(root_or_digraph, **kwargs)
    import graphviz

    if isinstance(root_or_digraph, graphviz.Digraph):
        if kwargs:
            raise TypeError(f"{where}: drawing options {sorted(kwargs)} need a Value, not an already drawn Digraph")
        return root_or_digraph
    raise TypeError(f"{where} needs an autograd.Value or a graphviz.Digraph, got {type(root_or_digraph).__name__}")


def render_svg(digraph: Any) -> str:
    """The SVG text of a Digraph, or ``GraphvizNotFound`` when ``dot`` is missing."""
    import graphviz

    try:
        return digraph.pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound as exc:
        raise GraphvizNotFound() from exc


def to_svg(root_or_digraph: Any, **kwargs: Any) -> str:
    """SVG text of ``draw_dot(root, **kwargs)`` (or of a Digraph already drawn).

    >>> svg = to_svg(c, rankdir="TB")      # doctest: +SKIP
    """
    return render_svg(_to_digraph(root_or_digraph, "to_svg()", kwargs))


def save_svg(root_or_digraph: Any, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
    """Render ``draw_dot(root, **kwargs)`` to an SVG file at ``path`` (written atomically); returns the path.

    Nothing is written when rendering fails (e.g. ``GraphvizNotFound``).
    """
    svg = to_svg(root_or_digraph, **kwargs)
    return write_atomically(path, svg)
