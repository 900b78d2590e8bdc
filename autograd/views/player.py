"""The stepper in a browser: one drawing, a slider over the steps — as an HTML page or a notebook widget.

Both show the same player (``player.js``, styled by ``player.css``): the drawing of a
``stepper.Drawing`` laid out once, and per step the change of state Python computed
(``Drawing.states()``), applied in the browser. The player fits the width it is given,
opens a drawing whole when it fits with node text ≥ 10 px, else at a readable size (node
text ≥ 12 px) around the current node, does so again when the widget's drawing is laid out
anew (a box opened) or resized (unless the reader zoomed), and brings the current node into
view at every step; zoom with the buttons or ctrl + wheel, pan by dragging or scrolling. Step
numbers are 1-based everywhere: the slider, the counter, the explanation, ``#step-3``.

Why a custom widget (``anywidget``) and not ipywidgets' HTML: an HTML widget cannot run
scripts, so it could not measure the cell, follow the current node or pan; with a small
ES module the widget and the page share one player instead of two implementations.
"""

from __future__ import annotations

import html
import json
import re
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from .groups import Group
from .labels import FONT_NAME, FONT_SIZE, MARK_FILL
from .layout import strip_prolog

if TYPE_CHECKING:  # pragma: no cover
    from .stepper import Drawing

__all__ = ["page", "player_data", "widget_class"]

WIDGET_HEIGHT = 520  # px: the widget's drawing window at most (the controls and explanation stay in view)


@cache
def asset(name: str) -> str:
    """The text of ``player.js`` or ``player.css`` (shipped inside the package)."""
    return resources.files("autograd.views").joinpath(name).read_text(encoding="utf-8")


_COMMENT = re.compile(r"<!--.*?-->\n?", re.S)
_EDGE_TITLE = re.compile(r'(<g id="edge\d+" class="edge">)\n?<title>[^<]*</title>')
_NODE_FONT = f' font-family="{FONT_NAME}" font-size="{FONT_SIZE}.00"'


def compact_svg(svg: str) -> str:
    """The drawing for the player, smaller: no XML prolog, comments or edge titles ("n0->n3op"), and the
    node font set once (a ``<style>`` rule) instead of on each of thousands of ``<text>`` elements."""
    svg = _EDGE_TITLE.sub(r"\1", _COMMENT.sub("", strip_prolog(svg))).replace(_NODE_FONT, "")
    head = svg.index(">") + 1
    rule = f"<style>text{{font-family:{FONT_NAME};font-size:{FONT_SIZE}px}}</style>"
    return svg[:head] + rule + svg[head:]


def player_data(drawing: Drawing, max_height: int | None = None) -> dict[str, Any]:
    """What the player needs: the drawing's SVG, the records, the first step's full state and each later
    step's changes, each step's node and explanation."""
    index = {item: k for k, item in enumerate(drawing.items)}
    states = drawing.states()
    first = next(states)
    return {
        "svg": compact_svg(drawing.frame_svg(0)),
        "count": len(drawing.frames),
        "records": [drawing.ident(item) for item in drawing.items],
        "initial": [list(first[item]) for item in drawing.items],
        "diffs": [[]] + [[[index[item], *state] for item, state in changes.items()] for changes in states],
        "current": [index.get(frame.item, -1) for frame in drawing.frames],
        "texts": [frame.explain() for frame in drawing.frames],
        "markFill": MARK_FILL,
        "boxes": {
            str(k): f"{drawing.scene.group_label(item)} ({item.path}): {len(item.members)} values"
            + (f" in {len(item.scopes)} calls" if len(item.scopes) > 1 else "")
            for k, item in enumerate(drawing.items)
            if isinstance(item, Group)
        },
        "maxHeight": max_height,
        "backwardStarts": getattr(drawing, "backward_starts", None),  # a whole step: where the backward pass starts
    }


def _json_for_script(data: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``<``, ``>`` or ``&`` characters)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(drawing: Drawing, title: str) -> str:
    """The self-contained HTML page of a drawing's steps (no network)."""
    seed = drawing.steps.seed_line()
    data = player_data(drawing)
    svg = data.pop("svg")  # as markup, not inside the JSON, where every < and " would be escaped
    return _PAGE.format(
        title=html.escape(title),
        seed=html.escape(seed),
        css=asset("player.css"),
        svg=svg,
        data=_json_for_script(data),
        player=asset("player.js"),
        count=len(drawing.frames),
        legend="\n".join(
            f'<span style="background:{colour}">{html.escape(text)}</span>'
            if colour
            else f"<span>{html.escape(text)}</span>"
            for colour, text in getattr(drawing, "legend", LEGEND)
        ),
    )


# the page's key to the colours: (fill, what it means); a drawing may give its own (the forward pass does)
LEGEND = (("#ffd54f", "current node"), ("#a5d6a7", "just updated"), (None, "grad ? = not computed yet"))


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}
html, body {{ height: 100%; margin: 0; }}
body {{ font-family: Helvetica, Arial, sans-serif; font-size: 15px; display: flex; flex-direction: column;
  box-sizing: border-box; padding: 10px 14px; }}
h1 {{ font-size: 18px; margin: 0 0 4px 0; }}
p.help {{ margin: 0 0 6px 0; }}
.legend span {{ padding: 0 0.4em; margin-right: 0.6em; border: 1px solid #999; white-space: nowrap; }}
#player {{ flex: 1 1 auto; min-height: 0; }}
#player .sg-viewport {{ flex: 1 1 auto; height: auto; min-height: 240px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p class="help">{seed}. {count} steps: use the slider, the buttons or the ←/→ keys; drag to pan, ctrl + wheel
to zoom. <span class="legend">{legend}</span></p>
<div id="player"></div>
<template id="stepgrad-drawing">{svg}</template>
<script type="application/json" id="stepgrad-data">{data}</script>
<script>
{player}
(function () {{
  var data = JSON.parse(document.getElementById("stepgrad-data").textContent);
  data.svgNode = document.getElementById("stepgrad-drawing").content.querySelector("svg");
  var el = document.getElementById("player");
  function wanted() {{ var m = /^#step-(\\d+)$/.exec(window.location.hash); return m ? parseInt(m[1], 10) : 1; }}
  function remember(k) {{ history.replaceState(null, "", "#step-" + k); }}
  var player = stepgradPlayer(el, data, {{ onStep: remember }});
  player.start(wanted());
  window.addEventListener("hashchange", function () {{ player.show(wanted()); }});
  document.addEventListener("keydown", function (e) {{ if (!el.contains(e.target)) {{ player.keydown(e); }} }});
}})();
</script>
</body>
</html>
"""

_WIDGET_ESM = """
export default {
  render({ model, el }) {
    var data = JSON.parse(model.get("data"));
    var hooks = {
      onStep: function (k) { model.set("step", k); model.save_changes(); },
      onOpen: function (name) { model.send({ open: name }); },  // Python lays the graph out again, opened
    };
    var player = stepgradPlayer(el, data, hooks);
    player.start(model.get("step"));
    model.on("change:data", function () {
      el.innerHTML = "";
      player = stepgradPlayer(el, JSON.parse(model.get("data")), hooks);
      player.start(model.get("step"));
    });
    model.on("change:step", function () {
      if (model.get("step") !== player.step()) { player.show(model.get("step")); }
    });
  },
};
"""


@cache
def widget_class() -> Any:
    """The ``StepperWidget`` class, made on first use (anywidget and traitlets are optional)."""
    import anywidget
    import traitlets

    class StepperWidget(anywidget.AnyWidget):
        """The stepper in a notebook: set or read ``.step`` (1-based); ``.text`` is that step's explanation,
        ``.svg`` the drawing in that step's state."""

        _esm = asset("player.js") + _WIDGET_ESM
        _css = asset("player.css")
        step = traitlets.Int(1).tag(sync=True)
        data = traitlets.Unicode("").tag(sync=True)

        def __init__(self, drawing: Drawing, options: dict[str, Any] | None = None, **kwargs: Any) -> None:
            self.drawing = drawing
            self.options = dict(options or {})
            self.count = len(drawing.frames)
            super().__init__(data=json.dumps(player_data(drawing, WIDGET_HEIGHT)), **kwargs)
            self.on_msg(self._message)

        def _message(self, widget: Any, content: Any, buffers: Any) -> None:
            if isinstance(content, dict) and isinstance(content.get("open"), str):
                self.expand(content["open"])

        def expand(self, *boxes: str) -> None:
            """Open boxes (by their DOT name, e.g. ``"g3"`` — what a click sends — or by scope name or path)
            and step inside them: the drawing is laid out again with those scopes open."""
            opened = list(self.drawing.scene.opened or [])
            by_ident = {group.ident: group for group in self.drawing.scene.groups}
            for box in boxes:
                group = by_ident.get(box)
                if group is not None and group.scopes != [None]:
                    opened.append(group.path)
                elif group is None:
                    opened.append(box)
            drawing = self.drawing.steps.drawing(**{**self.options, "open": opened})
            self.drawing, self.count = drawing, len(drawing.frames)
            self.options["open"] = opened
            step = min(self.step, self.count)
            self.data = json.dumps(player_data(drawing, WIDGET_HEIGHT))
            self.step = step

        @traitlets.validate("step")
        def _valid_step(self, proposal: Any) -> int:
            k = proposal["value"]
            if not 1 <= k <= self.count:
                raise traitlets.TraitError(
                    f"step must be between 1 and {self.count} (steps are numbered from 1), got {k}"
                )
            return int(k)

        @property
        def text(self) -> str:
            """The explanation of the step shown (``step``, 1-based)."""
            return str(self.drawing.frames[self.step - 1].explain())

        @property
        def svg(self) -> str:
            """The drawing in the state of the step shown."""
            return self.drawing.frame_svg(self.step - 1)

    return StepperWidget
