"""The views of a graph: what draws it, groups it, lays it out and steps through it. One module per view or stage.

A new view goes in ``autograd/views/<name>.py``: it reads nodes in ``graph.topological_order`` (as the engine's
``backward`` does), names and writes numbers with ``labels``, and draws with ``drawing`` (one ``dot`` run through
``layout``). Nothing here is imported by the engine; Graphviz, ipywidgets and anywidget are imported lazily.

- ``labels``        what a drawing writes: node names (``v1``, ``L``), numbers, constants, cut labels, colours
- ``drawing``       ``draw_dot``/``to_svg``/``save_svg``: a graph as a ``graphviz.Digraph`` (a ``Scene``, then DOT)
- ``layout``        one bounded, time-limited ``dot`` run; SVG fitted to a page or a notebook cell
- ``groups``        big graphs seen through scopes: a box per call (``MLP ×100``), opened level by level
- ``stepper``       ``backward_steps``: the backward pass one chain-rule step at a time (the steps, their text)
- ``step_drawing``  the stepper's drawing: laid out once, each frame a change of state on it
- ``forward``       ``forward_steps``/``step_through``: the forward pass, and both passes, on that drawing
- ``player``        the steps in a browser: an HTML page or a notebook widget (``player.js``, ``player.css``)

The old paths (``autograd.viz``, ``autograd.stepper``, ``autograd.layout``, ``autograd.groups``,
``autograd.player``, ``autograd.forward``) re-export these modules' names, so earlier code keeps working.
"""

from __future__ import annotations

import importlib
from typing import Any


def moved(old: str, name: str, homes: tuple[str, ...]) -> Any:
    """``name`` of the old module path ``old`` (``autograd.viz``, ...), from the views modules it moved to:
    every name the old module had still resolves there, private ones too (pickles of steps name them)."""
    for home in homes:
        module = importlib.import_module(f"{__name__}.{home}")
        if name in vars(module):
            return vars(module)[name]
    raise AttributeError(f"module {old!r} has no attribute {name!r}")
