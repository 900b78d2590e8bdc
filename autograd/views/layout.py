"""Running Graphviz's ``dot`` once per drawing, bounded in time, and reading its SVG back.

Every picture stepgrad shows is one ``dot`` run: ``run_dot(source)`` lays the graph out
and returns its SVG (or PNG, PDF, ...). Three guards make that run safe to start from a
notebook or a command line:

- **Bounded effort.** ``dot`` improves the horizontal placement by network simplex until
  it converges; on a graph where one node feeds many others (``x*x*…*x``, 80 factors)
  that takes minutes. ``nslimit``/``nslimit1`` cap the simplex at 2 passes per node:
  the same picture for ordinary graphs, under a second for the 80 factors.
- **A time limit.** A layout still running after ``timeout`` seconds is stopped and
  ``LayoutTimeout`` says so in one line.
- **No orphans.** ``dot`` runs in its own process group and is killed on a timeout, on
  ``KeyboardInterrupt`` and on any other error; on Linux it also dies with its parent
  (``PR_SET_PDEATHSIG``), so killing the caller, even with ``kill -9``, stops it.

One layout ``dot`` handles badly is not bounded by that: a value used by many operations along one
chain (``x+x+…+x``, 500 terms). Every edge spanning k ranks becomes k virtual nodes, so the chain
costs ~n² of them (200 terms: 80,000 virtual nodes, 16 s; 500 terms: past the time limit).
``repeated_uses`` picks such uses, and the drawing names the value again beside each of them (a
small dashed box) instead of drawing an edge from afar: 500 terms then lay out in about a second.

``fit_svg`` makes a drawing scale to the width it is shown in (never above its natural
size), and ``node_boxes`` reads each node's box back from the SVG for the stepper.

``notebook_html`` shows a drawing in a notebook cell never with text under 10 px: at the
cell's width when that is readable, else at a readable size in a box that scrolls.
"""

from __future__ import annotations

import base64
import math
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

__all__ = [
    "LAYOUT_TIMEOUT",
    "GraphvizNotFound",
    "LayoutTimeout",
    "fit_svg",
    "node_boxes",
    "repeated_uses",
    "run_dot",
    "strip_prolog",
]

LAYOUT_TIMEOUT = 60.0  # seconds one layout may take before it is stopped

# At most 2 network-simplex passes per node for ranking (nslimit1) and placement (nslimit).
BOUNDS = ("-Gnslimit=2", "-Gnslimit1=2")

INSTALL_HINT = (
    "Graphviz's `dot` program was not found on PATH, so the graph cannot be rendered. Install Graphviz:\n"
    "  Debian/Ubuntu: sudo apt-get install graphviz\n"
    "  macOS:         brew install graphviz\n"
    "  conda:         conda install -c conda-forge graphviz\n"
    "The DOT source is still available without it: draw_dot(root).source"
)


class GraphvizNotFound(RuntimeError):
    """The Graphviz ``dot`` program is missing, so a graph cannot be rendered (its DOT source still can)."""

    def __init__(self, message: str = INSTALL_HINT) -> None:
        super().__init__(message)


class LayoutTimeout(RuntimeError):
    """Graphviz took longer than the time limit to lay a graph out; ``dot`` was stopped."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """In the child: ask Linux to send SIGKILL when the parent dies (exit at once if it already has)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill ``dot`` and everything in its process group, and reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
    process.wait()


def run_dot(source: str, fmt: str = "svg", timeout: float | None = LAYOUT_TIMEOUT, what: str = "the graph") -> bytes:
    """The output of ``dot -T<fmt>`` on ``source``: one bounded layout (see the module docstring).

    Raises ``GraphvizNotFound`` without ``dot``, ``LayoutTimeout`` after ``timeout`` seconds,
    ``RuntimeError`` with dot's first error line if it fails.
    """
    if not isinstance(fmt, str) or not re.fullmatch(r"[A-Za-z0-9_:.-]+", fmt):
        raise ValueError(f"draw_dot(fmt=...) must be a Graphviz output format such as 'svg', got {fmt!r}")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise ValueError(f"timeout=... must be None or a positive number of seconds, got {timeout!r}")
    program = shutil.which("dot")
    if program is None:
        raise GraphvizNotFound()
    process = subprocess.Popen(
        [program, f"-T{fmt}", *BOUNDS],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a Ctrl-C or a kill of ours never leaves it behind
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    try:
        out, err = process.communicate(source.encode("utf-8"), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise LayoutTimeout(
            f"Graphviz's dot took more than {timeout:g} s to lay out {what} and was stopped; "
            "draw fewer nodes (depth=..., or group them with autograd.scope/auto_scope) or pass a larger timeout=..."
        ) from None
    except BaseException:
        _stop(process)
        raise
    if process.returncode != 0:
        first = next((line for line in err.decode("utf-8", "replace").splitlines() if line.strip()), "")
        raise RuntimeError(f"Graphviz's dot failed (exit status {process.returncode}): {first}")
    return out


SPAN_BUDGET = 400  # ranks a value's edges may span in all (virtual nodes) before its far uses repeat its name

Node = TypeVar("Node", bound=Hashable)


def repeated_uses(
    order: Sequence[Node], operands: Callable[[Node], Sequence[tuple[int, Node]]], budget: int = SPAN_BUDGET
) -> set[tuple[Node, int]]:
    """The uses ``(node, operand index)`` to draw from a repeated name instead of an edge from the operand.

    ``order`` is topological; ``operands(node)`` gives the (index, operand) pairs drawn as edges into
    ``node``'s op node. Ranks are estimated as ``dot`` assigns them (a leaf 0, an op node one past its
    operands, a value one past its op node). A value whose edges span more than ``budget`` ranks in all
    keeps its nearest use as an edge; every other use spanning more than one rank is repeated.
    """
    rank: dict[Node, int] = {}
    uses: dict[Node, list[tuple[int, Node, int]]] = {}
    for node in order:
        pairs = operands(node)
        if not pairs:
            rank[node] = 0
            continue
        op_rank = 1 + max(rank.get(operand, 0) for _, operand in pairs)
        rank[node] = op_rank + 1
        for k, operand in pairs:
            if operand in rank:
                uses.setdefault(operand, []).append((op_rank - rank[operand], node, k))
    repeated: set[tuple[Node, int]] = set()
    for spans in uses.values():
        if sum(span for span, _, _ in spans) > budget:
            nearest = min(range(len(spans)), key=lambda i: spans[i][0])
            repeated.update((node, k) for i, (span, node, k) in enumerate(spans) if i != nearest and span > 1)
    return repeated


def strip_prolog(svg: str) -> str:
    """The ``<svg>`` element alone (no XML declaration, DOCTYPE or comments before it), for inlining in HTML."""
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def fit_svg(svg: str) -> str:
    """The SVG scaled to the width it is shown in, at most its natural size; its height follows.

    Graphviz writes a fixed size in points (a wide graph overflows a notebook cell or a
    browser window); this keeps the ``viewBox`` and sets ``width="100%"`` with a CSS
    ``max-width`` of the natural size, so nothing is cut off on the right.
    """
    match = _SIZE.search(svg)
    if match is None:
        return svg
    width_px = float(match.group(1)) * 4 / 3  # 1 pt = 4/3 CSS px
    replacement = f'<svg width="100%" style="max-width: {width_px:.0f}px; height: auto"'
    return svg[: match.start()] + replacement + svg[match.end() :]


READABLE_TEXT_PX = 10  # CSS px: the smallest text a drawing is ever shown with in a notebook
NOTEBOOK_HEIGHT = 640  # CSS px: a drawing taller than this at its shown size scrolls inside its box
_FONT_SIZE = re.compile(r'font-size="([\d.]+)"')


def notebook_html(svg: str) -> str:
    """The drawing for a notebook cell (HTML): at the cell's width when all its text stays at least
    ``READABLE_TEXT_PX`` there, never above its natural size; else at that readable size in a box that
    scrolls (across, and down past ``NOTEBOOK_HEIGHT`` px), so a big graph is never shrunk to unreadable
    specks. Text of f pt at natural width w pt shows at 10 px when the drawing is w·10/f px wide.

    The SVG is an ``<img>`` (a data URL): JupyterLab's sanitizer, which HTML from an untrusted notebook
    goes through, keeps images but strips inline ``<svg>`` (its labels would be left as loose text)."""
    match = _SIZE.search(svg)
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
    size = "width: 100%; height: auto"
    if match is not None:
        width_pt = float(match.group(1))
        smallest = min((float(font) for font in _FONT_SIZE.findall(svg)), default=14.0)
        natural_px = width_pt * 4 / 3  # 1 pt = 4/3 CSS px
        readable_px = min(natural_px, math.ceil(width_pt * READABLE_TEXT_PX / smallest))
        size += f"; min-width: {readable_px:.0f}px; max-width: {natural_px:.0f}px"
    return (
        f'<div class="stepgrad-drawing" style="overflow: auto; max-width: 100%; max-height: {NOTEBOOK_HEIGHT}px">'
        f'<img src="{source}" alt="a stepgrad drawing" style="display: block; {size}"></div>'
    )


_NODE = re.compile(
    r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>\s*<(polygon|ellipse)([^>]*)>',
)
_POINTS = re.compile(r'points="([^"]*)"')
_ELLIPSE = re.compile(r'cx="([-\d.]+)" cy="([-\d.]+)" rx="([-\d.]+)" ry="([-\d.]+)"')


def node_boxes(svg: str) -> dict[str, tuple[float, float, float, float]]:
    """Each node's box ``(x, y, width, height)`` in the SVG's user units, by the node's DOT name."""
    import html

    boxes: dict[str, tuple[float, float, float, float]] = {}
    for match in _NODE.finditer(svg):
        name, shape, attrs = html.unescape(match.group(1)), match.group(2), match.group(3)
        if shape == "polygon":
            points = _POINTS.search(attrs)
            if points is None:
                continue
            xs, ys = [], []
            for pair in points.group(1).split():
                x, y = pair.split(",")
                xs.append(float(x))
                ys.append(float(y))
            boxes[name] = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
        else:
            ellipse = _ELLIPSE.search(attrs)
            if ellipse is None:
                continue
            cx, cy, rx, ry = (float(v) for v in ellipse.groups())
            boxes[name] = (cx - rx, cy - ry, 2 * rx, 2 * ry)
    return boxes


def svg_transform(svg: str) -> tuple[float, float]:
    """The translation Graphviz applies to its top group (node coordinates + this = viewBox coordinates)."""
    match = re.search(r'<g id="graph0" class="graph" transform="[^"]*translate\(([-\d.]+) ([-\d.]+)\)', svg)
    return (float(match.group(1)), float(match.group(2))) if match else (0.0, 0.0)


def as_text(data: Any) -> str:
    """``bytes`` from ``dot`` as text."""
    return data.decode("utf-8") if isinstance(data, bytes) else str(data)
