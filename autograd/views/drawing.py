"""Drawing expression graphs with Graphviz: ``draw_dot(root)`` → a ``graphviz.Digraph``.

Each value is a record ``name | data | grad``; each non-leaf value gets a small op node
between its parents and itself, so edges follow the data flow (inputs → output). Unlabelled
values are named ``v1``, ``v2``, … in the order they are computed (``NodeNames``; never from
``id()``), and DOT names count along ``graph.topological_order(root)``, so a graph renders to
byte-identical SVG on every run. Constants lifted from Python numbers
(the ``2`` in ``x*2``) are drawn as their value, and ``x * -1`` reads as ``-x``.

A drawing is one ``dot`` run (``views.layout.run_dot``: bounded, with a time limit,
never left running). Graphs too big to read are not laid out at all: ``draw_dot``
refuses them at once, before any layout, and says how to draw a part (``depth=``) or
group the graph (``autograd.scope``/``auto_scope``).

>>> from autograd import Value
>>> from autograd.views.drawing import draw_dot, to_svg
>>> a = Value(2.0, label="a"); b = Value(-3.0, label="b"); c = a * b; c.label = "c"
>>> c.backward()
>>> print(draw_dot(c).source)          # the DOT text; needs no Graphviz program  # doctest: +SKIP
>>> svg = to_svg(c)                     # needs the ``dot`` program            # doctest: +SKIP

The Python ``graphviz`` package is imported only inside the functions that draw.
"""

from __future__ import annotations

import math
import os
import pathlib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..engine import Value
from ..files import write_atomically
from ..graph import topological_order
from .groups import Group, Grouping, has_scopes
from .labels import (
    CONSTANT_FILL,
    FONT_NAME,
    FONT_SIZE,
    FRAME_COLOR,
    GROUP_FILL,
    HIGHLIGHT_FILL,
    MARK_FILL,
    MAX_TOOLTIP,
    OP_FILL,
    PLAIN_FILL,
    RANKDIRS,
    STUB_FONT,
    _as_float,
    _escape_plain,
    _escape_record,
    _require_value,
    _tint,
    format_number,
    is_constant,
    negated,
    node_names,
)
from .layout import LAYOUT_TIMEOUT, GraphvizNotFound, LayoutTimeout, fit_svg, repeated_uses, run_dot

if TYPE_CHECKING:  # pragma: no cover
    import graphviz

__all__ = ["GraphvizNotFound", "LayoutTimeout", "draw_dot", "node_names", "save_svg", "to_svg"]

_digraph_class: Any = None


def _stepgrad_digraph_class() -> Any:
    """``graphviz.Digraph`` whose renderings go through ``run_dot`` (bounded, time-limited, never orphaned)
    and whose notebook display fits the cell's width while its text stays readable."""
    global _digraph_class
    if _digraph_class is None:
        import graphviz

        class StepgradDigraph(graphviz.Digraph):  # type: ignore[misc]  # graphviz ships no type hints
            """A ``graphviz.Digraph`` rendered by ``views.layout.run_dot``; shown in Jupyter at the cell's width."""

            layout_timeout: float | None = LAYOUT_TIMEOUT
            what: str = "the graph"
            boxes: list[str] = []  # the labels of the boxes drawn (a grouped view), e.g. "MLP ×100"

            def pipe(self, format: str | None = None, *args: Any, encoding: str | None = None, **kwargs: Any) -> Any:
                out = run_dot(self.source, format or self.format, self.layout_timeout, self.what)
                return out.decode(encoding) if encoding else out

            def render(self, *args: Any, **kwargs: Any) -> Any:
                if __import__("shutil").which(self.engine) is None:  # before graphviz writes a DOT file in vain
                    raise GraphvizNotFound()
                try:
                    return super().render(*args, **kwargs)
                except graphviz.ExecutableNotFound as exc:
                    raise GraphvizNotFound() from exc

            def _repr_image_svg_xml(self) -> str:
                return fit_svg(self.pipe(format="svg", encoding="utf-8"))

            def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict[str, Any]:
                if include is not None:  # a front end asking for formats by name (image/png, ...)
                    return dict(super()._repr_mimebundle_(include, exclude, **kwargs))
                return drawing_bundle(self.pipe(format="svg", encoding="utf-8"), exclude)

        _digraph_class = StepgradDigraph
    return _digraph_class


def drawing_bundle(svg: str, exclude: Any = None) -> dict[str, str]:
    """A drawing as Jupyter shows it: HTML never scaled below readable text (``layout.notebook_html``: the
    cell's width, or a scrolling box), and the SVG fitted to the width for front ends without HTML."""
    from .layout import notebook_html

    bundle = {"text/html": notebook_html(svg), "image/svg+xml": fit_svg(svg)}
    return {mime: data for mime, data in bundle.items() if mime not in set(exclude or ())}


def _check_options(rankdir: Any, max_nodes: Any, depth: Any, fmt: Any) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_dot(rankdir=...) must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"draw_dot(max_nodes=...) must be a positive int, got {max_nodes!r}")
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"draw_dot(depth=...) must be None or an int >= 0, got {depth!r}")
    if not isinstance(fmt, str) or not fmt:
        raise ValueError(f"draw_dot(fmt=...) must be a Graphviz output format such as 'svg', got {fmt!r}")


def _nodes_within(root: Value, depth: int | None, limit: int) -> tuple[set[Value], bool]:
    """The nodes at most ``depth`` edges upstream of ``root`` (all when None), nearest first, and True;
    or, as soon as there are more than ``limit``, the ``limit + 1`` seen so far and False: a refusal
    costs O(limit), never a walk of a huge graph."""
    seen = {root}
    frontier = [root]
    level = 0
    while frontier and (depth is None or level < depth):
        nxt = []
        for node in frontier:
            for parent in node._parents:
                if parent not in seen:
                    seen.add(parent)
                    if len(seen) > limit:
                        return seen, False
                    nxt.append(parent)
        frontier = nxt
        level += 1
    return seen, True


def _call_names(calls: list[Group]) -> dict[Group, str]:
    """Names for the boxes of one name path, in order: ``gpt 1``, ``gpt 2``, … — or, when they sit in
    different calls of the enclosing scope, that call's number: ``Neuron in Layer 1``, ``softmax 2 in attn 1``
    (the enclosing calls numbered in the order their contents come: as their own boxes are when each holds one)."""

    def outer(group: Group) -> frozenset[Any]:
        return frozenset(scope.parent for scope in group.scopes)

    outers = list(dict.fromkeys(outer(group) for group in calls))
    if len(outers) < 2 or None in outers[0]:
        return {group: f"{group.name} {k}" for k, group in enumerate(calls, 1)}
    names = {}
    for k, enclosing in enumerate(outers, 1):
        inside = [group for group in calls if outer(group) == enclosing]
        around = f"{next(iter(enclosing)).name} {k}"
        for j, group in enumerate(inside, 1):
            names[group] = f"{group.name} in {around}" if len(inside) == 1 else f"{group.name} {j} in {around}"
    return names


class Scene:
    """What one drawing shows, before any layout: the values drawn (in topological order), their
    names and DOT identifiers, op nodes, ``…`` stubs for operands outside ``depth``, and in a grouped
    view the boxes (``views.groups``) that stand for the nodes of closed scopes.

    A graph over ``max_nodes`` values is drawn grouped when its nodes carry scopes, else refused;
    the refusal is decided in O(max_nodes), without walking or laying out the whole graph.
    """

    def __init__(self, root: Value, depth: int | None = None, max_nodes: int = 1000, open: Any = None):
        near, complete = _nodes_within(root, depth, max_nodes)
        if not complete and open is None and not has_scopes(near):
            smaller = f"a smaller depth=... than {depth}" if depth is not None else "depth=3"
            raise ValueError(
                f"draw_dot: the graph has more than max_nodes={max_nodes} nodes and no scopes to group them by; "
                f"Graphviz layout becomes slow and the picture unreadable at this size. Group the graph: build it "
                "inside `with autograd.auto_scope():` (boxes per function or module, e.g. MLP/Layer/Neuron) or "
                '`with autograd.scope("name"):`; or draw a sub-graph: pass '
                f"{smaller} to draw only the last levels before the root (e.g. draw_dot(root, depth=3)), or draw "
                "a smaller expression (e.g. a single neuron's output); pass a larger max_nodes=... only if you must."
            )
        self.root = root
        self.depth = depth
        full = topological_order(root)  # names are positions in the whole graph's order, as in the stepper
        self.names = node_names(full)
        self.ident = {node: f"n{k}" for k, node in enumerate(full)}
        self.stub_ident = {node: f"s{k}" for k, node in enumerate(full)}
        if depth is None:
            self.order = full
        else:
            kept = near if complete else _nodes_within(root, depth, len(full))[0]
            self.order = [node for node in full if node in kept]
        self.groups: list[Group] = []
        self.group_of: dict[Value, Group] = {}
        self._calls: dict[str, list[Group]] = {}
        self.opened: list[Any] | None = None  # in a grouped view: the scopes open (names, paths, Scope objects)
        self._call_names: dict[str, dict[Group, str]] = {}  # group_label's names per name path, made when first read
        shown = self.order
        if open is not None or not complete:
            grouping = Grouping(self.order, open)
            self.groups, self.group_of, shown = grouping.groups, grouping.group_of, grouping.loose
            self.opened = grouping.opened
            for group in self.groups:
                self._calls.setdefault(group.path, []).append(group)
            if len(shown) + len(self.groups) > max_nodes:
                raise ValueError(
                    f"draw_dot: even grouped, the drawing has {len(shown) + len(self.groups)} items, more than "
                    f"max_nodes={max_nodes}: open fewer scopes (open=...), or group the graph more finely"
                )
        # -x is drawn as one "-" op from x: the constant -1 is not drawn unless something else uses it
        self.negation = {node: x for node in shown if (x := negated(node)) is not None}
        hidden_constants = {p for node in self.negation for p in node._parents if is_constant(p) and p.data == -1.0}
        used_elsewhere = {
            p for node in shown if node not in self.negation for p in node._parents if p in hidden_constants
        }
        self.values = [node for node in shown if node not in hidden_constants - used_elsewhere]
        self.drawn = set(self.values)
        self.constants = {node for node in self.values if is_constant(node)}
        self.records = [node for node in self.values if node not in self.constants]

    def group_label(self, group: Group) -> str:
        """A box's label: its name, ``MLP ×100`` for stacked calls, ``gpt 3`` for the 3rd of several calls in
        turn, ``Layer 2 ×100`` for the 2nd of several stacks; boxes of one name in different enclosing calls
        say which: ``Neuron in Layer 1 ×1600`` (the neurons of the first layer's calls, not a first neuron)."""
        calls = self._calls.get(group.path, [])
        if len(calls) < 2:
            return group.label
        if group.path not in self._call_names:
            self._call_names[group.path] = _call_names(calls)
        name = self._call_names[group.path][group]
        return name if len(group.scopes) == 1 else f"{name} ×{len(group.scopes)}"

    def box_inputs(self) -> list[tuple[str, str]]:
        """The edges into boxes, less those implied by a longer path (``gpt 1 → gpt 3`` when ``gpt 1 → gpt 2
        → gpt 3`` is drawn): a box's inputs are all upstream of it, the picture shows the nearest."""
        successors: dict[str, set[str]] = {}
        candidates: list[tuple[str, str]] = []
        for node in self.values:
            for parent in node._parents:
                source = self.source_of(parent)
                if source is not None:
                    successors.setdefault(source, set()).add(self.ident[node])
        for group in self.groups:
            seen: set[str] = set()
            for member in group.members:
                for parent in member._parents:
                    source = self.source_of(parent)
                    if source is not None and source != group.ident and source not in seen:
                        seen.add(source)
                        candidates.append((source, group.ident))
                        successors.setdefault(source, set()).add(group.ident)

        def reachable_around(source: str, target: str) -> bool:
            stack = [s for s in successors.get(source, ()) if s != target]
            seen = set(stack)
            while stack:
                item = stack.pop()
                if item == target:
                    return True
                for nxt in successors.get(item, ()):
                    if nxt not in seen:
                        seen.add(nxt)
                        stack.append(nxt)
            return False

        return [(source, target) for source, target in candidates if not reachable_around(source, target)]

    def source_of(self, node: Value) -> str | None:
        """The DOT name that stands for ``node`` as an operand: itself, its group's box, or None (a stub)."""
        if node in self.drawn:
            return self.ident[node]
        group = self.group_of.get(node)
        return group.ident if group is not None else None

    def operands(self, node: Value) -> list[tuple[int, Value]]:
        """The (operand index, operand) pairs drawn as edges into ``node``'s op node."""
        x = self.negation.get(node)
        if x is not None:
            return [(k, p) for k, p in enumerate(node._parents) if p is x]
        return list(enumerate(node._parents))

    def op_text(self, node: Value) -> str:
        return "-" if node in self.negation else str(node._op)


def build_digraph(
    scene: Scene,
    *,
    rankdir: str = "LR",
    fmt: str = "svg",
    show_grad: bool = True,
    grad_text: Callable[[Value], str] | None = None,
    fill: Callable[[Any], str] | None = None,
    pen: Callable[[Value], str | None] | None = None,
    edge_labels: bool = False,
    timeout: float | None = LAYOUT_TIMEOUT,
) -> "graphviz.Digraph":
    """The DOT graph of a scene: each record's grad field is ``grad_text(node)``, fill ``fill(node)``,
    border width ``pen(node)`` (None: the default)."""
    Digraph = _stepgrad_digraph_class()
    dot = Digraph(name="stepgrad", format=fmt, graph_attr={"rankdir": rankdir})
    dot.layout_timeout = timeout
    dot.what = f"{len(scene.values)} values"
    dot.attr("node", fontname=FONT_NAME, fontsize=str(FONT_SIZE))
    dot.attr("edge", fontname=FONT_NAME, fontsize=str(FONT_SIZE - 2))  # edge labels: the nodes' sans, never serif
    horizontal = rankdir in ("LR", "RL")  # records: braces make the fields run across the node
    stubs: set[Value] = set()
    repeated = repeated_uses(scene.values, lambda n: [(k, p) for k, p in scene.operands(n) if p in scene.drawn])
    for node in scene.values:
        ident = scene.ident[node]
        if node in scene.constants:
            dot.node(
                ident, label=_escape_plain(scene.names[node]), shape="box", style="rounded,filled",
                fillcolor=CONSTANT_FILL, tooltip=_escape_plain(f"the constant {scene.names[node]}"),
            )  # fmt: skip
            continue
        fields = [_escape_record(scene.names[node]), f"data {_escape_record(format_number(node.data))}"]
        if show_grad:
            text = grad_text(node) if grad_text is not None else f"grad {format_number(node.grad)}"
            fields.append(_escape_record(text))
        label = " | ".join(fields)
        label = "{ " + label + " }" if horizontal else label
        attrs = {"shape": "record", "style": "filled", "fillcolor": fill(node) if fill else PLAIN_FILL}
        width = pen(node) if pen else None
        if width is not None:
            attrs["penwidth"] = width
        dot.node(ident, label=label, **attrs)
        if not node._parents:
            continue
        op_ident = ident + "op"
        dot.node(op_ident, label=_escape_plain(scene.op_text(node)), shape="ellipse", style="filled", fillcolor=OP_FILL)
        dot.edge(op_ident, ident)
        local = node.local_grads
        drawn_edges: set[str] = set()
        for k, parent in scene.operands(node):
            source = scene.source_of(parent)
            if source is not None and not source.startswith("n"):  # a box: one edge, however many operands
                if source not in drawn_edges:
                    drawn_edges.add(source)
                    dot.edge(source, op_ident)
                continue
            if (node, k) in repeated:  # a value used all along a chain: named again here (see layout.py)
                name = scene.names[parent]
                source = f"{scene.ident[parent]}for{ident}k{k}"
                dot.node(
                    source, label=_escape_plain(name), shape="box", style="rounded,dashed", color=STUB_FONT,
                    tooltip=_escape_plain(f"{name} again (drawn once with its numbers; named again at each far use)"),
                )  # fmt: skip
            if source is None:
                source = scene.stub_ident[parent]
                if parent not in stubs:
                    stubs.add(parent)
                    where = f"{scene.names[parent]} (not drawn: outside depth={scene.depth})"
                    dot.node(source, label="…", shape="plaintext", fontcolor=STUB_FONT, tooltip=_escape_plain(where))
            edge_attrs = {}
            if edge_labels and k < len(local):
                edge_attrs["label"] = _escape_plain(format_number(local[k]))
            dot.edge(source, op_ident, **edge_attrs)
    for group in scene.groups:
        how_many = f"{len(group.members)} values" + (f" in {len(group.scopes)} calls" if len(group.scopes) > 1 else "")
        stacked = len(group.scopes) > 1
        tip = f"{group.path}: {how_many}; draw_dot(root, open=[{group.path!r}]) opens it"
        dot.node(
            group.ident, label=_escape_plain(scene.group_label(group)), shape="box3d" if stacked else "box",
            style="filled" if stacked else "rounded,filled", fillcolor=fill(group) if fill else GROUP_FILL,
            tooltip=_escape_plain(tip, MAX_TOOLTIP),
        )  # fmt: skip
    for source, target in scene.box_inputs():
        dot.edge(source, target)
    _draw_frames(dot, scene)
    dot.boxes = [scene.group_label(group) for group in scene.groups]
    return dot


def _draw_frames(dot: Any, scene: Scene) -> None:
    """In a grouped view, a scope opened beside closed boxes of its own level (head 0 among the boxes
    ``head 1``, ``head 2``, …) is drawn as a dashed frame with its name around what it holds, so the
    opened one is named as its closed siblings are. Frames nest as the scopes do."""
    if not scene.groups:
        return
    paths = {group: tuple(group.scopes[0].path) for group in scene.groups if group.scopes and group.scopes[0]}
    levels_with_boxes = {path[:-1] for path in paths.values()}
    inside: dict[tuple[str, ...], list[str]] = {}  # framed path -> the DOT names directly inside it

    def place(path: tuple[str, ...], idents: list[str]) -> None:
        framed = [path[:k] for k in range(len(path), 0, -1) if path[: k - 1] in levels_with_boxes]
        if framed:
            inside.setdefault(framed[0], []).extend(idents)
            for outer in framed[1:]:
                inside.setdefault(outer, [])

    for node in scene.values:
        if node._scope is not None:
            place(node._scope.path, [scene.ident[node]] + ([scene.ident[node] + "op"] if node._parents else []))
    for group, path in paths.items():
        place(path[:-1], [group.ident])
    if not inside:
        return
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
    for path in sorted(inside):
        outer = next((path[:k] for k in range(len(path) - 1, 0, -1) if path[:k] in inside), ())
        children.setdefault(outer, []).append(path)
    count = [0]

    def frame(graph: Any, path: tuple[str, ...]) -> None:
        count[0] += 1
        with graph.subgraph(name=f"cluster_frame{count[0]}") as sub:
            sub.attr(label=_escape_plain(path[-1]), style="rounded,dashed", color=FRAME_COLOR,
                     fontcolor=FRAME_COLOR, fontname=FONT_NAME, fontsize=str(FONT_SIZE), labeljust="l")  # fmt: skip
            for ident in inside[path]:
                sub.node(ident)
            for child in children.get(path, []):
                frame(sub, child)

    for path in children.get((), []):
        frame(dot, path)


_MICROGRAD_FORMATS = ("svg", "png", "pdf", "jpg", "jpeg", "gif", "dot")


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
    open: Any = None,
    max_nodes: int = 1000,
    fmt: str = "svg",
    timeout: float | None = LAYOUT_TIMEOUT,
    format: str | None = None,
) -> "graphviz.Digraph":
    """The computation graph of ``root`` as a ``graphviz.Digraph`` (edges: operands → op → result).

    Each value is drawn as ``name | data | grad`` (name: its label, or ``v<k>`` with k its
    position in ``topological_order(root)``); each non-leaf value has a small op node; a
    constant is a small box with its value.

    - ``rankdir``: ``"LR"`` (left to right) or ``"TB"`` (top to bottom), also ``"RL"``, ``"BT"``.
    - ``show_grad=False`` hides gradients; ``grads={node: g}`` shows ``g`` instead of ``node.grad``.
    - ``highlight`` / ``mark``: nodes filled yellow (current) / green (just updated);
      ``unknown_grad``: nodes whose gradient is shown as ``?`` (not computed yet).
    - ``tint=True`` shades nodes from white to blue by |grad| (relative to the largest).
    - ``edge_labels=True`` labels each operand → op edge with the local derivative ∂result/∂operand.
    - ``depth=k`` draws only the nodes at most k edges upstream of the root; operands
      outside are shown as small ``…`` stubs.
    - Grouped views (nodes built under ``autograd.scope``/``auto_scope``): a graph over ``max_nodes``
      values is drawn as boxes, one per call of a scope (``MLP ×100`` for calls side by side),
      opened level by level while the picture stays small; ``open=["softmax", "gpt/attn"]`` opens
      those scopes (and closes the rest), ``open=True`` opens all, ``open=[]`` none; a ``Scope`` in the
      list opens that one call. The result's ``boxes`` lists the boxes' labels. Without scopes, more
      than ``max_nodes`` values raise ``ValueError`` at once (no layout is tried).
    - ``timeout``: seconds Graphviz may take to lay it out (``LayoutTimeout`` after that).
    - A label (or op symbol) longer than ``MAX_LABEL`` (120) characters is drawn cut to 119 and ``…``;
      the value keeps its whole label.
    - ``fmt`` (or ``format``): the output format when rendered. micrograd's notebook call
      ``draw_dot(root, format="svg", rankdir="LR")`` works as it is, and so does its positional
      ``draw_dot(root, "png")``.

    In Jupyter the drawing shows at the cell's width (never above its natural size) unless its text would
    shrink below 10 px: then at that readable size, in a box that scrolls.

    ``root`` may also be a node of a learner's own micrograd-like class: its graph is read (never
    run) and drawn with its labels, data and gradients (``autograd.check``).

    >>> g = draw_dot(c, rankdir="TB", edge_labels=True)   # doctest: +SKIP
    >>> g                                                 # shows inline in Jupyter  # doctest: +SKIP
    """
    if not issubclass(type(root), Value) and grads is None:  # a learner's own micrograd-like graph: a copy
        from ..check import as_values
        from ..foreign import is_foreign_node

        if is_foreign_node(root):
            root, grads = as_values(root)
    _require_value(root, "draw_dot()")
    if format is not None:  # micrograd's name for it
        fmt = format
    elif rankdir not in RANKDIRS and rankdir in _MICROGRAD_FORMATS:  # micrograd's draw_dot(root, "png")
        rankdir, fmt = "LR", rankdir
    _check_options(rankdir, max_nodes, depth, fmt)
    scene = Scene(root, depth, max_nodes, open)
    highlight_set = set(highlight)
    mark_set = set(mark)
    unknown_set = set(unknown_grad)

    def grad_of(node: Value) -> Any:
        return grads[node] if grads is not None and node in grads else node.grad

    largest = 0.0
    if tint:
        for node in scene.records:
            if node not in unknown_set:
                mag = abs(_as_float(grad_of(node)))
                if math.isfinite(mag):
                    largest = max(largest, mag)

    def grad_text(node: Value) -> str:
        return "grad ?" if node in unknown_set else f"grad {format_number(grad_of(node))}"

    def fill(node: Any) -> str:
        if isinstance(node, Group):
            return GROUP_FILL
        if node in highlight_set:
            return HIGHLIGHT_FILL
        if node in mark_set:
            return MARK_FILL
        if tint and node not in unknown_set:
            return _tint(abs(_as_float(grad_of(node))), largest)
        return PLAIN_FILL

    def pen(node: Value) -> str | None:
        return "2.5" if node in highlight_set else "2" if node in mark_set else None

    for node in scene.records:  # a bad gradient fails here, with its type named, not inside Graphviz
        if show_grad and node not in unknown_set:
            _as_float(grad_of(node))
    return build_digraph(
        scene, rankdir=rankdir, fmt=fmt, show_grad=show_grad, grad_text=grad_text, fill=fill, pen=pen,
        edge_labels=edge_labels, timeout=timeout,
    )  # fmt: skip


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
    """The SVG text of a Digraph (one bounded ``dot`` run), or ``GraphvizNotFound`` when ``dot`` is missing."""
    timeout = getattr(digraph, "layout_timeout", LAYOUT_TIMEOUT)
    what = getattr(digraph, "what", "the graph")
    return run_dot(digraph.source, "svg", timeout, what).decode("utf-8")


def to_svg(root_or_digraph: Any, **kwargs: Any) -> str:
    """SVG text of ``draw_dot(root, **kwargs)`` (or of a Digraph already drawn), at its natural size.

    >>> svg = to_svg(c, rankdir="TB")      # doctest: +SKIP
    """
    return render_svg(_to_digraph(root_or_digraph, "to_svg()", kwargs))


def save_svg(root_or_digraph: Any, path: str | os.PathLike[str], **kwargs: Any) -> pathlib.Path:
    """Render ``draw_dot(root, **kwargs)`` to an SVG file at ``path`` (written atomically); returns the path.

    The file fits the width of the browser window it is opened in (see ``layout.fit_svg``).
    Nothing is written when rendering fails (e.g. ``GraphvizNotFound``).
    """
    svg = fit_svg(to_svg(root_or_digraph, **kwargs))
    return write_atomically(path, svg)
